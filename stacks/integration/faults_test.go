package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

const faultJobRows = 1000

// faultWorkerEnv slows the worker down on purpose (small batches, little
// concurrency, slow fixture sites below) so that a 1000-row job lasts long
// enough to be hit by several faults while it runs.
var faultWorkerEnv = map[string]string{
	"BATCH_SIZE":         "50",
	"BATCH_PARALLELISM":  "2",
	"SEARCH_CONCURRENCY": "4",
	"FETCH_CONCURRENCY":  "4",
}

// TestFaults runs one 1000-row job per fault on one dev stack, and checks
// after each that the job completed with every row stored exactly once.
// Recovery times are printed as FIGURE lines.
func TestFaults(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t, fixtureConfig(faultWorkerEnv))
	st := stacktest.Start(t, def, stacktest.With(fixturesvc.Service(60*time.Millisecond)))

	// Numbers are disjoint per job, so no job finds another's robots.txt or
	// sites in any cache.
	next := 100001
	rowsFor := func() []fixture.Row {
		rows := fixture.SyntheticRowsFrom(next, faultJobRows)
		next += faultJobRows
		return rows
	}

	t.Run("temporal killed three times during a job", func(t *testing.T) {
		// Rows go on being stored by activities already running while the
		// server is down; the job moves on only when the server records
		// finished batches again, so that is the progress measured.
		jobUnderFault(t, st, rowsFor(), "temporal SIGKILL", []int{150, 400, 650}, batchesDone,
			func(ctx context.Context, t *testing.T) (time.Time, string, string) {
				killed := time.Now()
				if err := st.Crash(ctx, stacks.ServiceTemporal); err != nil {
					t.Fatal(err)
				}
				up, err := st.WaitHealthy(ctx, stacks.ServiceTemporal)
				if err != nil {
					t.Fatal(err)
				}
				return killed, "the kill", "restarted by Docker and healthy " + up.Round(100*time.Millisecond).String() + " after the kill"
			})
		logMemory(t, context.Background(), st, "end of the 1000-row job")
	})

	t.Run("temporal frozen (SIGSTOP) during a job", func(t *testing.T) {
		// A hang, not a crash: the process stops answering while its
		// container runs and its port accepts connections. Docker restarts
		// only exited processes; the stack's docker-gate must see the
		// failing check and restart it.
		jobUnderFault(t, st, rowsFor(), "temporal SIGSTOP", []int{300}, batchesDone,
			func(ctx context.Context, t *testing.T) (time.Time, string, string) {
				return freezeTemporal(ctx, t, st)
			})
	})

	t.Run("postgresql stopped for 30s", func(t *testing.T) {
		jobUnderFault(t, st, rowsFor(), "postgresql down 30s", []int{300}, rowsStored,
			func(ctx context.Context, t *testing.T) (time.Time, string, string) {
				if err := st.Stop(ctx, stacks.ServicePostgres); err != nil {
					t.Fatal(err)
				}
				time.Sleep(30 * time.Second)
				restarted := time.Now()
				if err := st.Start(ctx, stacks.ServicePostgres); err != nil {
					t.Fatal(err)
				}
				if _, err := st.WaitHealthy(ctx, stacks.ServicePostgres); err != nil {
					t.Fatal(err)
				}
				return restarted, "its start", "healthy " + time.Since(restarted).Round(100*time.Millisecond).String() + " after its start"
			})
	})

	t.Run("worker container replaced mid-job", func(t *testing.T) {
		jobUnderFault(t, st, rowsFor(), "worker replaced", []int{400}, rowsStored,
			func(ctx context.Context, t *testing.T) (time.Time, string, string) {
				replaced := time.Now()
				if err := st.Replace(ctx, stacks.ServiceWorker); err != nil {
					t.Fatalf("replace worker: %v", err)
				}
				return replaced, "the stop request", "new container healthy " + time.Since(replaced).Round(100*time.Millisecond).String() + " after the old one was told to stop"
			})
	})
}

