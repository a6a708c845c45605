// Package containers exports per-container metrics of one temporal-kit
// stack, read from the Docker Engine API: memory (working set, usage, the
// container's limit), CPU time, restarts, OOM kills, running and health
// state. The metric names follow cAdvisor's where both have one, so queries
// read the same; restarts and OOM kills are Docker's own counts, which
// cAdvisor does not export.
package containers

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// Labels the kit puts on every container (stacks.applyDefaults).
const (
	StackLabel   = stacks.LabelStack
	ServiceLabel = stacks.LabelService
	KindLabel    = stacks.LabelKind
)

// Sample is what the exporter reports about one container.
type Sample struct {
	Name, Service            string
	Kind                     string // stacks.Kind: "service" or "job"; "" on containers older than the label
	Running, OOMKilled       bool
	Health                   string // "" without a health check
	Restarts                 int
	StartedAt                time.Time
	WorkingSet, Usage, Limit uint64
	CPUSeconds               float64
}

// Read samples every container (running or not) whose stack label is
// stack, on one of networks when any are given: several stacks of one name
// (test runs) share an engine, never a network.
func Read(ctx context.Context, e *dockerengine.Engine, stack string, networks []string) ([]Sample, error) {
	f := map[string][]string{"label": {StackLabel + "=" + stack}}
	if len(networks) > 0 {
		f["network"] = networks
	}
	list, err := e.List(ctx, true, f)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, len(list))
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, c := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = sample(ctx, e, c)
		}()
	}
	wg.Wait()
	var kept []Sample
	for i := range out {
		if errs[i] == nil {
			kept = append(kept, out[i])
		}
	}
	for _, err := range errs {
		if err != nil {
			return kept, err
		}
	}
	return kept, nil
}

func sample(ctx context.Context, e *dockerengine.Engine, c dockerengine.Listed) (Sample, error) {
	s := Sample{Name: c.Name(), Service: c.Labels[ServiceLabel], Kind: c.Labels[KindLabel]}
	in, err := e.Inspect(ctx, c.ID)
	if err != nil {
		return s, err
	}
	s.Running, s.OOMKilled, s.Restarts, s.StartedAt = in.State.Running, in.State.OOMKilled, in.RestartCount, in.State.StartedAt
	if in.State.Health != nil {
		s.Health = in.State.Health.Status
	}
	if !s.Running {
		return s, nil
	}
	st, err := e.Stats(ctx, c.ID)
	if err != nil {
		return s, err
	}
	s.Usage, s.Limit, s.WorkingSet = st.MemoryStats.Usage, st.MemoryStats.Limit, st.WorkingSet()
	s.CPUSeconds = st.CPU().Seconds()
	return s, nil
}

// Collector reads the engine at every scrape.
type Collector struct {
	Engine   *dockerengine.Engine
	Stack    string
	Networks []string
	Timeout  time.Duration
}

var labels = []string{"name", "service"}

var (
	descWorkingSet = prometheus.NewDesc("container_memory_working_set_bytes", "Memory in use less the inactive page cache (what the limit is measured against).", labels, nil)
	descUsage      = prometheus.NewDesc("container_memory_usage_bytes", "Memory in use, page cache included.", labels, nil)
	descLimit      = prometheus.NewDesc("container_spec_memory_limit_bytes", "The container's memory limit.", labels, nil)
	descCPU        = prometheus.NewDesc("container_cpu_usage_seconds_total", "CPU time consumed.", labels, nil)
	descRestarts   = prometheus.NewDesc("container_restarts_total", "Times Docker restarted the container (its restart policy).", labels, nil)
	descOOM        = prometheus.NewDesc("container_oom_killed", "1 when the container's last exit was an out-of-memory kill.", labels, nil)
	descRunning    = prometheus.NewDesc("container_running", "1 while the container runs.", labels, nil)
	descHealthy    = prometheus.NewDesc("container_healthy", "1 while the health check passes, 0 otherwise (containers with a health check only).", labels, nil)
	descHealth     = prometheus.NewDesc("container_health_status", "1 for the health check's current status (starting, healthy, unhealthy), 0 for the others (containers with a health check only).", append(labels, "status"), nil)
	descInfo       = prometheus.NewDesc("container_info", "Always 1: kind is service (must keep running) or job (exits when done).", append(labels, "kind"), nil)
	descStart      = prometheus.NewDesc("container_start_time_seconds", "When the container last started, in Unix seconds.", labels, nil)
	descUp         = prometheus.NewDesc("container_exporter_engine_up", "1 when the last read of the Docker engine succeeded.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWorkingSet, descUsage, descLimit, descCPU, descRestarts, descOOM, descRunning, descHealthy, descHealth, descInfo, descStart, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	samples, err := Read(ctx, c.Engine, c.Stack, c.Networks)
	up := 1.0
	if err != nil {
		up = 0
		ch <- prometheus.NewInvalidMetric(descUp, err)
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	for _, s := range samples {
		lv := []string{s.Name, s.Service}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
		}
		gauge(descRunning, b2f(s.Running))
		gauge(descOOM, b2f(s.OOMKilled))
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(s.Restarts), lv...)
		if !s.StartedAt.IsZero() {
			gauge(descStart, float64(s.StartedAt.UnixNano())/1e9)
		}
		if s.Kind != "" {
			ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, s.Name, s.Service, s.Kind)
		}
		if s.Health != "" {
			gauge(descHealthy, b2f(s.Health == "healthy"))
			for _, st := range healthStatuses {
				ch <- prometheus.MustNewConstMetric(descHealth, prometheus.GaugeValue, b2f(s.Health == st), s.Name, s.Service, st)
			}
		}
		if !s.Running {
			continue
		}
		gauge(descWorkingSet, float64(s.WorkingSet))
		gauge(descUsage, float64(s.Usage))
		gauge(descLimit, float64(s.Limit))
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, s.CPUSeconds, lv...)
	}
}

// healthStatuses are Docker's health states: a state set, one series each,
// so an alert can tell a slow start from a failing check.
var healthStatuses = []string{"starting", "healthy", "unhealthy"}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
