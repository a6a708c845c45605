package stacks

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The enrichment worker: Temporal worker and job API in one binary (worker/).
const (
	ServiceWorker    = "worker"
	PortWorkerAPI    = 8000
	SecretSerpAPIKey = "serpApiKey"
	// WorkerDatabase is the pipeline's results database, created by the worker itself.
	WorkerDatabase  = "ampledata"
	WorkerTaskQueue = "enrichment"
	workerShutdown  = 30 * time.Second
)

// Worker is the worker part of the stack config.
type Worker struct {
	// SerpAPIURL is the base URL of the Serper-style search API.
	SerpAPIURL string
	// SerpKeySet tells whether serpApiKey is in the config; without it the
	// worker enriches only rows that carry a domain.
	SerpKeySet bool
	// Env is extra plain environment (HTTP_PROXY, tuning knobs) for the worker.
	Env map[string]string
	// JobLimits bound one uploaded job file.
	JobLimits JobLimits
	// FetchAllowCIDRs are non-public networks the worker may fetch pages
	// from (workerFetchAllowCidrs, FETCH_ALLOW_CIDRS): test fixtures only.
	FetchAllowCIDRs []string
}

// envFetchAllow is the worker's variable for Worker.FetchAllowCIDRs.
const envFetchAllow = "FETCH_ALLOW_CIDRS"

func loadWorker(l *loader) Worker {
	w := Worker{SerpAPIURL: l.str("serpApiUrl", "https://google.serper.dev")}
	// The worker appends /search to it: a relative or host-less URL would
	// only fail later, inside the container.
	if u, err := url.Parse(w.SerpAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		l.fail("serpApiUrl", "%q is not an absolute http(s) URL with a host; write it like https://google.serper.dev (the default)", w.SerpAPIURL)
	}
	if v, ok := l.secret("serpApiKey"); ok && v != "" {
		w.SerpKeySet = true
	}
	w.Env = envMap(l, "workerEnv")
	for k := range w.Env {
		switch k {
		case "PGPASSWORD", "SERP_API_KEY", "PGPASSWORD_FILE", "SERP_API_KEY_FILE":
			l.fail("workerEnv", "%s is a secret; set it with `pulumi config set --secret %s:%s` instead", k, Namespace, map[string]string{"PGPASSWORD": "postgresPassword", "SERP_API_KEY": "serpApiKey", "PGPASSWORD_FILE": "postgresPassword", "SERP_API_KEY_FILE": "serpApiKey"}[k])
		case envFetchAllow:
			l.fail("workerEnv", "%s opens the worker's fetches to private networks; set it with workerFetchAllowCidrs, which checks each CIDR", k)
		}
		if key, ok := jobLimitKey(k); ok {
			l.fail("workerEnv", "%s has its own key; set it with `pulumi config set %s:%s <value>` instead", k, Namespace, key)
		}
	}
	w.JobLimits = loadJobLimits(l)
	w.FetchAllowCIDRs = loadFetchAllow(l)
	return w
}

// loadFetchAllow reads workerFetchAllowCidrs, the networks of test fixtures
// the worker may fetch from although they are not public. Every entry opens
// a hole in the worker's SSRF guard, so the whole internet, the metadata
// service's link-local range and IPv4-mapped forms are refused outright.
func loadFetchAllow(l *loader) []string {
	const key = "workerFetchAllowCidrs"
	v, ok := l.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return nil
	}
	var raw []string
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		l.fail(key, "%q is not a list of CIDRs; set each entry with `pulumi config set --path '%s:%s[0]' 172.28.0.0/16` (test stacks only)", v, Namespace, key)
		return nil
	}
	metadata := netip.MustParseAddr("169.254.169.254")
	var out []string
	for _, s := range raw {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		switch {
		case err != nil:
			l.fail(key, "%q is not a CIDR; write the fixtures' network like 172.28.0.0/16", s)
		case p != p.Masked():
			l.fail(key, "%q has host bits set; write the network, %s", s, p.Masked())
		case p.Addr().Is4In6() || p.Addr().Zone() != "":
			l.fail(key, "%q: write a plain IPv4 or IPv6 prefix (no IPv4-mapped form, no zone)", s)
		case p.Bits() == 0:
			l.fail(key, "%q is the whole internet; list only the test fixtures' network", s)
		case p.Contains(metadata) || p.Addr().IsLinkLocalUnicast():
			l.fail(key, "%q covers link-local addresses, where the cloud metadata service answers; list only the test fixtures' network", s)
		default:
			out = append(out, p.String())
		}
	}
	return out
}

