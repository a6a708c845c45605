package integration

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

// TestDevStack brings the whole dev Definition up once and checks each
// promise of the stack against it.
func TestDevStack(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t, fixtureConfig(nil))
	began := time.Now()
	st := stacktest.Start(t, def, stacktest.With(fixturesvc.Service(0)))
	coldStart := time.Since(began)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	t.Logf("FIGURE cold start until every health check is green (images present): %s", coldStart.Round(100*time.Millisecond))
	// Idle: settled, before any job.
	time.Sleep(5 * time.Second)
	logMemory(t, ctx, st, "idle")

	t.Run("every service healthy, every job succeeded", func(t *testing.T) {
		for _, svc := range def.Services {
			c := st.Container(svc.Name)
			if c == nil {
				t.Errorf("%s was not started", svc.Name)
				continue
			}
			state, err := c.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			switch svc.Kind {
			case stacks.OneShot:
				if state.Running || state.ExitCode != 0 {
					t.Errorf("job %s: running=%v exit=%d", svc.Name, state.Running, state.ExitCode)
				}
			default:
				if state.Health == nil || state.Health.Status != "healthy" {
					t.Errorf("%s is not healthy: %+v", svc.Name, state.Health)
				}
			}
		}
	})

	t.Run("every container runs with only the privileges its Definition gives", func(t *testing.T) {
		checkPrivileges(ctx, t, st, def)
	})

	t.Run("namespace registered with its retention", func(t *testing.T) {
		c, err := client.Dial(client.Options{HostPort: st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC), Namespace: "ampledata"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "ampledata"})
		if err != nil {
			t.Fatalf("describe namespace: %v", err)
		}
		if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 72*time.Hour {
			t.Errorf("retention %s, want 72h", got)
		}
	})

	t.Run("admin-tools reaches the server with the temporal CLI", func(t *testing.T) {
		code, out, err := st.Exec(ctx, stacks.ServiceAdminTools, "temporal", "operator", "cluster", "health")
		if err != nil || code != 0 || !strings.Contains(out, "SERVING") {
			t.Fatalf("cluster health: code=%d err=%v out=%s", code, err, out)
		}
		code, out, err = st.Exec(ctx, stacks.ServiceAdminTools, "temporal", "operator", "namespace", "list")
		if err != nil || code != 0 || !strings.Contains(out, "ampledata") {
			t.Fatalf("namespace list: code=%d err=%v out=%s", code, err, out)
		}
	})

	t.Run("UI answers", func(t *testing.T) {
		body := httpGet(t, "http://"+st.Endpoint(stacks.ServiceUI, stacks.PortUI)+"/")
		if !strings.Contains(strings.ToLower(body), "<html") {
			t.Errorf("UI root is not a page: %.200s", body)
		}
		api := httpGet(t, "http://"+st.Endpoint(stacks.ServiceUI, stacks.PortUI)+"/api/v1/namespaces/ampledata")
		if !strings.Contains(api, "ampledata") {
			t.Errorf("UI API does not see the namespace: %.300s", api)
		}
	})

	t.Run("server exports Prometheus metrics", func(t *testing.T) {
		body := httpGet(t, "http://"+st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalMetrics)+"/metrics")
		if !strings.Contains(body, "# TYPE") || !strings.Contains(body, "persistence_requests") {
			t.Errorf("metrics endpoint does not look like Temporal's: %.300s", body)
		}
	})

	t.Run("jobs are safe to run again on every deploy", func(t *testing.T) {
		out, err := st.RunJob(ctx, stacks.ServiceSchema)
		if err != nil {
			t.Fatalf("schema job again: %v", err)
		}
		if !strings.Contains(out, "database temporal_visibility is there") || strings.Count(out, "found zero updates") != 2 {
			t.Errorf("second schema run did not find the existing schema:\n%s", out)
		}
		out, err = st.RunJob(ctx, stacks.ServiceNamespace)
		if err != nil || !strings.Contains(out, "exists") {
			t.Fatalf("namespace job again: %v\n%s", err, out)
		}
	})

	t.Run("enrichment job of 200 rows through the worker container", func(t *testing.T) {
		// Every recorded company, every kind of synthetic failure, and
		// successful synthetic companies up to 200 rows.
		rows := fixture.MixedRows(1, 8)
		rows = append(rows, fixture.SyntheticRowsFrom(1001, 200-len(rows))...)
		began := time.Now()
		id := submit(ctx, t, st, rows)
		v := waitComplete(ctx, t, st, id)
		t.Logf("FIGURE 200-row job through the worker container: %s (%d ok, %d failed as the fixtures intend)", time.Since(began).Round(100*time.Millisecond), v.OK, v.Failed)
		checkStoredExactlyOnce(ctx, t, st, id, rows)
		if v.Workflow != nil {
			t.Logf("FIGURE Temporal actions per row (workflow accounting): %.3f", v.Workflow.ActionsPerRow)
		}
	})

	t.Run("a backup and a verification restore, for the backups dashboard", func(t *testing.T) {
		id := backupNow(ctx, t, st)
		code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "verify")
		if err != nil || code != 0 {
			t.Fatalf("verify: code=%d err=%v\n%s", code, err, out)
		}
		t.Logf("backup %s taken and verified by a restore", id)
	})

	t.Run("every dashboard query returns data", func(t *testing.T) {
		proveDashboards(ctx, t, st, began, scrapeInterval(t))
	})

	t.Run("figures", func(t *testing.T) {
		times := st.StartTimes()
		names := make([]string, 0, len(times))
		for n := range times {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return times[names[i]] < times[names[j]] })
		for _, n := range names {
			t.Logf("FIGURE   %-22s up after %s", n, times[n].Round(100*time.Millisecond))
		}
		logMemory(t, ctx, st, "after the 200-row job")
	})
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	hc := &http.Client{Timeout: 15 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %.300s", url, resp.Status, b)
	}
	return string(b)
}

// logMemory prints each running container's memory and the total.
func logMemory(t *testing.T, ctx context.Context, st *stacktest.Stack, when string) {
	t.Helper()
	var total float64
	for _, svc := range st.Def.Services {
		if svc.Kind == stacks.OneShot || st.Container(svc.Name) == nil {
			continue
		}
		mb, err := st.MemoryMB(ctx, svc.Name)
		if err != nil {
			t.Errorf("memory of %s: %v", svc.Name, err)
			continue
		}
		total += mb
		t.Logf("FIGURE memory %s: %-22s %7.1f MiB (limit %d MiB)", when, svc.Name, mb, svc.MemoryMB)
	}
	t.Logf("FIGURE memory %s: %-22s %7.1f MiB", when, "TOTAL", total)
}
