// Package config reads the worker's settings from the environment and
// validates them, so a bad deploy fails at start with the variable to fix.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/netguard"
)

// Config is everything the worker binary needs. Secrets (PGPassword,
// SerpAPIKey) are never printed: String() masks them.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string

	PGHost     string
	PGPort     int
	PGUser     string
	PGPassword string
	PGDatabase string

	SerpAPIURL string
	// SerpAPIKey is optional: without it only rows that carry a domain are
	// enriched, the others are stored as failed with class serp_not_configured.
	SerpAPIKey string

	APIAddr         string
	ShutdownTimeout time.Duration
	LogLevel        string

	// Tuning: see README.md for how they relate.
	BatchSize         int           // rows per batch activity
	BatchParallelism  int           // batches of one job in flight at once
	BatchesPerRun     int           // batches before the job workflow continues as new
	RowAttempts       int           // tries a row failing transiently gets before it is stored as failed
	ActivitySlots     int           // concurrent batch activities per worker and queue
	SearchConcurrency int           // concurrent SERP calls per worker
	SerpRatePerSecond float64       // SERP calls per second across all workers (0: unlimited)
	SerpTimeout       time.Duration // one SERP call
	FetchConcurrency  int           // concurrent rows in the fetch stage per worker
	FetchPerDomain    int           // concurrent requests to one host
	FetchTimeout      time.Duration // one page, headers and body
	FetchMaxBytes     int64         // body cap per page; longer bodies are truncated
	FetchMaxPages     int           // pages per site (home page + contact/about pages)
	UserAgent         string
	// FetchAllow lists non-public networks the fetcher may reach anyway
	// (FETCH_ALLOW_CIDRS): test fixtures only, empty in production.
	FetchAllow []netip.Prefix

	// Job file limits (POST /jobs): see jobapi.LimitSettings.
	JobMaxBytes     int64 // request body
	JobMaxRows      int   // data records
	JobMaxColumns   int   // header fields
	JobMaxLineBytes int   // one record
	// Proxy is the fetcher's proxy choice, from HTTP_PROXY/HTTPS_PROXY/NO_PROXY.
	Proxy func(*http.Request) (*url.URL, error) `json:"-"`
}

// Getenv is how Load reads variables; tests pass a map's lookup.
type Getenv func(string) (string, bool)

// ReadFile is how Load reads the files named by PGPASSWORD_FILE and
// SERP_API_KEY_FILE; tests pass a fake instead of touching the disk.
type ReadFile func(path string) ([]byte, error)

// FromEnv loads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load reads and validates every variable and reports all problems at once.
// Secret files are read from the real file system.
func Load(get Getenv) (Config, error) { return LoadWith(get, os.ReadFile) }

