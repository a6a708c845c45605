package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	promparser "github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/ampledata/temporal-kit/prometheus/promconfig"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

// TestObservability runs the dev Definition with Prometheus, Alertmanager and
// the exporters, with short intervals (the stack config's defaults stay for
// real stacks): after a job every scrape target is up and the metrics the
// alert rules read are there; the worker stopped fires TargetDown, which
// Alertmanager delivers to a webhook on the stack network (the fixture
// server), and the worker started again resolves it.
func TestObservability(t *testing.T) {
	stacktest.RequireDocker(t)
	src := stacks.MapSource{"imageCatalog": stacks.CatalogLocal}
	for k, v := range fixtureConfig(nil) {
		src[k] = v
	}
	src["alertWebhookUrl"] = fixturesvc.URL + fixture.WebhookPath
	src["alertThresholds"] = `{"targetDownFor": "10s", "noPollersFor": "10s"}`
	cfg, err := stacks.LoadConfig("dev", src)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Observability.Warning(); w != "" {
		t.Errorf("a webhook receiver is set, yet: %s", w)
	}
	o := &cfg.Observability
	o.ScrapeInterval, o.ScrapeTimeout, o.EvaluationInterval = "2s", "2s", "2s"
	o.Alerting.GroupWait, o.Alerting.GroupInterval, o.Alerting.RepeatInterval = "1s", "5s", "1h"
	def, err := stacks.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := stacktest.Start(t, def, stacktest.With(fixturesvc.Service(0)))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	time.Sleep(10 * time.Second) // settle: idle figures
	logMemory(t, ctx, st, "idle, with observability")

	prom := "http://" + st.Endpoint(stacks.ServicePrometheus, stacks.PortPrometheus)
	hooks := "http://" + st.Endpoint(fixturesvc.Name, fixturesvc.Port) + fixture.WebhookPath

	// A job, so the pipeline's and the SDK's metrics exist.
	rows := fixture.MixedRows(1, 4)
	id := submit(ctx, t, st, rows)
	v := waitComplete(ctx, t, st, id)
	t.Logf("job of %d rows: %d ok, %d failed", len(rows), v.OK, v.Failed)
	// A backup, so the backup service's per-database metrics exist, and a
	// scrape that holds them.
	t.Logf("backup %s taken", backupNow(ctx, t, st))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		n, err := seriesCount(ctx, prom, `kit_backup_last_success_timestamp_seconds{target="local"}`)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no kit_backup_last_success_timestamp_seconds in Prometheus 30s after a backup")
		}
	}

	t.Run("every scrape target is up", func(t *testing.T) {
		want := []string{stacks.ServiceAlertmanager, stacks.ServiceBackup, stacks.ServiceContainerMetrics, stacks.ServiceDockerGate, stacks.ServiceNodeExporter, stacks.ServicePostgresExporter,
			stacks.ServicePrometheus, stacks.ServiceTemporal, stacks.ServiceWorker}
		var last string
		deadline := time.Now().Add(60 * time.Second)
		for {
			targets, err := activeTargets(ctx, prom)
			if err != nil {
				t.Fatal(err)
			}
			var jobs, down []string
			for _, tg := range targets {
				jobs = append(jobs, tg.Labels["job"])
				if tg.Health != "up" {
					down = append(down, fmt.Sprintf("%s (%s: %s)", tg.Labels["job"], tg.Health, tg.LastError))
				}
			}
			sort.Strings(jobs)
			last = fmt.Sprintf("jobs %v, not up: %v", jobs, down)
			if slices.Equal(jobs, want) && len(down) == 0 {
				t.Logf("FIGURE scrape targets up: %d of %d (%s)", len(targets), len(want), strings.Join(jobs, ", "))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("targets not all up within 60s: %s", last)
			}
			time.Sleep(2 * time.Second)
		}
	})

	t.Run("the metrics the alert rules read are exported", func(t *testing.T) {
		names, err := metricNames(ctx, prom)
		if err != nil {
			t.Fatal(err)
		}
		// Counters that exist only once something went wrong.
		onlyOnFailure := map[string]string{
			"service_errors":     "Temporal creates it at the first failed request",
			"persistence_errors": "Temporal creates it at the first failed database call",
			"temporal_workflow_task_execution_failed_total": "the SDK creates it at the first failed workflow task",
		}
		used := ruleMetrics(t)
		proven := 0
		for _, m := range used {
			switch {
			case names[m]:
				proven++
			case onlyOnFailure[m] != "":
				t.Logf("FIGURE rule metric %s: absent in a healthy stack (%s)", m, onlyOnFailure[m])
			default:
				t.Errorf("rule metric %s is not exported by the live stack", m)
			}
		}
		t.Logf("FIGURE rule metrics exported by the live stack: %d of %d", proven, len(used))
		// The labels the rules select on, with the values they expect.
		for q, what := range map[string]string{
			`service_requests{service_name="frontend"}`:                               "frontend requests by service_name",
			`temporal_num_pollers{task_queue=~"` + promconfig.TaskQueuePattern + `"}`: "pollers of the enrichment task queues",
			`enrichment_rows_total{stage="extract", outcome="ok"}`:                    "rows extracted",
			`pg_up == 1`: "PostgreSQL through the monitoring role",
			`container_spec_memory_limit_bytes{service="worker"}`:                "the worker's memory limit",
			`container_health_status{service="temporal", status="healthy"} == 1`: "Temporal's health, read through docker-gate",
			`container_info{service="temporal", kind="service"}`:                 "the kind ContainerNotRunning selects on",
			`kit_docker_gate_restarts_total{service="temporal"} == 0`:            "the gate's restart counter of a restartable service, from 0",
			`node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}`:                "the host's filesystems",
		} {
			n, err := seriesCount(ctx, prom, q)
			if err != nil || n == 0 {
				t.Errorf("%s (%s): %d series, %v", q, what, n, err)
			}
		}
		worker, _ := st.Def.Service(stacks.ServiceWorker)
		if n, err := seriesCount(ctx, prom, fmt.Sprintf(`container_spec_memory_limit_bytes{service="worker"} == %d`, int64(worker.MemoryMB)<<20)); err != nil || n != 1 {
			t.Errorf("container-exporter does not report the worker's limit of %d MiB: %d series, %v", worker.MemoryMB, n, err)
		}
	})

	t.Run("rules evaluate and nothing fires in a healthy stack", func(t *testing.T) {
		bad, err := ruleHealth(ctx, prom)
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Errorf("rules failing to evaluate: %v", bad)
		}
		firing, err := firingAlerts(ctx, prom)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range firing {
			switch a {
			case "HostDiskLowFree", "HostDiskFullIn24h": // the test machine's disk, not the stack's doing
				t.Logf("firing on this machine: %s", a)
			default:
				t.Errorf("alert %s fires in a healthy stack", a)
			}
		}
	})

	t.Run("worker down: alert delivered, then resolved", func(t *testing.T) {
		before, err := deliveries(ctx, hooks)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		if err := st.Stop(ctx, stacks.ServiceWorker); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		firing := waitDelivery(ctx, t, hooks, len(before), "firing", 3*time.Minute)
		t.Logf("FIGURE worker-down alert delivered to the webhook %s after the worker stopped (%s after the stop began; targetDownFor 10s, scrape/eval 2s, group_wait 1s)",
			firing.Sub(stopped).Round(100*time.Millisecond), firing.Sub(began).Round(100*time.Millisecond))

		// NoPollers fires too, but TargetDown of the worker holds it back.
		time.Sleep(15 * time.Second)
		all, _ := deliveries(ctx, hooks)
		for _, d := range all[len(before):] {
			if strings.Contains(string(d.Body), "EnrichmentNoPollers") {
				t.Errorf("EnrichmentNoPollers was delivered while the worker's target is down (not inhibited): %s", d.Body)
			}
		}
		if a, _ := firingAlerts(ctx, prom); !slices.Contains(a, "EnrichmentNoPollers") {
			t.Logf("EnrichmentNoPollers not firing in Prometheus yet: %v", a)
		}

		n := len(all)
		restarted := time.Now()
		if err := st.Start(ctx, stacks.ServiceWorker); err != nil {
			t.Fatal(err)
		}
		resolved := waitDelivery(ctx, t, hooks, n, "resolved", 3*time.Minute)
		t.Logf("FIGURE worker-down alert resolved at the webhook %s after the worker was started again", resolved.Sub(restarted).Round(100*time.Millisecond))
	})

	logMemory(t, ctx, st, "after the job and the alert, with observability")
}

