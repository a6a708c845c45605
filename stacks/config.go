package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Namespace is the Pulumi config namespace (the project name) of every key.
const Namespace = "temporal-kit"

// Source reads raw stack config values; infra adapts Pulumi config to it,
// tests use a map. ok is false when the key is not set at all.
type Source interface {
	Get(key string) (value string, ok bool)
}

// MapSource is a Source over a plain map, for tests and tools.
type MapSource map[string]string

// Get implements Source.
func (m MapSource) Get(key string) (string, bool) { v, ok := m[key]; return v, ok }

// Target is where a stack's containers run.
type Target string

const (
	TargetLocal   Target = "local"   // the local Docker engine (dev)
	TargetHetzner Target = "hetzner" // a Hetzner VPS provisioned by the stack (prod)
	TargetSSH     Target = "ssh"     // an existing server's Docker engine, reached over SSH
)

// Postgres says which PostgreSQL the stack uses.
type Postgres struct {
	// Existing is true when Host points at a server the stack does not run.
	Existing bool
	Host     string
	Port     int
	User     string
	// PasswordSet tells whether the password secret is in the stack config;
	// the value itself is never read into this struct.
	PasswordSet bool
}

// Config is the typed, validated stack configuration.
type Config struct {
	Stack              string
	Target             Target
	Catalog            string
	Images             Images
	Postgres           Postgres
	HistoryShards      int
	Namespace          string
	NamespaceRetention time.Duration
	LogLevel           string
	// BindAddress is the host interface published ports bind to.
	BindAddress string
	// PublicPorts are the hostPorts keys that bind BindAddress when it is
	// not loopback; every other published port binds 127.0.0.1 (publish.go).
	PublicPorts []string
	HostPorts   HostPorts
	MemoryMB    map[string]int
	Worker      Worker
	Proxy       Proxy
	// Observability: Prometheus retention, alert thresholds and receivers.
	Observability Observability
	Backup        Backup
	Hetzner       Hetzner
	// SSH is how targets ssh and hetzner reach the server.
	SSH SSH
}

// HostPorts are the host ports services are published on (0 = not published).
type HostPorts struct {
	Temporal int `json:"temporal"`
	UI       int `json:"ui"`
	Postgres int `json:"postgres"`
	Worker   int `json:"worker"`
	Grafana  int `json:"grafana"`
	// Prometheus serves its API (and, where built in, its UI) on this port.
	Prometheus int `json:"prometheus"`
}

// Defaults sized for a 4 GB VPS: Temporal and PostgreSQL get most of it.
var defaultMemoryMB = map[string]int{
	ServicePostgres:   768,
	ServiceSchema:     256,
	ServiceTemporal:   1024,
	ServiceNamespace:  128,
	ServiceUI:         256,
	ServiceAdminTools: 256,
	ServiceWorker:     512,
	ServiceProxy:      128,
	ServiceGrafana:    256,
	// Observability: Prometheus holds the series of a few hours in memory.
	ServicePrometheus:       512,
	ServiceAlertmanager:     128,
	ServiceNodeExporter:     64,
	ServicePostgresExporter: 64,
	ServiceContainerMetrics: 64,
	ServiceDockerGate:       64,
	ServiceBackup:           256,
}

// ConfigError lists every problem of a stack config, each naming its key and fix.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid stack config:\n  - " + strings.Join(e.Problems, "\n  - ")
}

type loader struct {
	src Source
	// read records every key the loader asks for: the known keys. Reads must
	// not depend on other values, so one load of any config reads them all.
	read map[string]bool
	// secrets records the keys read with secret: their values are secrets.
	secrets  map[string]bool
	problems []string
}

func newLoader(src Source) *loader {
	return &loader{src: src, read: map[string]bool{}, secrets: map[string]bool{}}
}

// get is the loader's only way to the Source, so no key escapes read.
func (l *loader) get(key string) (string, bool) {
	l.read[key] = true
	return l.src.Get(key)
}

func (l *loader) fail(key, format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf("%s:%s: %s", Namespace, key, fmt.Sprintf(format, args...)))
}