// LoadWith is Load with the secret files read through read.
func LoadWith(get Getenv, read ReadFile) (Config, error) {
	p := parser{get: get, read: read}
	c := Config{
		TemporalAddress:   p.str("TEMPORAL_ADDRESS", "localhost:7233"),
		TemporalNamespace: p.str("TEMPORAL_NAMESPACE", "ampledata"),
		TaskQueue:         p.str("TEMPORAL_TASK_QUEUE", "enrichment"),
		PGHost:            p.str("PGHOST", "localhost"),
		PGPort:            p.intRange("PGPORT", 5432, 1, 65535),
		PGUser:            p.str("PGUSER", "postgres"),
		PGPassword:        p.secret("PGPASSWORD"),
		PGDatabase:        p.str("PGDATABASE", "ampledata"),
		SerpAPIURL:        p.str("SERP_API_URL", "https://google.serper.dev"),
		SerpAPIKey:        p.secret("SERP_API_KEY"),
		APIAddr:           p.str("API_ADDR", ":8000"),
		ShutdownTimeout:   p.duration("SHUTDOWN_TIMEOUT", 30*time.Second, time.Second, time.Hour),
		LogLevel:          strings.ToLower(p.str("LOG_LEVEL", "info")),

		BatchSize:         p.intRange("BATCH_SIZE", 1000, 1, 5000),
		BatchParallelism:  p.intRange("BATCH_PARALLELISM", 4, 1, 1000),
		BatchesPerRun:     p.intRange("BATCHES_PER_RUN", 100, 1, 2000),
		RowAttempts:       p.intRange("ROW_ATTEMPTS", 5, 1, 100),
		ActivitySlots:     p.intRange("ACTIVITY_SLOTS", 16, 1, 1000),
		SearchConcurrency: p.intRange("SEARCH_CONCURRENCY", 64, 1, 10000),
		SerpRatePerSecond: p.float("SERP_RATE_LIMIT", 0),
		SerpTimeout:       p.duration("SERP_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute),
		FetchConcurrency:  p.intRange("FETCH_CONCURRENCY", 64, 1, 10000),
		FetchPerDomain:    p.intRange("FETCH_PER_DOMAIN", 2, 1, 100),
		FetchTimeout:      p.duration("FETCH_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute),
		FetchMaxBytes:     int64(p.intRange("FETCH_MAX_BYTES", 1<<20, 1024, 64<<20)),
		FetchMaxPages:     p.intRange("FETCH_MAX_PAGES", 2, 1, 20),
		UserAgent:         p.str("USER_AGENT", "ampledata-enrichment/1.0 (+https://ampledata.example/bot)"),

		JobMaxBytes:     int64(p.intRange("JOB_MAX_BYTES", jobcsv.DefaultMaxBytes, 1<<10, 1<<30)),
		JobMaxRows:      p.intRange("JOB_MAX_ROWS", jobcsv.DefaultMaxRows, 1, 10_000_000),
		JobMaxColumns:   p.intRange("JOB_MAX_COLUMNS", jobcsv.DefaultMaxColumns, 1, 1000),
		JobMaxLineBytes: p.intRange("JOB_MAX_LINE_BYTES", jobcsv.DefaultMaxLineBytes, 1<<10, 16<<20),
	}
	p.checkValues(c)
	p.checkProxies()
	if allow, err := netguard.ParseCIDRs(p.str("FETCH_ALLOW_CIDRS", "")); err != nil {
		p.fail("FETCH_ALLOW_CIDRS", "%v; it lists the test fixtures' networks, comma-separated (leave it unset in production)", err)
	} else {
		c.FetchAllow = allow
	}
	c.Proxy = ProxyFromEnv(get)
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// checkValues checks the values whose form the parser alone does not.
func (p *parser) checkValues(c Config) {
	if u, err := url.Parse(c.SerpAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail("SERP_API_URL", "%q is not an http(s) base URL; use e.g. https://google.serper.dev", c.SerpAPIURL)
	}
	if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
		p.fail("TEMPORAL_ADDRESS", "%q is not host:port; use e.g. temporal:7233", c.TemporalAddress)
	}
	if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
		p.fail("API_ADDR", "%q is not [host]:port; use e.g. :8000", c.APIAddr)
	}
	for k, v := range map[string]string{"TEMPORAL_NAMESPACE": c.TemporalNamespace, "TEMPORAL_TASK_QUEUE": c.TaskQueue, "PGHOST": c.PGHost, "PGUSER": c.PGUser, "PGDATABASE": c.PGDatabase} {
		if v == "" {
			p.fail(k, "is empty; unset it to use the default or give a value")
		}
	}
	if !validIdent(c.PGDatabase) {
		p.fail("PGDATABASE", "%q: use letters, digits and _ only (the worker creates this database)", c.PGDatabase)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.fail("LOG_LEVEL", "%q: use debug, info, warn or error", c.LogLevel)
	}
	if c.SerpRatePerSecond < 0 {
		p.fail("SERP_RATE_LIMIT", "must be >= 0 (calls per second; 0 means no limit)")
	}
}

// checkProxies checks the proxy variables ProxyFromEnv reads.
func (p *parser) checkProxies() {
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if v, ok := p.get(name); ok && strings.TrimSpace(v) != "" {
			if u, err := url.Parse(strings.TrimSpace(v)); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
				p.fail(name, "%q is not a proxy URL; use e.g. http://fixtures:8080", v)
			}
		}
	}
}