// jobUnderFault submits rows as a job and strikes once the job has stored
// each of hits rows. strike returns when the fault is over, with the instant
// recovery is counted from (and what that instant was) and what it saw; the
// recovery time runs from that instant until the job's progress measure m
// moves again. Then the job must complete with every row stored exactly
// once, and the stack be healthy again.
func jobUnderFault(t *testing.T, st *stacktest.Stack, rows []fixture.Row, name string, hits []int, m measure,
	strike func(ctx context.Context, t *testing.T) (since time.Time, sinceWhat, saw string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	began := time.Now()
	id := submit(ctx, t, st, rows)
	for i, at := range hits {
		waitStored(ctx, t, st, id, at)
		base := baseline(ctx, t, st, id, m)
		since, sinceWhat, saw := strike(ctx, t)
		resumed := waitProgress(ctx, t, st, id, m, base, since)
		t.Logf("FIGURE fault %s %d/%d at >=%d rows stored: %s; job moving again (%s) %s after %s",
			name, i+1, len(hits), at, saw, m.name, resumed.Round(100*time.Millisecond), sinceWhat)
	}
	v := waitComplete(ctx, t, st, id)
	checkStoredExactlyOnce(ctx, t, st, id, rows)
	t.Logf("FIGURE fault %s: %d rows complete in %s, each stored exactly once", name, v.Stored, time.Since(began).Round(100*time.Millisecond))
	requireHealthy(ctx, t, st)
}

// requireHealthy fails unless every long-running service is healthy again.
func requireHealthy(ctx context.Context, t *testing.T, st *stacktest.Stack) {
	t.Helper()
	for _, svc := range st.Def.Services {
		if svc.Kind == stacks.OneShot || st.Container(svc.Name) == nil {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_, err := st.WaitHealthy(c, svc.Name)
		cancel()
		if err != nil {
			t.Error(fmt.Errorf("after the fault: %w", err))
		}
	}
}

// freezeTemporal sends SIGSTOP to the Temporal server and waits until its
// health check turns unhealthy (seen by container-exporter through the
// gate), docker-gate restarts it and it is healthy again; it prints the
// time from the freeze to healthy.
func freezeTemporal(ctx context.Context, t *testing.T, st *stacktest.Stack) (time.Time, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	info, err := st.Container(stacks.ServiceTemporal).Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(info.Name, "/")
	worker, err := st.Container(stacks.ServiceWorker).Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	pid, err := st.Freeze(ctx, stacks.ServiceTemporal)
	if err != nil {
		t.Fatal(err)
	}
	unhealthy, err := st.WaitHealthStatus(ctx, stacks.ServiceTemporal, "unhealthy")
	if err != nil {
		t.Fatalf("a frozen Temporal must turn unhealthy: %v", err)
	}
	exporter := "http://" + st.Endpoint(stacks.ServiceContainerMetrics, stacks.PortContainerMetrics) + "/metrics"
	if err := waitMetric(ctx, exporter, `container_health_status\{name="`+regexp.QuoteMeta(name)+`",service="temporal",status="unhealthy"\} 1`); err != nil {
		t.Errorf("container-exporter (through docker-gate) does not report Temporal unhealthy: %v", err)
	}
	restarted, err := st.WaitNewProcess(ctx, stacks.ServiceTemporal, pid)
	if err != nil {
		t.Fatalf("nothing restarted the unhealthy Temporal: %v", err)
	}
	up, err := st.WaitHealthy(ctx, stacks.ServiceTemporal)
	if err != nil {
		t.Fatal(err)
	}
	healthy := restarted.Add(up)
	// The worker's readiness failed meanwhile (Temporal did not answer); a
	// restart would not have helped it, and the gate left it alone.
	if now, err := st.Container(stacks.ServiceWorker).Inspect(ctx); err != nil {
		t.Error(err)
	} else if now.State.Pid != worker.State.Pid {
		t.Errorf("the worker was restarted while Temporal was frozen (pid %d, now %d)", worker.State.Pid, now.State.Pid)
	}
	gate := "http://" + st.Endpoint(stacks.ServiceDockerGate, stacks.PortDockerGate) + "/metrics"
	if err := waitMetric(ctx, gate, `kit_docker_gate_restarts_total\{name="`+regexp.QuoteMeta(name)+`",service="temporal"\} 1`); err != nil {
		t.Errorf("docker-gate did not count its restart of Temporal: %v", err)
	}
	t.Logf("FIGURE frozen Temporal: unhealthy %s after SIGSTOP, restarted by docker-gate %s after, healthy again %s after the freeze",
		unhealthy.Sub(frozen).Round(100*time.Millisecond), restarted.Sub(frozen).Round(100*time.Millisecond), healthy.Sub(frozen).Round(100*time.Millisecond))
	return frozen, "the freeze", "healthy again " + healthy.Sub(frozen).Round(100*time.Millisecond).String() + " after the freeze"
}

// waitMetric polls a /metrics URL until a line matches re.
func waitMetric(ctx context.Context, url, re string) error {
	want := regexp.MustCompile(re)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	last := ""
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want.Match(b) {
				return nil
			}
			last = fmt.Sprintf("%d bytes without %s", len(b), re)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s", url, last)
		case <-time.After(time.Second):
		}
	}
}
