package generator

import (
	"fmt"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/grafana-dashboards/dashboards"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Query is one PromQL expression of a dashboard panel.
type Query struct {
	Dashboard string // dashboard uid
	Panel     string // panel title
	RefID     string
	Expr      string
}

// String names the query the way test output and reports do.
func (q Query) String() string {
	return fmt.Sprintf("%s / %s / %s", q.Dashboard, q.Panel, q.RefID)
}

// Queries lists every query of every dashboard, in dashboard and panel order.
func Queries(all []Dashboard) ([]Query, error) {
	var out []Query
	for _, d := range all {
		uid := deref(d.Model.Uid)
		for _, p := range Panels(d.Model) {
			for _, t := range p.Targets {
				pq, ok := t.(prometheus.Dataquery)
				if !ok {
					pp, okp := t.(*prometheus.Dataquery)
					if !okp {
						return nil, fmt.Errorf("dashboard %s panel %q: query of type %T, want a Prometheus query", uid, deref(p.Title), t)
					}
					pq = *pp
				}
				out = append(out, Query{Dashboard: uid, Panel: deref(p.Title), RefID: deref(pq.RefId), Expr: pq.Expr})
			}
		}
	}
	return out, nil
}

// Panels returns the dashboard's panels (not rows), those inside
// collapsed rows included.
func Panels(m dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, pr := range m.Panels {
		if pr.Panel != nil {
			out = append(out, *pr.Panel)
		}
		if pr.RowPanel != nil {
			out = append(out, pr.RowPanel.Panels...)
		}
	}
	return out
}

// Substitute replaces Grafana's variables in expr with concrete values, so
// that Prometheus itself can parse and run it: rateInterval stands for
// $__rate_interval (and $__interval, $__range), the datasource variable is
// not part of an expression at all but is replaced to be safe.
func Substitute(expr, rateInterval string) string {
	r := strings.NewReplacer(
		"$__rate_interval", rateInterval,
		"${__rate_interval}", rateInterval,
		"$__interval", rateInterval,
		"${__interval}", rateInterval,
		"$__range", rateInterval,
		"${__range}", rateInterval,
		"${"+DatasourceVariable+"}", dashboards.DatasourceUID,
		"$"+DatasourceVariable, dashboards.DatasourceUID,
	)
	return r.Replace(expr)
}

// numberPanels gives every panel and row a unique id, in layout order.
func numberPanels(m *dashboard.Dashboard) {
	var id uint32
	for i := range m.Panels {
		id++
		if p := m.Panels[i].Panel; p != nil {
			p.Id = ptr(id)
		}
		if r := m.Panels[i].RowPanel; r != nil {
			r.Id = id
			for j := range r.Panels {
				id++
				r.Panels[j].Id = ptr(id)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RateInterval is what Grafana substitutes for $__rate_interval:
// max($__interval + scrape interval, 4 × scrape interval), where
// $__interval is the query's step.
func RateInterval(scrape, step time.Duration) time.Duration {
	return max(step+scrape, 4*scrape)
}
