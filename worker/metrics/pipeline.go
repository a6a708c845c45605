// Package metrics exposes the pipeline's own Prometheus metrics and bridges
// the Temporal SDK's metrics into the same registry.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Pipeline holds the pipeline's metrics. A nil *Pipeline records nothing,
// so tests and the load tool's baseline need not wire one.
type Pipeline struct {
	Rows         *prometheus.CounterVec   // rows by stage and outcome (ok or an error class)
	StageLatency *prometheus.HistogramVec // seconds per row and stage
	APIErrors    *prometheus.CounterVec   // external API errors by api and class
	Batches      *prometheus.CounterVec   // batch activities by kind and outcome
}

// NewPipeline registers the pipeline metrics in reg.
func NewPipeline(reg prometheus.Registerer) *Pipeline {
	p := &Pipeline{
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enrichment_rows_total", Help: "Rows through each stage, by outcome (ok, or the error class).",
		}, []string{"stage", "outcome"}),
		StageLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "enrichment_stage_duration_seconds", Help: "Time one row spends in a stage (store: one group write).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"stage"}),
		APIErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enrichment_external_api_errors_total", Help: "Errors from external APIs (serp, site fetches), by class.",
		}, []string{"api", "class"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enrichment_batches_total", Help: "Batch activities run, by kind and outcome.",
		}, []string{"kind", "outcome"}),
	}
	reg.MustRegister(p.Rows, p.StageLatency, p.APIErrors, p.Batches)
	return p
}

// Observe records one row leaving a stage.
func (p *Pipeline) Observe(stage, outcome string, d time.Duration) {
	if p == nil {
		return
	}
	p.Rows.WithLabelValues(stage, outcome).Inc()
	p.StageLatency.WithLabelValues(stage).Observe(d.Seconds())
}

// ObserveMany records n rows leaving a stage together (the store stage
// writes rows in groups) and the group's duration.
func (p *Pipeline) ObserveMany(stage, outcome string, n int, d time.Duration) {
	if p == nil || n == 0 {
		return
	}
	p.Rows.WithLabelValues(stage, outcome).Add(float64(n))
	p.StageLatency.WithLabelValues(stage).Observe(d.Seconds())
}

// APIError records an external API error.
func (p *Pipeline) APIError(api, class string) {
	if p == nil {
		return
	}
	p.APIErrors.WithLabelValues(api, class).Inc()
}

// Batch records a finished batch activity.
func (p *Pipeline) Batch(kind, outcome string) {
	if p == nil {
		return
	}
	p.Batches.WithLabelValues(kind, outcome).Inc()
}
