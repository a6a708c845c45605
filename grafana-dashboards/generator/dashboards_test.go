package generator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/grafana-dashboards/dashboards"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
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
		committed, err := dashboards.JSON(d.File)
		if err != nil {
			t.Errorf("%s is not generated: run `go generate ./grafana-dashboards/...`", d.File)
			continue
		}
		if !bytes.Equal(b, committed) {
			t.Errorf("%s is stale: the Go in grafana-dashboards/generator changed; run `go generate ./grafana-dashboards/...` and commit the JSON", d.File)
		}
	}
	jsons, err := dashboards.JSONFiles()
	if err != nil || len(jsons) == 0 {
		t.Fatalf("no dashboard JSON embedded: %v", err)
	}
	for _, f := range jsons {
		if !want[f] {
			t.Errorf("%s is not built by All(): remove it or add its builder", f)
		}
	}
	// The embed sees the files of the last build; the disk is what gets committed.
	for f := range want {
		onDisk, err := os.ReadFile(filepath.Join("..", "dashboards", f))
		embedded, _ := dashboards.JSON(f)
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
				if v.Current == nil || v.Current.Value.String == nil || *v.Current.Value.String != dashboards.DatasourceUID {
					t.Errorf("%s: datasource variable does not default to uid %q", uid, dashboards.DatasourceUID)
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
		raw, err := dashboards.JSON(d.File)
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
