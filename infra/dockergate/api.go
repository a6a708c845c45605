package dockergate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// ReadOnly serves the narrow engine API the container exporter needs, and
// nothing else: GET /containers/json (always confined to the stack's
// containers), GET /containers/{id}/json (the stack's only, without env) and
// GET /containers/{id}/stats?stream=false. Every other method or path is
// refused with 403, as is any client but the Readers.
type ReadOnly struct {
	Engine   *dockerengine.Engine
	Stack    string
	Networks []string
	// Readers are the host names (Docker DNS names) whose addresses may use
	// the API; Resolve looks them up (net.DefaultResolver.LookupHost).
	Readers []string
	Resolve func(ctx context.Context, host string) ([]string, error)
	Log     *slog.Logger
	Denied  *prometheus.CounterVec

	mu       sync.Mutex
	addrs    []string
	resolved time.Time
	known    map[string]time.Time // container ID -> when found to be the stack's
}

// NewReadOnly returns the API handler with its metric, registered on reg.
func NewReadOnly(e *dockerengine.Engine, stack string, networks, readers []string, log *slog.Logger, reg prometheus.Registerer) *ReadOnly {
	r := &ReadOnly{Engine: e, Stack: stack, Networks: networks, Readers: readers, Resolve: net.DefaultResolver.LookupHost, Log: log,
		Denied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kit_docker_gate_denied_requests_total",
			Help: "Engine API requests the gate refused, by reason."}, []string{"reason"})}
	reg.MustRegister(r.Denied)
	return r
}

var containerPath = regexp.MustCompile(`^/containers/([a-zA-Z0-9][a-zA-Z0-9_.-]*)/(json|stats)$`)

func (ro *ReadOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !ro.fromReader(r) {
		ro.deny(w, r, "client", "this client may not read the engine")
		return
	}
	if r.Method != http.MethodGet {
		ro.deny(w, r, "method", "the engine is read-only here")
		return
	}
	if r.URL.Path == "/containers/json" {
		ro.list(w, r)
		return
	}
	m := containerPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		ro.deny(w, r, "path", "not an endpoint of this read-only API")
		return
	}
	if m[2] == "stats" && ro.knownOurs(m[1]) {
		// Inspected a moment ago (the exporter inspects, then asks stats):
		// spare the engine a second inspect under load.
		ro.stats(w, r, m[1])
		return
	}
	c, raw, err := ro.inspect(r.Context(), m[1])
	if err != nil {
		var ee *dockerengine.Error
		if errors.As(err, &ee) && ee.Status == http.StatusNotFound {
			writeMessage(w, http.StatusNotFound, "no such container")
			return
		}
		ro.Log.Error("inspect", "container", m[1], "error", err)
		writeMessage(w, http.StatusBadGateway, "engine: "+err.Error())
		return
	}
	if !ro.ours(c) {
		// As if it did not exist: the client learns nothing of other stacks.
		ro.deny(w, r, "container", "no such container")
		return
	}
	ro.remember(c.ID)
	if m[2] == "json" {
		writeInspect(w, raw)
		return
	}
	ro.stats(w, r, c.ID)
}

// fromReader tells whether the request comes from one of the Readers'
// current addresses (they change when a reader's container is recreated).
func (ro *ReadOnly) fromReader(r *http.Request) bool {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return slices.Contains(ro.readerAddrs(r.Context()), ip)
}

// readerAddrs are the Readers' addresses, looked up again after
// readerTTL: a scrape sends dozens of requests at once.
func (ro *ReadOnly) readerAddrs(ctx context.Context) []string {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	if time.Since(ro.resolved) < readerTTL {
		return ro.addrs
	}
	var addrs []string
	for _, h := range ro.Readers {
		a, err := ro.Resolve(ctx, h)
		if err == nil {
			addrs = append(addrs, a...)
		}
	}
	ro.addrs, ro.resolved = addrs, time.Now()
	return addrs
}

const readerTTL = 5 * time.Second

