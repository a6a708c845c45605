package loadwf

import (
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Latency metrics the SDK records that a load run reports.
const (
	WorkflowTaskScheduleToStart = "temporal_workflow_task_schedule_to_start_latency"
	ActivityScheduleToStart     = "temporal_activity_schedule_to_start_latency"
	WorkflowEndToEnd            = "temporal_workflow_endtoend_latency"
	// StepScheduleToStart is recorded by the activity itself, from its info.
	StepScheduleToStart = "activity_info_schedule_to_start"
)

// Recorder is an SDK metrics handler that keeps every sample of the timers
// named in Latency* constants and drops everything else: a load run wants
// exact percentiles of a few thousand samples, not a metrics backend.
type Recorder struct {
	mu      sync.Mutex
	samples map[string][]time.Duration
}

// NewRecorder returns an empty Recorder; pass it as client.Options.MetricsHandler.
func NewRecorder() *Recorder { return &Recorder{samples: map[string][]time.Duration{}} }

var kept = map[string]bool{WorkflowTaskScheduleToStart: true, ActivityScheduleToStart: true, WorkflowEndToEnd: true}

// WithTags implements client.MetricsHandler; tags do not split samples.
func (r *Recorder) WithTags(map[string]string) client.MetricsHandler { return r }

// Counter implements client.MetricsHandler (counters are dropped).
func (r *Recorder) Counter(string) client.MetricsCounter { return client.MetricsNopHandler.Counter("") }

// Gauge implements client.MetricsHandler (gauges are dropped).
func (r *Recorder) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }

// Timer implements client.MetricsHandler.
func (r *Recorder) Timer(name string) client.MetricsTimer {
	if !kept[name] {
		return client.MetricsNopHandler.Timer(name)
	}
	return timerFunc(func(d time.Duration) { r.Record(name, d) })
}

// Record adds a sample to the named series.
func (r *Recorder) Record(name string, d time.Duration) {
	r.mu.Lock()
	r.samples[name] = append(r.samples[name], d)
	r.mu.Unlock()
}

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// Reset drops the samples recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	clear(r.samples)
	r.mu.Unlock()
}

// Percentiles summarises the samples of each kept timer.
func (r *Recorder) Percentiles() map[string]Percentiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]Percentiles{}
	for name, s := range r.samples {
		out[name] = Summarise(s)
	}
	return out
}

// Percentiles of a set of durations (nearest-rank).
type Percentiles struct {
	N                  int
	P50, P95, P99, Max time.Duration
}

// Summarise returns the nearest-rank percentiles of samples.
func Summarise(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Percentiles{N: len(s), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: s[len(s)-1]}
}
