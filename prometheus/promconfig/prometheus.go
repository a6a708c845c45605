// Package promconfig holds the stack's Prometheus and Alertmanager files:
// the scrape config and alert rules (templates beside this file, embedded)
// and the Alertmanager config, rendered from the stack config. The stacks
// package delivers what they render as Files of the Definition.
package promconfig

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed prometheus.yml.tmpl rules/*.yml.tmpl
var templates embed.FS

// RunbookBase is where every alert's runbook_url points: the runbook,
// one heading per alert.
const RunbookBase = "https://github.com/ampledata/temporal-kit/blob/main/docs/runbook.md"

// Target is one scrape job.
type Target struct {
	Job         string
	Addresses   []string
	MetricsPath string
}

// Config is what prometheus.yml says.
type Config struct {
	Stack                                             string
	ScrapeInterval, ScrapeTimeout, EvaluationInterval string
	// RetentionTime ("15d") and RetentionSize ("4GB"): whichever is reached first.
	RetentionTime, RetentionSize string
	// Alertmanager is host:port.
	Alertmanager string
	RuleFiles    []string
	Targets      []Target
}

func render(name string, data any) (string, error) {
	t, err := template.New(path.Base(name)).Delims("[[", "]]").Option("missingkey=error").
		Funcs(template.FuncMap{"quote": strconv.Quote}).ParseFS(templates, name)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return b.String(), nil
}

// RenderConfig renders prometheus.yml.
func RenderConfig(c Config) (string, error) { return render("prometheus.yml.tmpl", c) }

// Thresholds are the alert thresholds an operator tunes: the stack config's
// alertThresholds object (JSON names).
type Thresholds struct {
	// TargetDownFor is how long a target is down before TargetDown fires.
	TargetDownFor string `json:"targetDownFor"`
	// NoPollersFor is how long no worker polls before EnrichmentNoPollers fires.
	NoPollersFor                 string  `json:"noPollersFor"`
	FrontendErrorRatio           float64 `json:"frontendErrorRatio"`
	PersistenceErrorRatio        float64 `json:"persistenceErrorRatio"`
	PersistenceLatencyP99Seconds float64 `json:"persistenceLatencyP99Seconds"`
	ScheduleToStartP95Seconds    float64 `json:"scheduleToStartP95Seconds"`
	FailedRowRatio               float64 `json:"failedRowRatio"`
	PostgresConnectionsRatio     float64 `json:"postgresConnectionsRatio"`
	DiskFreeRatio                float64 `json:"diskFreeRatio"`
	MemoryLimitRatio             float64 `json:"memoryLimitRatio"`
	// BackupMaxAgeHours is how old the newest local backup of a database
	// may be before BackupTooOld fires: a day plus slack for a slow run.
	BackupMaxAgeHours float64 `json:"backupMaxAgeHours"`
}

// DefaultThresholds are the thresholds of a stack that sets none.
func DefaultThresholds() Thresholds {
	return Thresholds{
		TargetDownFor:                "2m",
		NoPollersFor:                 "5m",
		FrontendErrorRatio:           0.05,
		PersistenceErrorRatio:        0.01,
		PersistenceLatencyP99Seconds: 1,
		ScheduleToStartP95Seconds:    10,
		FailedRowRatio:               0.25,
		PostgresConnectionsRatio:     0.8,
		DiskFreeRatio:                0.2,
		MemoryLimitRatio:             0.9,
		BackupMaxAgeHours:            26,
	}
}

// Problems lists what is wrong with t, each naming its field.
func (t Thresholds) Problems() []string {
	var out []string
	for _, d := range []struct {
		name, v string
	}{{"targetDownFor", t.TargetDownFor}, {"noPollersFor", t.NoPollersFor}} {
		if _, err := ParseDuration(d.v); err != nil {
			out = append(out, fmt.Sprintf("%s: %q is not a Prometheus duration; write it like 2m or 30s", d.name, d.v))
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"frontendErrorRatio", t.FrontendErrorRatio}, {"persistenceErrorRatio", t.PersistenceErrorRatio},
		{"failedRowRatio", t.FailedRowRatio}, {"postgresConnectionsRatio", t.PostgresConnectionsRatio},
		{"diskFreeRatio", t.DiskFreeRatio}, {"memoryLimitRatio", t.MemoryLimitRatio}} {
		if r.v <= 0 || r.v >= 1 {
			out = append(out, fmt.Sprintf("%s: %g is not a ratio between 0 and 1 (exclusive); write it like 0.2", r.name, r.v))
		}
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"persistenceLatencyP99Seconds", t.PersistenceLatencyP99Seconds}, {"scheduleToStartP95Seconds", t.ScheduleToStartP95Seconds}} {
		if s.v <= 0 {
			out = append(out, fmt.Sprintf("%s: %g is not a positive number of seconds", s.name, s.v))
		}
	}
	if t.BackupMaxAgeHours < 1 {
		out = append(out, fmt.Sprintf("backupMaxAgeHours: %g is not a number of hours of at least 1; write it like 26 (a daily backupSchedule plus 2 h)", t.BackupMaxAgeHours))
	}
	return out
}

// ParseDuration reads a Prometheus duration: one or more number-unit pairs
// with units ms, s, m, h, d, w, y.
func ParseDuration(s string) (time.Duration, error) {
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		u, ok := units[rest[:j]]
		if !ok {
			return 0, fmt.Errorf("bad unit in duration %q", s)
		}
		total += time.Duration(n) * u
		rest = rest[j:]
	}
	return total, nil
}

// ruleData is what the rule templates see.
type ruleData struct {
	Thresholds
	RunbookBase        string
	TaskQueuePattern   string
	IgnoredFilesystems string
}

// TaskQueuePattern matches the worker's task queues (enrichment and its
// search queue).
const TaskQueuePattern = "enrichment.*"

// RuleFiles renders the alert rule files, by file name (name.rules.yml).
func RuleFiles(t Thresholds) (map[string]string, error) {
	if p := t.Problems(); len(p) > 0 {
		return nil, fmt.Errorf("alert thresholds: %s", strings.Join(p, "; "))
	}
	names, err := fs.Glob(templates, "rules/*.yml.tmpl")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		s, err := render(n, ruleData{Thresholds: t, RunbookBase: RunbookBase, TaskQueuePattern: TaskQueuePattern,
			IgnoredFilesystems: "tmpfs|devtmpfs|overlay|squashfs|nsfs|proc|sysfs|cgroup2?|fuse.*|autofs|ramfs|shm"})
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(n), ".tmpl")] = s
	}
	return out, nil
}