func worker(c Config, pgHost string, pgDeps []Dependency) Service {
	env := []EnvVar{
		{Name: "TEMPORAL_ADDRESS", Value: temporalAddress()},
		{Name: "TEMPORAL_NAMESPACE", Value: c.Namespace},
		{Name: "TEMPORAL_TASK_QUEUE", Value: WorkerTaskQueue},
		{Name: "PGHOST", Value: pgHost},
		{Name: "PGPORT", Value: strconv.Itoa(c.Postgres.Port)},
		{Name: "PGUSER", Value: c.Postgres.User},
		{Name: "PGPASSWORD_FILE", Value: SecretPath(SecretPostgresPassword)},
		{Name: "PGDATABASE", Value: WorkerDatabase},
		{Name: "SERP_API_URL", Value: c.Worker.SerpAPIURL},
		{Name: "API_ADDR", Value: ":" + strconv.Itoa(PortWorkerAPI)},
		{Name: "SHUTDOWN_TIMEOUT", Value: workerShutdown.String()},
	}
	if c.Worker.SerpKeySet {
		env = append(env, EnvVar{Name: "SERP_API_KEY_FILE", Value: SecretPath(SecretSerpAPIKey)})
	}
	env = append(env, c.Worker.JobLimits.env()...)
	if len(c.Worker.FetchAllowCIDRs) > 0 {
		env = append(env, EnvVar{Name: envFetchAllow, Value: strings.Join(c.Worker.FetchAllowCIDRs, ",")})
	}
	for _, k := range sortedKeys(c.Worker.Env) {
		env = append(env, EnvVar{Name: k, Value: c.Worker.Env[k]})
	}
	return Service{
		Name:  ServiceWorker,
		Kind:  LongRunning,
		Image: c.Images.Worker,
		Env:   env,
		Ports: publish(c, "worker", "api", PortWorkerAPI),
		// Readiness, not liveness: healthy means the job API takes jobs (its
		// PostgreSQL and Temporal answer), so whatever waits for the worker
		// (Pulumi's wait, a test) can use it at once. A dependency's outage
		// shows here without killing in-flight work: the stack alerts on it,
		// docker-gate never restarts it.
		Health:    alertOnly(serviceHealth(PortWorkerAPI, "/readyz", 30*time.Second)),
		DependsOn: append([]Dependency{{Service: ServiceNamespace, Condition: Completed}}, pgDeps...),
		// SIGTERM stops polling; in-flight activities get SHUTDOWN_TIMEOUT, Docker a margin on top.
		StopSignal:  "SIGTERM",
		StopTimeout: workerShutdown + 15*time.Second,
	}
}

// envMap reads an object of env values. `pulumi config set --path key.NAME 8`
// stores 8 as a number (true as a bool): env values are text, so scalars
// are taken as the text they were written as; nested values are refused.
func envMap(l *loader, key string) map[string]string {
	var raw map[string]json.RawMessage
	l.object(key, &raw)
	if raw == nil {
		return nil
	}
	env := make(map[string]string, len(raw))
	for name, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			env[name] = s
			continue
		}
		var scalar any
		if err := json.Unmarshal(v, &scalar); err == nil {
			switch scalar.(type) {
			case float64, bool:
				env[name] = string(v)
				continue
			}
		}
		l.fail(key, "%s: %s is not a text value; env values are strings (`pulumi config set --path %s:%s.%s <value>`)", name, v, Namespace, key, name)
	}
	return env
}