type target struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

func promGet(ctx context.Context, base, path string, q url.Values, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	c := http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, q, env.Error)
	}
	return json.Unmarshal(env.Data, into)
}

func activeTargets(ctx context.Context, prom string) ([]target, error) {
	var d struct {
		ActiveTargets []target `json:"activeTargets"`
	}
	err := promGet(ctx, prom, "/api/v1/targets", url.Values{"state": {"active"}}, &d)
	return d.ActiveTargets, err
}

func metricNames(ctx context.Context, prom string) (map[string]bool, error) {
	var names []string
	if err := promGet(ctx, prom, "/api/v1/label/__name__/values", url.Values{}, &names); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

func seriesCount(ctx context.Context, prom, query string) (int, error) {
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	err := promGet(ctx, prom, "/api/v1/query", url.Values{"query": {query}}, &d)
	return len(d.Result), err
}

func ruleHealth(ctx context.Context, prom string) ([]string, error) {
	var d struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := promGet(ctx, prom, "/api/v1/rules", url.Values{}, &d); err != nil {
		return nil, err
	}
	var bad []string
	n := 0
	for _, g := range d.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				bad = append(bad, r.Name+": "+r.LastError)
			}
		}
	}
	if n < 15 {
		bad = append(bad, fmt.Sprintf("only %d rules loaded", n))
	}
	return bad, nil
}

