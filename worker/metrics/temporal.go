package metrics

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// Temporal is a client.MetricsHandler that keeps the SDK's counters, gauges
// and timers and exposes them as a prometheus.Collector. The SDK tags the
// same metric with different tag sets, which prometheus' vectors reject, so
// each (name, tags) series is kept on its own and emitted as a const metric.
type Temporal struct {
	root *temporalRegistry
	tags map[string]string
}

type temporalRegistry struct {
	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	name   string
	kind   prometheus.ValueType // counter, gauge; untyped marks a timer
	labels []string
	values []string
	bits   atomic.Uint64 // float64 value for counters and gauges
	mu     sync.Mutex    // timers
	count  uint64
	sum    float64
	bucket []uint64
}

var timerBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewTemporal returns a handler; register it in a prometheus registry and
// pass it as client.Options.MetricsHandler.
func NewTemporal() *Temporal {
	return &Temporal{root: &temporalRegistry{series: map[string]*series{}}, tags: map[string]string{}}
}

// WithTags implements client.MetricsHandler.
func (t *Temporal) WithTags(tags map[string]string) client.MetricsHandler {
	m := make(map[string]string, len(t.tags)+len(tags))
	for k, v := range t.tags {
		m[k] = v
	}
	for k, v := range tags {
		m[k] = v
	}
	return &Temporal{root: t.root, tags: m}
}

// Counter implements client.MetricsHandler.
func (t *Temporal) Counter(name string) client.MetricsCounter {
	s := t.get(name, prometheus.CounterValue)
	return counterFunc(func(d int64) { addFloat(&s.bits, float64(d)) })
}

// Gauge implements client.MetricsHandler.
func (t *Temporal) Gauge(name string) client.MetricsGauge {
	s := t.get(name, prometheus.GaugeValue)
	return gaugeFunc(func(v float64) { s.bits.Store(math.Float64bits(v)) })
}

// Timer implements client.MetricsHandler.
func (t *Temporal) Timer(name string) client.MetricsTimer {
	s := t.get(name, prometheus.UntypedValue)
	return timerFunc(func(d time.Duration) {
		v := d.Seconds()
		s.mu.Lock()
		s.count++
		s.sum += v
		for i, b := range timerBuckets {
			if v <= b {
				s.bucket[i]++
			}
		}
		s.mu.Unlock()
	})
}

func (t *Temporal) get(name string, kind prometheus.ValueType) *series {
	keys := make([]string, 0, len(t.tags))
	for k := range t.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var id strings.Builder
	id.WriteString(name)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = t.tags[k]
		id.WriteString("\x00" + k + "\x01" + vals[i])
	}
	t.root.mu.Lock()
	defer t.root.mu.Unlock()
	s, ok := t.root.series[id.String()]
	if !ok {
		s = &series{name: sanitize(name), kind: kind, labels: keys, values: vals}
		if kind == prometheus.UntypedValue {
			s.bucket = make([]uint64, len(timerBuckets))
		}
		t.root.series[id.String()] = s
	}
	return s
}

// CounterValue sums an SDK counter over every series carrying these tags
// (and any others): the load tool reads the heartbeat RPCs this way.
func (t *Temporal) CounterValue(name string, tags map[string]string) float64 {
	var total float64
	t.root.mu.Lock()
	defer t.root.mu.Unlock()
	for _, s := range t.root.series {
		if s.kind != prometheus.CounterValue || s.name != sanitize(name) {
			continue
		}
		match := true
		for k, v := range tags {
			found := false
			for i, l := range s.labels {
				if l == k && s.values[i] == v {
					found = true
				}
			}
			match = match && found
		}
		if match {
			total += math.Float64frombits(s.bits.Load())
		}
	}
	return total
}

// Describe sends nothing: the series are not known up front (an unchecked collector).
func (t *Temporal) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (t *Temporal) Collect(ch chan<- prometheus.Metric) {
	t.root.mu.Lock()
	all := make([]*series, 0, len(t.root.series))
	for _, s := range t.root.series {
		all = append(all, s)
	}
	t.root.mu.Unlock()
	for _, s := range all {
		labels := make([]string, len(s.labels))
		for i, l := range s.labels {
			labels[i] = sanitize(l)
		}
		switch s.kind {
		case prometheus.UntypedValue:
			desc := prometheus.NewDesc(s.name+"_seconds", "Temporal SDK timer "+s.name+".", labels, nil)
			s.mu.Lock()
			buckets := make(map[float64]uint64, len(timerBuckets))
			for i, b := range timerBuckets {
				buckets[b] = s.bucket[i]
			}
			m, err := prometheus.NewConstHistogram(desc, s.count, s.sum, buckets, s.values...)
			s.mu.Unlock()
			if err == nil {
				ch <- m
			}
		default:
			name := s.name
			if s.kind == prometheus.CounterValue && !strings.HasSuffix(name, "_total") {
				name += "_total"
			}
			desc := prometheus.NewDesc(name, "Temporal SDK metric "+s.name+".", labels, nil)
			if m, err := prometheus.NewConstMetric(desc, s.kind, math.Float64frombits(s.bits.Load()), s.values...); err == nil {
				ch <- m
			}
		}
	}
}

func addFloat(b *atomic.Uint64, d float64) {
	for {
		old := b.Load()
		if b.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':' {
			return r
		}
		return '_'
	}, s)
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
