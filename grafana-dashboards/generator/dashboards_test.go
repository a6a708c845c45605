package dashboards

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

func build(t *testing.T) []Dashboard {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// The committed JSON is what Grafana loads: it must be what the Go builds.
func TestJSONUpToDate(t *testing.T) {
	want := map[string]bool{}
	for _, d := range build(t) {
		want[d.File] = true
		b, err := JSON(d)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := generated.ReadFile(d.File)
		if err != nil {
			t.Errorf("%s is not generated: run `go generate ./grafana-dashboards`", d.File)
			continue
		}
		if !bytes.Equal(b, committed) {
			t.Errorf("%s is stale: the Go in grafana-dashboards changed; run `go generate ./grafana-dashboards` and commit the JSON", d.File)
		}
	}
	jsons, _ := fs.Glob(generated, "*.json")
	for _, f := range jsons {
		if !want[f] {
			t.Errorf("%s is not built by All(): remove it or add its builder", f)
		}
	}
	// The embed sees the files of the last build; the disk is what gets committed.
	for f := range want {
		onDisk, err := os.ReadFile(f)
		embedded, _ := generated.ReadFile(f)
		if err != nil || !bytes.Equal(onDisk, embedded) {
			t.Errorf("%s on disk differs from the embedded copy", f)
		}
	}
}

var rangeFuncRE = regexp.MustCompile(`\b(rate|irate|increase)\(([^()\[]|\([^()]*\))*\[([^\]]+)\]`)

func TestEveryDashboardUsesTheDatasourceVariableAndRateInterval(t *testing.T) {
	for _, d := range build(t) {
		uid := deref(d.Model.Uid)
		var found bool
		for _, v := range d.Model.Templating.List {
			if v.Type == "datasource" && v.Name == DatasourceVariable {
				found = true
				if v.Query == nil || v.Query.String == nil || *v.Query.String != "prometheus" {
					t.Errorf("%s: datasource variable is not of type prometheus", uid)
				}
				if v.Current == nil || v.Current.Value.String == nil || *v.Current.Value.String != DatasourceUID {
					t.Errorf("%s: datasource variable does not default to uid %q", uid, DatasourceUID)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %q variable", uid, DatasourceVariable)
		}
		panels := Panels(d.Model)
		if len(panels) == 0 {
			t.Errorf("%s: no panels", uid)
		}
		ids := map[uint32]bool{}
		for _, p := range panels {
			if p.Id == nil || ids[*p.Id] {
				t.Errorf("%s / %s: missing or duplicate panel id", uid, deref(p.Title))
			} else {
				ids[*p.Id] = true
			}
			if p.Datasource == nil || deref(p.Datasource.Uid) != "${"+DatasourceVariable+"}" {
				t.Errorf("%s / %s: panel datasource is not ${%s}", uid, deref(p.Title), DatasourceVariable)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s / %s: panel has no query", uid, deref(p.Title))
			}
		}
	}
	qs, err := Queries(build(t))
	if err != nil {
		t.Fatal(err)
	}
	var rates int
	for _, q := range qs {
		for _, m := range rangeFuncRE.FindAllStringSubmatch(q.Expr, -1) {
			rates++
			if m[3] != "$__rate_interval" {
				t.Errorf("%s: %s(...[%s]): use [$__rate_interval]", q, m[1], m[3])
			}
		}
	}
	if rates == 0 {
		t.Error("no rate() found: the check above checks nothing")
	}
}

func TestEveryQueryParses(t *testing.T) {
	qs, err := Queries(build(t))
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	ok := 0
	for _, q := range qs {
		expr := Substitute(q.Expr, "1m")
		if strings.Contains(expr, "$") {
			t.Errorf("%s: a Grafana variable is left after substitution: %s", q, expr)
		}
		if _, err := p.ParseExpr(expr); err != nil {
			t.Errorf("%s: %s does not parse: %v", q, expr, err)
			continue
		}
		ok++
	}
	t.Logf("%d of %d dashboard queries parse with the Prometheus parser", ok, len(qs))
}

// Grafana's provisioning files: they parse, the datasource is the stack's
// Prometheus under the uid the dashboards default to, the provider reads
// the directory the JSON goes to.
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
	for _, d := range build(t) {
		if !paths[DashboardsDir+"/"+d.File] {
			t.Errorf("Files() lacks %s/%s", DashboardsDir, d.File)
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

func TestRateIntervalFollowsGrafana(t *testing.T) {
	for _, tc := range []struct{ scrape, step, want time.Duration }{
		{15 * time.Second, 15 * time.Second, time.Minute},      // 4 × scrape wins
		{15 * time.Second, 2 * time.Minute, 135 * time.Second}, // a wide panel: step + scrape
	} {
		if got := RateInterval(tc.scrape, tc.step); got != tc.want {
			t.Errorf("RateInterval(%s, %s) = %s, want %s", tc.scrape, tc.step, got, tc.want)
		}
	}
}

// The committed JSON reads back as the SDK's dashboard model (every panel
// and query of a known plugin), validates, and writes out the same.
func TestCommittedJSONReadsBackStrictly(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, d := range build(t) {
		raw, err := generated.ReadFile(d.File)
		if err != nil {
			t.Fatal(err)
		}
		var back dashboard.Dashboard
		// Plain Unmarshal: v0.0.22's UnmarshalJSONStrict turns every panel into null.
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Errorf("%s does not read back: %v", d.File, err)
			continue
		}
		if err := sdkErr(back.Validate()); err != nil {
			t.Errorf("%s does not validate: %v", d.File, err)
		}
		again, err := JSON(Dashboard{File: d.File, Model: back})
		if err != nil || !bytes.Equal(again, raw) {
			t.Errorf("%s does not survive a read and write: %v", d.File, err)
		}
	}
}

// sdkErr undoes the SDK's typed nil: its methods return a nil
// cog.BuildErrors as a non-nil error.
func sdkErr(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}