func firingAlerts(ctx context.Context, prom string) ([]string, error) {
	var d struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := promGet(ctx, prom, "/api/v1/alerts", url.Values{}, &d); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range d.Alerts {
		if a.State == "firing" {
			out = append(out, a.Labels["alertname"])
		}
	}
	return out, nil
}

// ruleMetrics are the metric names the default rules select.
func ruleMetrics(t *testing.T) []string {
	t.Helper()
	files, err := promconfig.RuleFiles(promconfig.DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	p := promparser.NewParser(promparser.Options{})
	set := map[string]bool{}
	for _, content := range files {
		var f struct {
			Groups []struct {
				Rules []struct {
					Expr string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal([]byte(content), &f); err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				expr, err := p.ParseExpr(r.Expr)
				if err != nil {
					t.Fatal(err)
				}
				promparser.Inspect(expr, func(n promparser.Node, _ []promparser.Node) error {
					if vs, ok := n.(*promparser.VectorSelector); ok && vs.Name != "" {
						set[vs.Name] = true
					}
					return nil
				})
			}
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
}

func deliveries(ctx context.Context, hooks string) ([]fixture.Delivery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hooks, nil)
	if err != nil {
		return nil, err
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s (a fixture-server image without the webhook? rebuild it: go run ./infra/images/cmd/kit-images build fixture-server)", hooks, resp.Status)
	}
	var out []fixture.Delivery
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

var workerTargetDown = regexp.MustCompile(`"alertname":"TargetDown"`)

// waitDelivery waits for an Alertmanager notification after the first skip
// deliveries whose status is status and that carries TargetDown for the
// worker; it returns when the webhook received it.
func waitDelivery(ctx context.Context, t *testing.T, hooks string, skip int, status string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := deliveries(ctx, hooks)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list[min(skip, len(list)):] {
			var msg struct {
				Status string `json:"status"`
				Alerts []struct {
					Status string            `json:"status"`
					Labels map[string]string `json:"labels"`
				} `json:"alerts"`
			}
			if err := json.Unmarshal(d.Body, &msg); err != nil || !workerTargetDown.Match(d.Body) {
				continue
			}
			for _, a := range msg.Alerts {
				if a.Status == status && a.Labels["alertname"] == "TargetDown" && a.Labels["job"] == stacks.ServiceWorker {
					return d.ReceivedAt
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s TargetDown{job=worker} delivered within %s; deliveries: %d", status, timeout, len(list))
		}
		time.Sleep(time.Second)
	}
}
