package stacks

import (
	"slices"
	"testing"
)

// The keys of the `images` config object, written out: the README and
// existing stack configs use them.
func TestImageKeys(t *testing.T) {
	var keys []string
	for _, f := range Catalogs[CatalogOfficial].fields() {
		keys = append(keys, f.key)
	}
	want := []string{"postgresql", "temporalServer", "temporalAdminTools", "temporalUI", "grafana", "prometheus",
		"worker", "proxy", "alertmanager", "nodeExporter", "postgresExporter", "backup"}
	if !slices.Equal(keys, want) {
		t.Errorf("image keys %v, want %v", keys, want)
	}
	if f := Catalogs[CatalogLocal].fields(); f[1].ref != "temporal-kit-local/temporal-server:1.32.0" {
		t.Errorf("fields()[1] = %+v, want the local temporal server", f[1])
	}
}

func TestImagesWithReplacesOnlyWhatIsSet(t *testing.T) {
	base := Catalogs[CatalogOfficial]
	got := base.With(Images{TemporalUI: "mirror.example.com/ui:2.42.1", Backup: "mirror.example.com/backup:1"})
	want := base
	want.TemporalUI, want.Backup = "mirror.example.com/ui:2.42.1", "mirror.example.com/backup:1"
	if got != want {
		t.Errorf("With = %+v, want %+v", got, want)
	}
	if Catalogs[CatalogOfficial] != base || base.TemporalUI == want.TemporalUI {
		t.Error("With changed the catalog it was called on")
	}
}
