package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestTemporalHandlerExposesSDKMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewTemporal()
	reg.MustRegister(h)
	// The SDK tags one metric name with different tag sets: both must survive.
	h.WithTags(map[string]string{"operation": "PollActivityTaskQueue"}).Counter("temporal_request").Inc(3)
	h.WithTags(map[string]string{"operation": "RecordActivityTaskHeartbeat", "namespace": "ampledata"}).Counter("temporal_request").Inc(2)
	h.Gauge("temporal_worker_task_slots_available").Update(16)
	h.WithTags(map[string]string{"activity_type": "EnrichBatch"}).Timer("temporal_activity_execution_latency").Record(300 * time.Millisecond)
	out := scrape(t, reg)
	for _, want := range []string{
		`temporal_request_total{operation="PollActivityTaskQueue"} 3`,
		`temporal_request_total{namespace="ampledata",operation="RecordActivityTaskHeartbeat"} 2`,
		`temporal_worker_task_slots_available 16`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="EnrichBatch",le="0.5"} 1`,
		`temporal_activity_execution_latency_seconds_count{activity_type="EnrichBatch"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s\n%s", want, out)
		}
	}
	if got := h.CounterValue("temporal_request", map[string]string{"operation": "RecordActivityTaskHeartbeat"}); got != 2 {
		t.Errorf("CounterValue = %v, want 2", got)
	}
}

func TestPipelineMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := NewPipeline(reg)
	p.Observe("search", "ok", 50*time.Millisecond)
	p.Observe("fetch", "fetch_http_4xx", 10*time.Millisecond)
	p.ObserveMany("store", "ok", 100, 20*time.Millisecond)
	p.APIError("serp", "serp_rate_limited")
	p.Batch("enrich", "retry")
	var nilP *Pipeline
	nilP.Observe("search", "ok", time.Second) // a nil Pipeline records nothing, without panicking
	out := scrape(t, reg)
	for _, want := range []string{
		`enrichment_rows_total{outcome="ok",stage="search"} 1`,
		`enrichment_rows_total{outcome="fetch_http_4xx",stage="fetch"} 1`,
		`enrichment_rows_total{outcome="ok",stage="store"} 100`,
		`enrichment_stage_duration_seconds_count{stage="store"} 1`,
		`enrichment_external_api_errors_total{api="serp",class="serp_rate_limited"} 1`,
		`enrichment_batches_total{kind="enrich",outcome="retry"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