// ProxyFromEnv reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case) like
// http.ProxyFromEnvironment, but from get, and afresh on every call.
func ProxyFromEnv(get Getenv) func(*http.Request) (*url.URL, error) {
	env := func(names ...string) string {
		for _, n := range names {
			if v, ok := get(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	pc := &httpproxy.Config{
		HTTPProxy:  env("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: env("HTTPS_PROXY", "https_proxy"),
		NoProxy:    env("NO_PROXY", "no_proxy"),
	}
	f := pc.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return f(r.URL) }
}

// PostgresURL is the pgx connection string for database db. The password is
// in it: never log the result.
func (c Config) PostgresURL(db string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(c.PGHost, strconv.Itoa(c.PGPort)), Path: "/" + db}
	if c.PGPassword != "" {
		u.User = url.UserPassword(c.PGUser, c.PGPassword)
	} else {
		u.User = url.User(c.PGUser)
	}
	return u.String()
}

// String shows the configuration with secrets masked, for the start-up log.
func (c Config) String() string {
	mask := func(s string) string {
		if s == "" {
			return "(unset)"
		}
		return "(set)"
	}
	return fmt.Sprintf("temporal=%s namespace=%s queue=%s pg=%s@%s:%d/%s pgpassword=%s serp=%s serpkey=%s api=%s batch=%d parallel=%d",
		c.TemporalAddress, c.TemporalNamespace, c.TaskQueue, c.PGUser, c.PGHost, c.PGPort, c.PGDatabase, mask(c.PGPassword),
		c.SerpAPIURL, mask(c.SerpAPIKey), c.APIAddr, c.BatchSize, c.BatchParallelism)
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

type parser struct {
	get  Getenv
	read ReadFile
	errs []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (p *parser) str(name, def string) string {
	if v, ok := p.get(name); ok {
		return strings.TrimSpace(v)
	}
	return def
}

// secret reads name, or the file named by name_FILE: the official postgres
// image's convention, so Docker and Kubernetes secret files work without a
// wrapper script. Like that image, an empty variable counts as unset. No
// message ever carries the secret.
func (p *parser) secret(name string) string {
	fileVar := name + "_FILE"
	path, _ := p.get(fileVar)
	path = strings.TrimSpace(path)
	if path == "" {
		return p.str(name, "")
	}
	if v, _ := p.get(name); strings.TrimSpace(v) != "" {
		p.fail(fileVar, "and %s are both set; unset one of them (%s holds the secret, %s names a file holding it)", name, name, fileVar)
		return ""
	}
	return p.secretFile(fileVar, path)
}

// secretFile returns the content of the file at path with one trailing
// newline trimmed: editors and echo add it, anything else may be the secret.
func (p *parser) secretFile(fileVar, path string) string {
	b, err := p.read(path)
	if err != nil {
		p.fail(fileVar, "%q cannot be read (%s); mount the secret file at that path or point %s at it", path, cause(err), fileVar)
		return ""
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		p.fail(fileVar, "%q is empty; write the secret into it or unset %s", path, fileVar)
	}
	return s
}

// cause drops the path a file system error repeats, so the message names it
// once.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (p *parser) intRange(name string, def, lo, hi int) int {
	return parsed(p, name, def, strconv.Atoi, func(n int) bool { return n >= lo && n <= hi },
		fmt.Sprintf("want a whole number from %d to %d (default %d)", lo, hi, def))
}

func (p *parser) float(name string, def float64) float64 {
	parse := func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	return parsed(p, name, def, parse, func(float64) bool { return true }, fmt.Sprintf("want a number (default %g)", def))
}

func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	return parsed(p, name, def, time.ParseDuration, func(d time.Duration) bool { return d >= lo && d <= hi },
		fmt.Sprintf("want a Go duration from %s to %s, e.g. %s", lo, hi, def))
}

// parsed reads name with parse; unset or blank is def. A value parse
// refuses or in rejects is a problem that says what the variable wants.
func parsed[T any](p *parser, name string, def T, parse func(string) (T, error), in func(T) bool, want string) T {
	v, ok := p.get(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	x, err := parse(strings.TrimSpace(v))
	if err != nil || !in(x) {
		p.fail(name, "%q: %s", v, want)
		return def
	}
	return x
}
