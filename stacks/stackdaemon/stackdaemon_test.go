package stackdaemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	reg, mux := Metrics()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "kit_test_gauge"}))
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "kit_test_gauge"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %.200q, want %q in it", path, rec.Code, rec.Body.String(), want)
		}
	}
}
