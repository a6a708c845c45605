package dockergate

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

func labels(stack, service, heal string) map[string]string {
	m := map[string]string{stacks.LabelStack: stack, stacks.LabelService: service, stacks.LabelKind: string(stacks.LongRunning)}
	if heal != "" {
		m[stacks.LabelHeal] = heal
	}
	return m
}

// The gate restarts a container of its stack that stays unhealthy, once per
// episode; it leaves alone healthy ones, alert-only ones, other stacks and
// stacks of the same name on other networks, and itself.
func TestHealerRestartsWhatStaysUnhealthy(t *testing.T) {
	f := &fakeEngine{containers: []*fakeContainer{
		{id: "aaa1", name: "kit-dev-temporal", health: "unhealthy", network: "net-a", running: true, labels: labels("dev", "temporal", stacks.HealRestart)},
		{id: "bbb2", name: "kit-dev-postgresql", health: "healthy", network: "net-a", running: true, labels: labels("dev", "postgresql", stacks.HealRestart)},
		{id: "ccc3", name: "kit-dev-worker", health: "unhealthy", network: "net-a", running: true, labels: labels("dev", "worker", stacks.HealAlert)},
		{id: "ddd4", name: "kit-prod-temporal", health: "unhealthy", network: "net-a", running: true, labels: labels("prod", "temporal", stacks.HealRestart)},
		{id: "eee5", name: "other-run-dev-temporal", health: "unhealthy", network: "net-b", running: true, labels: labels("dev", "temporal", stacks.HealRestart)},
		{id: "fff6", name: "kit-dev-docker-gate", health: "unhealthy", network: "net-a", running: true, labels: labels("dev", "docker-gate", stacks.HealRestart)},
	}}
	reg := prometheus.NewRegistry()
	h := NewHealer(f.start(t), "dev", []string{"net-a"}, "fff6", 2, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	ctx := context.Background()

	if got := h.Poll(ctx); len(got) != 0 {
		t.Fatalf("first look restarted %v; a container must stay unhealthy for 2 looks", got)
	}
	if got := h.Poll(ctx); !slices.Equal(got, []string{"kit-dev-temporal"}) {
		t.Fatalf("second look restarted %v, want [kit-dev-temporal]", got)
	}
	// Restarted: starting, not unhealthy. Nothing more to do.
	if got := h.Poll(ctx); len(got) != 0 {
		t.Errorf("third look restarted %v", got)
	}
	if got := f.restarted(); !slices.Equal(got, []string{"kit-dev-temporal"}) {
		t.Errorf("engine saw restarts of %v", got)
	}
	if v := testutil.ToFloat64(h.Restarts.WithLabelValues("kit-dev-temporal", "temporal")); v != 1 {
		t.Errorf("kit_docker_gate_restarts_total %v, want 1", v)
	}
	if v := testutil.ToFloat64(h.EngineUp); v != 1 {
		t.Errorf("kit_docker_gate_engine_up %v", v)
	}
	// Restartable containers have a counter from the first look, at 0.
	if n := testutil.CollectAndCount(h.Restarts); n != 2 {
		t.Errorf("%d restart counters, want 2 (temporal, postgresql)", n)
	}

	// A check that recovers between two looks starts the count again.
	f.containers[1].health = "unhealthy"
	h.Poll(ctx)
	f.containers[1].health = "healthy"
	h.Poll(ctx)
	f.containers[1].health = "unhealthy"
	if got := h.Poll(ctx); len(got) != 0 {
		t.Errorf("restarted %v after a recovery and one unhealthy look", got)
	}
}

// An engine that cannot be read shows in the gate's metric.
func TestHealerEngineDown(t *testing.T) {
	e := dockerengine.New(t.TempDir() + "/no.sock")
	h := NewHealer(e, "dev", nil, "", 1, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	h.EngineUp.Set(1)
	h.Poll(context.Background())
	if v := testutil.ToFloat64(h.EngineUp); v != 0 {
		t.Errorf("kit_docker_gate_engine_up %v with no engine, want 0", v)
	}
}

// A restart that does not help is not repeated in a loop: the next one
// waits 1 minute, then 2, 4, 8, at most 10; after 30 quiet minutes it starts
// over.
func TestHealerBacksOff(t *testing.T) {
	f := &fakeEngine{containers: []*fakeContainer{
		{id: "aaa1", name: "kit-dev-temporal", health: "unhealthy", network: "net-a", running: true, labels: labels("dev", "temporal", stacks.HealRestart)},
	}}
	h := NewHealer(f.start(t), "dev", nil, "", 1, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return clock }
	ctx := context.Background()
	var at []time.Duration
	start := clock
	for clock.Sub(start) < 40*time.Minute {
		f.containers[0].health = "unhealthy" // a restart that does not help
		if len(h.Poll(ctx)) == 1 {
			at = append(at, clock.Sub(start))
		}
		clock = clock.Add(10 * time.Second)
	}
	want := []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute, 25 * time.Minute, 35 * time.Minute}
	if !slices.Equal(at, want) {
		t.Errorf("restarts at %v, want %v", at, want)
	}
	// Quiet for more than 30 minutes: the next restart goes at once, and the one after waits a minute again.
	clock = clock.Add(31 * time.Minute)
	if len(h.Poll(ctx)) != 1 {
		t.Error("no restart after 31 quiet minutes")
	}
	f.containers[0].health = "unhealthy"
	clock = clock.Add(50 * time.Second)
	if len(h.Poll(ctx)) != 0 {
		t.Error("restarted again 50 s later; the back-off must start over at 1 minute")
	}
}
