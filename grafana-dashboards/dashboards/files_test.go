package dashboards

import (
	"bytes"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Grafana's provisioning files: they parse, the datasource is the stack's
// Prometheus under the uid the dashboards default to, the provider reads
// the directory the JSON goes to, and Files() delivers both.
func TestProvisioningFiles(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
			IsDefault                    bool           `yaml:"isDefault"`
			JSONData                     map[string]any `yaml:"jsonData"`
		}
	}
	readYAML(t, "provisioning/datasources/prometheus.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources file: want apiVersion 1 and one datasource, got %+v", ds)
	}
	got := ds.Datasources[0]
	if got.UID != DatasourceUID || got.Type != "prometheus" || got.URL != PrometheusURL || !got.IsDefault || got.Access != "proxy" {
		t.Errorf("datasource = %+v, want uid %q, type prometheus, url %s, default, access proxy", got, DatasourceUID, PrometheusURL)
	}
	if got.JSONData["timeInterval"] == nil {
		t.Error("datasource lacks jsonData.timeInterval (the scrape interval $__rate_interval is derived from)")
	}

	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type string
			AllowUIUpdates     bool           `yaml:"allowUiUpdates"`
			Options            map[string]any `yaml:"options"`
		}
	}
	readYAML(t, "provisioning/dashboards/temporal-kit.yaml", &prov)
	if prov.APIVersion != 1 || len(prov.Providers) != 1 {
		t.Fatalf("dashboards file: want apiVersion 1 and one provider, got %+v", prov)
	}
	pv := prov.Providers[0]
	if pv.Type != "file" || pv.Folder != Folder || pv.Options["path"] != DashboardsDir || pv.AllowUIUpdates {
		t.Errorf("provider = %+v, want type file, folder %s, path %s, no UI updates", pv, Folder, DashboardsDir)
	}

	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range files {
		paths[f.Path] = true
	}
	jsons, err := JSONFiles()
	if err != nil || len(jsons) == 0 {
		t.Fatalf("no dashboard JSON embedded: %v", err)
	}
	for _, j := range jsons {
		if !paths[DashboardsDir+"/"+j] {
			t.Errorf("Files() lacks %s/%s", DashboardsDir, j)
		}
	}
	for _, p := range []string{ProvisioningDir + "/datasources/prometheus.yaml", ProvisioningDir + "/dashboards/temporal-kit.yaml"} {
		if !paths[p] {
			t.Errorf("Files() lacks %s", p)
		}
	}
}

func readYAML(t *testing.T, name string, into any) {
	t.Helper()
	b, err := generated.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
