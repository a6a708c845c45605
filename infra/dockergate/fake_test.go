package dockergate

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// fakeContainer is one container of fakeEngine.
type fakeContainer struct {
	id, name, health, network string
	running                   bool
	labels                    map[string]string
	env                       []string
}

// fakeEngine answers the engine API calls the gate makes, with the
// engine's filter semantics (label: all must match; network, health,
// status: any), and records every request.
type fakeEngine struct {
	mu         sync.Mutex
	containers []*fakeContainer
	requests   []string
	restarts   []string
}

func (f *fakeEngine) start(t *testing.T) *dockerengine.Engine {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return dockerengine.NewAt(srv.URL, srv.Client())
}

func (f *fakeEngine) find(id string) *fakeContainer {
	for _, c := range f.containers {
		if c.id == id || c.name == id || strings.HasPrefix(c.id, id) {
			return c
		}
	}
	return nil
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/containers/json":
		var filters map[string][]string
		if q := r.URL.Query().Get("filters"); q != "" {
			if err := json.Unmarshal([]byte(q), &filters); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		out := []map[string]any{}
		for _, c := range f.containers {
			if f.matches(c, filters, r.URL.Query().Get("all") == "1") {
				out = append(out, map[string]any{"Id": c.id, "Names": []string{"/" + c.name}, "Labels": c.labels, "State": map[bool]string{true: "running", false: "exited"}[c.running]})
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	case len(parts) == 3 && parts[0] == "containers":
		c := f.find(parts[1])
		if c == nil {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "No such container: " + parts[1]})
			return
		}
		switch {
		case r.Method == http.MethodGet && parts[2] == "json":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"Id": c.id, "Name": "/" + c.name,
				"Config":          map[string]any{"Labels": c.labels, "Env": c.env, "Image": "x"},
				"State":           map[string]any{"Running": c.running, "Health": map[string]any{"Status": c.health}},
				"NetworkSettings": map[string]any{"Networks": map[string]any{c.network: map[string]any{"NetworkID": "n1"}}},
			})
		case r.Method == http.MethodGet && parts[2] == "stats":
			_, _ = w.Write([]byte(`{"memory_stats":{"usage":100}}`))
		case r.Method == http.MethodPost && parts[2] == "restart":
			f.restarts = append(f.restarts, c.name)
			c.health = "starting"
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "fake engine: unexpected "+r.Method+" "+r.URL.Path, http.StatusInternalServerError)
		}
	default:
		http.Error(w, "fake engine: unexpected "+r.Method+" "+r.URL.Path, http.StatusInternalServerError)
	}
}

func (f *fakeEngine) matches(c *fakeContainer, filters map[string][]string, all bool) bool {
	if !all && !c.running {
		return false
	}
	for _, l := range filters["label"] {
		k, v, _ := strings.Cut(l, "=")
		if got, ok := c.labels[k]; !ok || got != v {
			return false
		}
	}
	for key, val := range map[string]string{"network": c.network, "health": c.health} {
		if vs, ok := filters[key]; ok && !slices.Contains(vs, val) {
			return false
		}
	}
	for key := range filters {
		if key != "label" && key != "network" && key != "health" {
			return false // a filter this fake does not know: match nothing, so tests notice
		}
	}
	return true
}

func (f *fakeEngine) restarted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.restarts)
}