// oursTTL is how long a container found to be the stack's is taken as such
// without another inspect: its labels and networks change only when it is
// recreated, under a new ID.
const oursTTL = 30 * time.Second

func (ro *ReadOnly) remember(ids ...string) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	if ro.known == nil {
		ro.known = map[string]time.Time{}
	}
	now := time.Now()
	for id, at := range ro.known {
		if now.Sub(at) > oursTTL {
			delete(ro.known, id)
		}
	}
	for _, id := range ids {
		ro.known[id] = now
	}
}

func (ro *ReadOnly) knownOurs(id string) bool {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	at, ok := ro.known[id]
	return ok && time.Since(at) < oursTTL
}

func (ro *ReadOnly) deny(w http.ResponseWriter, r *http.Request, reason, msg string) {
	ro.Denied.WithLabelValues(reason).Inc()
	ro.Log.Warn("refused engine request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason)
	status := http.StatusForbidden
	if reason == "container" {
		status = http.StatusNotFound
	}
	writeMessage(w, status, msg)
}

// list answers the container list with the client's filters narrowed to
// the stack (and its networks): a filter can only narrow the list further.
func (ro *ReadOnly) list(w http.ResponseWriter, r *http.Request) {
	f := map[string][]string{}
	if q := r.URL.Query().Get("filters"); q != "" {
		if err := json.Unmarshal([]byte(q), &f); err != nil {
			writeMessage(w, http.StatusBadRequest, "filters: "+err.Error())
			return
		}
	}
	f["label"] = append(f["label"], stacks.LabelStack+"="+ro.Stack)
	if len(ro.Networks) > 0 {
		f["network"] = ro.Networks
	}
	all := r.URL.Query().Get("all")
	ro.relay(w, r, dockerengine.ListPath(all == "1" || all == "true", f))
}

// inspect returns a container's inspect data, parsed and raw.
func (ro *ReadOnly) inspect(ctx context.Context, id string) (dockerengine.Container, map[string]any, error) {
	resp, err := ro.Engine.Get(ctx, dockerengine.ContainerPath(id, "json"))
	if err != nil {
		return dockerengine.Container{}, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return dockerengine.Container{}, nil, err
	}
	var c dockerengine.Container
	var raw map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return dockerengine.Container{}, nil, err
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return dockerengine.Container{}, nil, err
	}
	return c, raw, nil
}

func (ro *ReadOnly) ours(c dockerengine.Container) bool {
	if c.Config.Labels[stacks.LabelStack] != ro.Stack {
		return false
	}
	if len(ro.Networks) == 0 {
		return true
	}
	for n := range c.NetworkSettings.Networks {
		if slices.Contains(ro.Networks, n) {
			return true
		}
	}
	return false
}

// writeInspect sends inspect data without the container's environment,
// which may carry what no reader needs.
func writeInspect(w http.ResponseWriter, raw map[string]any) {
	if cfg, ok := raw["Config"].(map[string]any); ok {
		delete(cfg, "Env")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(raw)
}

// stats proxies one stats sample; a stream would hold the gate open.
func (ro *ReadOnly) stats(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	if s := q.Get("stream"); s != "false" && s != "0" {
		ro.deny(w, r, "stream", "only stream=false stats are served")
		return
	}
	path := dockerengine.ContainerPath(id, "stats") + "?stream=false"
	if q.Get("one-shot") == "true" || q.Get("one-shot") == "1" {
		path += "&one-shot=true"
	}
	ro.relay(w, r, path)
}

// relay sends the engine's answer to a GET of path as it is.
func (ro *ReadOnly) relay(w http.ResponseWriter, r *http.Request, path string) {
	resp, err := ro.Engine.Get(r.Context(), path)
	if err != nil {
		writeMessage(w, http.StatusBadGateway, "engine: "+err.Error())
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.Copy(w, io.LimitReader(resp.Body, 8<<20))
}

// writeMessage answers as the engine does: {"message": ...}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
