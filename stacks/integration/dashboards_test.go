package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/grafana-dashboards/generator"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// exception is a dashboard query that may return nothing in a healthy
// stack after a job: it counts something that does not happen there (an
// error, a failure, a continue-as-new), and the Temporal server or SDK
// creates a series only when the thing first happens. So that a misspelled
// name cannot hide here, the metric must be a string of the binary that
// emits it (Go folds the SDK's name constants, so the whole name is there).
type exception struct {
	reason string
	// binary is the program that emits metric (its container runs it).
	service, binary, metric string
}

var (
	serverMetric = func(metric, reason string) exception {
		return exception{reason, stacks.ServiceTemporal, "temporal-server", metric}
	}
	sdkMetric = func(metric, reason string) exception {
		return exception{reason, stacks.ServiceWorker, "worker", metric}
	}
)

// dashboardExceptions, keyed by Query.String(). Every other query must
// return data.
var dashboardExceptions = map[string]exception{
	"temporal-kit-server / Errors by operation / A":               serverMetric("service_errors", "no request fails in a healthy run"),
	"temporal-kit-server / Workflow outcomes / B":                 serverMetric("workflow_continued_as_new", "the test job (200 rows) stays within one run: continue-as-new comes every BATCHES_PER_RUN (100) batches"),
	"temporal-kit-server / Workflow outcomes / C":                 serverMetric("workflow_failed", "no workflow fails in a healthy run"),
	"temporal-kit-server / Workflow outcomes / D":                 serverMetric("workflow_timeout", "no workflow times out in a healthy run"),
	"temporal-kit-server / Workflow outcomes / E":                 serverMetric("workflow_terminate", "no workflow is terminated in a healthy run"),
	"temporal-kit-server / Workflow outcomes / F":                 serverMetric("workflow_cancel", "no job is cancelled in this run"),
	"temporal-kit-server / Tasks without a poller / A":            serverMetric("no_poller_tasks", "the worker polls every queue it is sent tasks on"),
	"temporal-kit-server / Persistence errors by operation / A":   serverMetric("persistence_errors", "PostgreSQL answers every call in a healthy run"),
	"temporal-kit-server / Shard ownership lost / A":              serverMetric("service_errors_shard_ownership_lost", "one history host owns every shard"),
	"temporal-kit-workers / Workflow task failures by reason / A": sdkMetric("temporal_workflow_task_execution_failed", "no workflow task fails (no non-determinism) in a healthy run"),
	"temporal-kit-workers / Workflows completed / B":              sdkMetric("temporal_workflow_continue_as_new", "the test job stays within one run (see above)"),
	"temporal-kit-workers / SDK request failures / A":             sdkMetric("temporal_request_failure", "no worker call to the frontend fails in a healthy run"),
	"temporal-kit-backups / Checksums checked on the host / A":    {"the dev stack's backups are not encrypted (no backupAgeRecipients): the scheduled check restores them instead", stacks.ServiceBackup, "kit-backup", "kit_backup_last_checksum_check_timestamp_seconds"},
}

// proveDashboards runs every query of every dashboard against the stack's
// live Prometheus as Grafana would for a panel showing the time since
// since: a range query, step = scrape interval, $__rate_interval as Grafana
// computes it. Each query must return at least one series, except the
// listed exceptions; the count and each exception are printed.
func proveDashboards(ctx context.Context, t *testing.T, st *stacktest.Stack, since time.Time, scrape time.Duration) {
	all, err := generator.All()
	if err != nil {
		t.Fatal(err)
	}
	qs, err := generator.Queries(all)
	if err != nil {
		t.Fatal(err)
	}
	prom := "http://" + st.Endpoint(stacks.ServicePrometheus, stacks.PortPrometheus)
	step := scrape
	rate := generator.RateInterval(scrape, step)

	// Counters show up in a rate once two scrapes hold them: retry the
	// empty ones for a few scrape intervals before judging.
	empty := map[string]bool{}
	series := map[string]int{}
	deadline := time.Now().Add(8 * scrape)
	for {
		end := time.Now()
		clear(empty)
		for _, q := range qs {
			expr := generator.Substitute(q.Expr, promDuration(rate))
			n, err := queryRange(ctx, prom, expr, since, end, step)
			if err != nil {
				t.Fatalf("%s: %s: %v", q, expr, err)
			}
			series[q.String()] = n
			if n == 0 {
				empty[q.String()] = true
			}
		}
		unexpected := 0
		for k := range empty {
			if _, ok := dashboardExceptions[k]; !ok {
				unexpected++
			}
		}
		if unexpected == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(scrape):
		}
	}

	proven, excused := 0, 0
	for _, q := range qs {
		k := q.String()
		reason, excepted := dashboardExceptions[k]
		switch {
		case !empty[k]:
			proven++
			if excepted {
				t.Logf("exception not needed this run, it returned %d series: %s (%s)", series[k], k, reason.reason)
			}
		case excepted:
			// The name must be what the emitting binary knows.
			code, out, err := st.Exec(ctx, reason.service, "sh", "-c", `grep -a -q -F "$0" "$(command -v "$1")"`, reason.metric, reason.binary)
			if err != nil || code != 0 {
				t.Errorf("exception %s: metric %s is not a string of %s in the %s container (code %d, %v %s): misspelled?", k, reason.metric, reason.binary, reason.service, code, err, out)
				continue
			}
			excused++
			t.Logf("EXCEPTION %s: no series: %s (%s is a metric of %s)", k, reason.reason, reason.metric, reason.binary)
		default:
			t.Errorf("no data: %s\n    %s\n    (rename the metric or the label to what the stack exports, or, when a healthy stack cannot produce it, list it in dashboardExceptions with the reason)", k, q.Expr)
		}
	}
	t.Logf("FIGURE dashboard queries proven to return data from the live Prometheus: %d of %d (%d dashboards; %d exceptions listed above; $__rate_interval = %s, step %s)",
		proven, len(qs), len(all), excused, rate, step)
}

// queryRange runs a PromQL range query and returns the number of series.
func queryRange(ctx context.Context, prom, expr string, start, end time.Time, step time.Duration) (int, error) {
	form := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, prom+"/api/v1/query_range", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, body.ErrorType, body.Error)
	}
	return len(body.Data.Result), nil
}

// promDuration writes d the way PromQL ranges take it.
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// scrapeInterval is the stack's Prometheus scrape interval, from its config.
func scrapeInterval(t *testing.T) time.Duration {
	c, err := stacks.LoadConfig("dev", stacks.MapSource(fixtureConfig(nil)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := time.ParseDuration(c.Observability.ScrapeInterval)
	if err != nil {
		t.Fatalf("scrape interval %q: %v", c.Observability.ScrapeInterval, err)
	}
	return d
}
