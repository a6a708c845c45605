package dockergate

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// Healer restarts the stack's containers that Docker reports unhealthy on
// After polls in a row. Docker declares a container unhealthy only after
// its check failed Retries times in a row; After adds one more look so a
// check that just recovered is left alone. Only containers labelled
// heal=restart are touched: the others' checks fail for causes a restart
// does not fix (the stack alerts on them instead). A container that needs
// restarting again soon waits longer each time, as Kubernetes' crash-loop
// back-off does: a restart that does not help must not become a loop.
type Healer struct {
	Engine *dockerengine.Engine
	Stack  string
	// Networks, when set, confine the gate to containers on them: stacks of
	// one name (test runs) share an engine, never a network.
	Networks []string
	// Self is the gate's own container ID, never restarted by itself.
	Self  string
	After int
	Log   *slog.Logger

	// Now is the clock (tests set it).
	Now func() time.Time

	seen    map[string]int            // container ID -> consecutive unhealthy polls
	history map[string]restartHistory // container ID -> its last restart by the gate

	Restarts, Failures *prometheus.CounterVec
	EngineUp           prometheus.Gauge
}

// NewHealer returns a Healer with its metrics, registered on reg.
func NewHealer(e *dockerengine.Engine, stack string, networks []string, self string, after int, log *slog.Logger, reg prometheus.Registerer) *Healer {
	h := &Healer{Engine: e, Stack: stack, Networks: networks, Self: self, After: max(after, 1), Log: log, Now: time.Now,
		seen: map[string]int{}, history: map[string]restartHistory{},
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kit_docker_gate_restarts_total",
			Help: "Containers the gate restarted because they stayed unhealthy."}, []string{"name", "service"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kit_docker_gate_restart_failures_total",
			Help: "Restarts of unhealthy containers that the engine refused or that failed."}, []string{"name", "service"}),
		EngineUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kit_docker_gate_engine_up",
			Help: "1 when the gate's last look at the engine succeeded."}),
	}
	reg.MustRegister(h.Restarts, h.Failures, h.EngineUp)
	return h
}

// filters select the running containers of the stack that the gate may
// restart; with unhealthy, only those Docker reports unhealthy.
func (h *Healer) filters(unhealthy bool) map[string][]string {
	f := map[string][]string{
		"label": {stacks.LabelStack + "=" + h.Stack, stacks.LabelHeal + "=" + stacks.HealRestart},
	}
	if unhealthy {
		f["health"] = []string{"unhealthy"}
	}
	if len(h.Networks) > 0 {
		f["network"] = h.Networks
	}
	return f
}

// Poll looks once and restarts what has been unhealthy long enough; it
// returns the names it restarted.
func (h *Healer) Poll(ctx context.Context) []string {
	all, err := h.Engine.List(ctx, false, h.filters(false))
	var list []dockerengine.Listed
	if err == nil {
		list, err = h.Engine.List(ctx, false, h.filters(true))
	}
	if err != nil {
		h.EngineUp.Set(0)
		h.Log.Error("list unhealthy containers", "error", err)
		return nil
	}
	h.EngineUp.Set(1)
	// Every restartable container has its counter from the start, at 0:
	// a counter born at 1 would hide the first restart from increase().
	for _, c := range all {
		if !h.isSelf(c.ID) {
			h.Restarts.WithLabelValues(c.Name(), c.Labels[stacks.LabelService])
		}
	}
	now := map[string]int{}
	var restarted []string
	for _, c := range list {
		if h.isSelf(c.ID) {
			continue
		}
		n := h.seen[c.ID] + 1
		if n < h.After {
			now[c.ID] = n
			continue
		}
		name, svc := c.Name(), c.Labels[stacks.LabelService]
		if wait := h.held(c.ID); wait > 0 {
			now[c.ID] = n
			h.Log.Warn("unhealthy container restarted recently: next restart held back", "name", name, "service", svc, "for", wait.Round(time.Second))
			continue
		}
		h.Log.Warn("restarting unhealthy container", "name", name, "service", svc, "unhealthy_polls", n)
		if err := h.Engine.Restart(ctx, c.ID); err != nil {
			h.Failures.WithLabelValues(name, svc).Inc()
			h.Log.Error("restart unhealthy container", "name", name, "service", svc, "error", err)
			now[c.ID] = n // try again at the next poll
			continue
		}
		h.Restarts.WithLabelValues(name, svc).Inc()
		h.record(c.ID)
		h.Log.Info("restarted unhealthy container", "name", name, "service", svc)
		restarted = append(restarted, name)
	}
	// A container that is no longer unhealthy starts from zero next time.
	h.seen = now
	return restarted
}

// Back-off between restarts of one container: none before the first, then
// firstBackoff, doubling up to maxBackoff; a container not restarted for
// resetBackoff starts over.
const (
	firstBackoff = time.Minute
	maxBackoff   = 10 * time.Minute
	resetBackoff = 30 * time.Minute
)

type restartHistory struct {
	last time.Time
	wait time.Duration
}

// held is how long a restart of id must still wait; 0 when it may go.
func (h *Healer) held(id string) time.Duration {
	r, ok := h.history[id]
	if !ok {
		return 0
	}
	return max(r.last.Add(r.wait).Sub(h.Now()), 0)
}

func (h *Healer) record(id string) {
	r, now := h.history[id], h.Now()
	switch {
	case r.last.IsZero() || now.Sub(r.last) > resetBackoff:
		r.wait = firstBackoff
	default:
		r.wait = min(2*r.wait, maxBackoff)
	}
	r.last = now
	h.history[id] = r
}

func (h *Healer) isSelf(id string) bool {
	return h.Self != "" && strings.HasPrefix(id, h.Self)
}

// Run polls every interval until ctx ends.
func (h *Healer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, interval+5*time.Minute)
		h.Poll(pctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
