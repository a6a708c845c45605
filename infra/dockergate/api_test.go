package dockergate

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// readOnlyAPI serves the gate's API over a fake engine; the reader
// "container-exporter" resolves to 10.0.0.7.
func readOnlyAPI(t *testing.T) (*fakeEngine, *ReadOnly) {
	t.Helper()
	f := &fakeEngine{containers: []*fakeContainer{
		{id: "aaa1", name: "kit-dev-temporal", health: "healthy", network: "net-a", running: true, labels: labels("dev", "temporal", stacks.HealRestart), env: []string{"POSTGRES_PWD=hunter2"}},
		{id: "bbb2", name: "kit-dev-temporal-schema", network: "net-a", labels: labels("dev", "temporal-schema", "")},
		{id: "ddd4", name: "kit-prod-postgresql", health: "healthy", network: "net-a", running: true, labels: labels("prod", "postgresql", stacks.HealRestart)},
		{id: "eee5", name: "other-run-dev-temporal", health: "healthy", network: "net-b", running: true, labels: labels("dev", "temporal", stacks.HealRestart)},
		{id: "fff6", name: "unrelated", network: "bridge", running: true, labels: map[string]string{}},
	}}
	ro := NewReadOnly(f.start(t), "dev", []string{"net-a"}, []string{"container-exporter"}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	ro.Resolve = func(_ context.Context, host string) ([]string, error) {
		if host == "container-exporter" {
			return []string{"10.0.0.7"}, nil
		}
		return nil, &net404{}
	}
	return f, ro
}

type net404 struct{}

func (*net404) Error() string { return "no such host" }

func call(ro *ReadOnly, method, target, from string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = from + ":40000"
	w := httptest.NewRecorder()
	ro.ServeHTTP(w, r)
	return w
}

// The exporter gets what it reads: the stack's containers, their inspect
// data and one stats sample.
func TestReadOnlyServesTheExporter(t *testing.T) {
	f, ro := readOnlyAPI(t)
	exporter := "10.0.0.7"

	filters := url.QueryEscape(`{"label":["temporal-kit.stack=dev"],"network":["net-b","net-a"]}`)
	w := call(ro, http.MethodGet, "/containers/json?all=1&filters="+filters, exporter)
	if w.Code != http.StatusOK {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var list []dockerengine.Listed
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "kit-dev-temporal,kit-dev-temporal-schema" {
		t.Errorf("list shows %v, want only this stack's containers on its network", names)
	}
	// Even with no filter at all, and without all: running containers of the stack only.
	w = call(ro, http.MethodGet, "/containers/json", exporter)
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].Name() != "kit-dev-temporal" {
		t.Errorf("unfiltered list: %s", w.Body)
	}

	w = call(ro, http.MethodGet, "/containers/"+f.containers[0].id+"/json", exporter)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"Health"`) {
		t.Fatalf("inspect: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), `"Env"`) {
		t.Errorf("inspect shows the container's env: %s", w.Body)
	}
	before := len(f.requests)
	w = call(ro, http.MethodGet, "/containers/"+f.containers[0].id+"/stats?stream=false&one-shot=true", exporter)
	if got := f.requests[before:]; len(got) != 1 || !strings.Contains(got[0], "/stats") {
		t.Errorf("stats right after an inspect sent %v to the engine, want the stats call alone", got)
	}
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "memory_stats") {
		t.Errorf("stats: %d %s", w.Code, w.Body)
	}
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("the read-only API sent %s to the engine", r)
		}
	}
}

// Everything else is refused, and the engine never sees it.
func TestReadOnlyRefusesTheRest(t *testing.T) {
	f, ro := readOnlyAPI(t)
	exporter := "10.0.0.7"
	for _, tc := range []struct {
		method, target, from string
		status               int
	}{
		{http.MethodGet, "/containers/json", "10.0.0.9", http.StatusForbidden},      // not the reader
		{http.MethodGet, "/containers/aaa1/json", "10.0.0.9", http.StatusForbidden}, // not the reader
		{http.MethodPost, "/containers/aaa1/restart", exporter, http.StatusForbidden},
		{http.MethodPost, "/containers/aaa1/stop", exporter, http.StatusForbidden},
		{http.MethodPost, "/containers/create", exporter, http.StatusForbidden},
		{http.MethodDelete, "/containers/aaa1", exporter, http.StatusForbidden},
		{http.MethodPost, "/containers/aaa1/exec", exporter, http.StatusForbidden},
		{http.MethodGet, "/containers/aaa1/logs?stdout=1", exporter, http.StatusForbidden},
		{http.MethodGet, "/containers/aaa1/archive?path=/etc", exporter, http.StatusForbidden},
		{http.MethodGet, "/containers/aaa1/export", exporter, http.StatusForbidden},
		{http.MethodGet, "/images/json", exporter, http.StatusForbidden},
		{http.MethodGet, "/secrets", exporter, http.StatusForbidden},
		{http.MethodGet, "/v1.41/containers/json", exporter, http.StatusForbidden},
		{http.MethodGet, "/containers/aaa1/stats", exporter, http.StatusForbidden}, // a stream
		{http.MethodGet, "/containers/aaa1/stats?stream=true", exporter, http.StatusForbidden},
		{http.MethodGet, "/containers/ddd4/json", exporter, http.StatusNotFound}, // another stack
		{http.MethodGet, "/containers/eee5/json", exporter, http.StatusNotFound}, // same name, other network
		{http.MethodGet, "/containers/fff6/stats?stream=false", exporter, http.StatusNotFound},
		{http.MethodGet, "/containers/zzz/json", exporter, http.StatusNotFound},
	} {
		before := len(f.requests)
		w := call(ro, tc.method, tc.target, tc.from)
		if w.Code != tc.status {
			t.Errorf("%s %s from %s: %d, want %d (%s)", tc.method, tc.target, tc.from, w.Code, tc.status, strings.TrimSpace(w.Body.String()))
		}
		for _, r := range f.requests[before:] {
			if !strings.HasPrefix(r, "GET /containers/") || !strings.Contains(r, "/json") {
				t.Errorf("%s %s reached the engine as %s", tc.method, tc.target, r)
			}
		}
	}
	if len(f.restarts) != 0 {
		t.Errorf("the read-only API restarted %v", f.restarts)
	}
}
