package containers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// engineAPI serves a list of two containers: a running service whose check
// fails, and a job that exited.
func engineAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/containers/json":
			_, _ = w.Write([]byte(`[
 {"Id":"a1","Names":["/kit-dev-temporal"],"Labels":{"temporal-kit.stack":"dev","temporal-kit.service":"temporal","temporal-kit.kind":"service"}},
 {"Id":"b2","Names":["/kit-dev-temporal-schema"],"Labels":{"temporal-kit.stack":"dev","temporal-kit.service":"temporal-schema","temporal-kit.kind":"job"}}]`))
		case "/containers/a1/json":
			_, _ = w.Write([]byte(`{"RestartCount":0,"State":{"Running":true,"StartedAt":"2026-12-03T10:00:00Z","Health":{"Status":"unhealthy"}}}`))
		case "/containers/b2/json":
			_, _ = w.Write([]byte(`{"RestartCount":0,"State":{"Running":false,"StartedAt":"2026-12-03T09:00:00Z"}}`))
		case "/containers/a1/stats":
			_, _ = w.Write([]byte(`{"memory_stats":{"usage":200,"limit":1000,"stats":{"inactive_file":50}},"cpu_stats":{"cpu_usage":{"total_usage":2000000000}}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The exporter reads an engine API over HTTP (docker-gate) and says each
// container's health status and kind, which ContainerUnhealthy and
// ContainerNotRunning need, and the running one's working set and CPU.
func TestCollectorHealthStatusAndKind(t *testing.T) {
	c := &Collector{Engine: dockerengine.NewAt(engineAPI(t).URL+"/", nil), Stack: "dev", Timeout: 5 * time.Second}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	want := `
# HELP container_health_status 1 for the health check's current status (starting, healthy, unhealthy), 0 for the others (containers with a health check only).
# TYPE container_health_status gauge
container_health_status{name="kit-dev-temporal",service="temporal",status="healthy"} 0
container_health_status{name="kit-dev-temporal",service="temporal",status="starting"} 0
container_health_status{name="kit-dev-temporal",service="temporal",status="unhealthy"} 1
# HELP container_info Always 1: kind is service (must keep running) or job (exits when done).
# TYPE container_info gauge
container_info{kind="job",name="kit-dev-temporal-schema",service="temporal-schema"} 1
container_info{kind="service",name="kit-dev-temporal",service="temporal"} 1
# HELP container_memory_working_set_bytes Memory in use less the inactive page cache (what the limit is measured against).
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{name="kit-dev-temporal",service="temporal"} 150
# HELP container_cpu_usage_seconds_total CPU time consumed.
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{name="kit-dev-temporal",service="temporal"} 2
# HELP container_running 1 while the container runs.
# TYPE container_running gauge
container_running{name="kit-dev-temporal",service="temporal"} 1
container_running{name="kit-dev-temporal-schema",service="temporal-schema"} 0
# HELP container_exporter_engine_up 1 when the last read of the Docker engine succeeded.
# TYPE container_exporter_engine_up gauge
container_exporter_engine_up 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"container_health_status", "container_info", "container_running", "container_exporter_engine_up",
		"container_memory_working_set_bytes", "container_cpu_usage_seconds_total"); err != nil {
		t.Error(err)
	}
}