func (l *loader) str(key, def string) string {
	v, ok := l.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

func (l *loader) integer(key string, def int) int {
	return parsed(l, key, def, strconv.Atoi, "a whole number")
}

// parsed reads a key that parse turns into a T; a value it refuses is a
// problem that names what the key takes.
func parsed[T any](l *loader, key string, def T, parse func(string) (T, error), takes string) T {
	v, ok := l.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	x, err := parse(strings.TrimSpace(v))
	if err != nil {
		l.fail(key, "%q is not %s; set it with `pulumi config set %s:%s %v` (default %v)", v, takes, Namespace, key, def, def)
		return def
	}
	return x
}

func (l *loader) object(key string, into any) {
	v, ok := l.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		l.fail(key, "cannot read it as an object (%v); write it as a YAML map under the key in Pulumi.<stack>.yaml", err)
	}
}

// LoadConfig reads and validates the config of stack from src. Every key has a
// default except the secrets an existing PostgreSQL needs; all problems are
// reported at once. When src is a KeyLister, keys the loader does not know
// are problems too.
func LoadConfig(stack string, src Source) (Config, error) {
	l := newLoader(src)
	c := l.load(stack)
	if lister, ok := src.(KeyLister); ok {
		l.rejectUnknown(lister.Keys())
	}
	if len(l.problems) > 0 {
		return c, &ConfigError{Problems: l.problems}
	}
	return c, nil
}

// KnownKeys are the keys LoadConfig reads, sorted: what it asks an empty
// config for.
func KnownKeys() []string {
	l := newLoader(MapSource{})
	l.load("")
	return sortedKeys(l.read)
}

// checkImages wants every image pinned: a well-formed reference with a tag
// other than latest, or a digest. cat supplies the pinned example.
func checkImages(l *loader, im, cat Images) {
	pins := map[string]string{}
	for _, f := range cat.fields() {
		pins[f.key] = f.ref
	}
	for _, f := range im.fields() {
		switch {
		case f.key == "grafana" && f.ref == "":
			// A catalog without Grafana: the stack runs without it (Build notes it).
		case !validImageRef(f.ref):
			l.fail("images", "%s image %q is not a valid image reference; write it as [registry/]name:tag or name@sha256:digest", f.key, f.ref)
		case imageTag(f.ref) == "latest":
			l.fail("images", "images.%s %q is not a pin: latest moves with every release; use a version tag (like %s) or a digest (name@sha256:<digest>)", f.key, f.ref, pins[f.key])
		}
	}
}

func checkPort(l *loader, key string, p int) {
	if p < 1 || p > 65535 {
		l.fail(key, "%d is not a TCP port; use 1-65535", p)
	}
}

func checkHostPorts(l *loader, hp HostPorts) {
	used := map[int]string{}
	for _, p := range []struct {
		name string
		port int
	}{{"temporal", hp.Temporal}, {"ui", hp.UI}, {"postgres", hp.Postgres}, {"worker", hp.Worker}, {"prometheus", hp.Prometheus}, {"grafana", hp.Grafana}} {
		if p.port == 0 {
			continue
		}
		if p.port < 1 || p.port > 65535 {
			l.fail("hostPorts", "%s: %d is not a TCP port; use 1-65535, or 0 to keep it unpublished", p.name, p.port)
			continue
		}
		if other, clash := used[p.port]; clash {
			l.fail("hostPorts", "%s and %s both want host port %d; give one of them another port", other, p.name, p.port)
			continue
		}
		used[p.port] = p.name
	}
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$`)

// MaxNamespaceRetention is the longest namespaceRetention the kit accepts:
// a year of closed workflows' histories already outweighs the rest of the
// database on the VPS the kit sizes for.
const MaxNamespaceRetention = 365 * 24 * time.Hour

var errRetentionTooLong = errors.New("day count too large for a duration")

// ParseRetention accepts Go durations plus a whole-day suffix ("30d").
// A day count too large for a duration is refused, not wrapped around.
func ParseRetention(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, errors.New("bad day count")
		}
		if int64(n) > math.MaxInt64/int64(24*time.Hour) {
			return 0, errRetentionTooLong
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// FormatRetentionDays renders a whole-day retention as namespaceRetention takes it.
func FormatRetentionDays(d time.Duration) string {
	return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
