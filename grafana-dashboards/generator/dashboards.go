// Package generator builds the stack's Grafana dashboards as typed Go
// (grafana-foundation-sdk). Its output is the JSON committed in
// grafana-dashboards/dashboards, which `go generate ./grafana-dashboards/...`
// writes again (cmd/generate-dashboards); a test fails when it is stale.
//
// Every query reads the Prometheus datasource through the `datasource`
// variable and every rate uses $__rate_interval. Metric names are the ones
// the stack's processes export (checked against a live stack by
// stacks/integration): the Temporal server's tally reporter (counters
// without _total, timers as _bucket histograms in seconds), the worker's
// SDK bridge and pipeline metrics (worker/metrics), node_exporter,
// postgres_exporter, cAdvisor and the backup service.
package generator

import (
	"encoding/json"
	"fmt"

	"github.com/ampledata/temporal-kit/grafana-dashboards/dashboards"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceVariable is the name of every dashboard's datasource variable.
const DatasourceVariable = "datasource"

// Dashboard is one generated dashboard: its file name in grafana-dashboards/dashboards and
// the typed model.
type Dashboard struct {
	File  string
	Model dashboard.Dashboard
}

// All builds every dashboard, in a stable order.
func All() ([]Dashboard, error) {
	builders := []struct {
		file string
		b    *dashboard.DashboardBuilder
	}{
		{"temporal-server.json", temporalServer()},
		{"workers-sdk.json", workersSDK()},
		{"enrichment-pipeline.json", pipeline()},
		{"host-containers.json", hostContainers()},
		{"postgresql.json", postgresql()},
		{"backups.json", backups()},
	}
	out := make([]Dashboard, 0, len(builders))
	for _, d := range builders {
		m, err := d.b.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", d.file, err)
		}
		numberPanels(&m)
		out = append(out, Dashboard{File: d.file, Model: m})
	}
	return out, nil
}

// JSON renders a dashboard the way it is committed: indented, with a
// trailing newline.
func JSON(d Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d.Model, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func ptr[T any](v T) *T { return &v }

// ds is the datasource every panel and query uses: the dashboard variable.
func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${" + DatasourceVariable + "}")}
}

func newDashboard(uid, title, description string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags(append([]string{"temporal-kit"}, tags...)).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Readonly().
		WithVariable(dashboard.NewDatasourceVariableBuilder(DatasourceVariable).
			Label("Data source").
			Type("prometheus").
			Current(dashboard.VariableOption{
				Selected: ptr(true),
				Text:     dashboard.StringOrArrayOfString{String: ptr("Prometheus")},
				Value:    dashboard.StringOrArrayOfString{String: ptr(dashboards.DatasourceUID)},
			}))
}

// q is one Prometheus query of a panel.
func q(ref, expr, legend string) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().
		Datasource(ds()).
		RefId(ref).
		Expr(expr).
		Range()
	if legend != "" {
		b = b.LegendFormat(legend)
	}
	return b
}

// rateBy is the per-second rate of a counter, one series per value of
// label, each named by it.
func rateBy(counter, label string) *prometheus.DataqueryBuilder {
	return q("A", "sum by ("+label+") (rate("+counter+ri+"))", "{{"+label+"}}")
}

// p95By is the 95th percentile of a histogram, one series per value of
// label, each named by it.
func p95By(histogram, label string) *prometheus.DataqueryBuilder {
	return q("A", "histogram_quantile(0.95, sum by ("+label+", le) (rate("+histogram+"_bucket"+ri+")))", "{{"+label+"}}")
}

// ts is a time series panel, half the width of a row by default.
func ts(title, unit, desc string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(ds()).
		Unit(unit).
		Span(12).
		Height(8)
	for _, qb := range queries {
		p = p.WithTarget(qb)
	}
	return p
}

// st is a stat panel showing the last value.
func st(title, unit, desc string, query *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(ds()).
		Unit(unit).
		Span(6).
		Height(4).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		WithTarget(query)
}

// row starts a dashboard row.
func row(title string) cog.Builder[dashboard.RowPanel] { return dashboard.NewRowBuilder(title) }
