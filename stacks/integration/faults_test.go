package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/jobapi"
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
	st := stacktest.Start(t, def, stacktest.With(fixtureService(60*time.Millisecond)))

	// Numbers are disjoint per job, so no job finds another's robots.txt or
	// sites in any cache.
	next := 100001
	rowsFor := func() []fixture.Row {
		rows := fixture.SyntheticRowsFrom(next, faultJobRows)
		next += faultJobRows
		return rows
	}

	t.Run("temporal killed three times during a job", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		rows := rowsFor()
		began := time.Now()
		id := submit(ctx, t, st, rows)
		for i, at := range []int{150, 400, 650} {
			waitStored(ctx, t, st, id, at)
			// Rows go on being stored by activities already running while
			// the server is down; the job moves on only when the server
			// records finished batches again.
			base := baseline(ctx, t, st, id, batchesDone)
			killed := time.Now()
			if err := st.Crash(ctx, stacks.ServiceTemporal); err != nil {
				t.Fatal(err)
			}
			up, err := st.WaitHealthy(ctx, stacks.ServiceTemporal)
			if err != nil {
				t.Fatalf("temporal after kill %d: %v", i+1, err)
			}
			resumed := waitProgress(ctx, t, st, id, batchesDone, base, killed)
			t.Logf("FIGURE fault temporal SIGKILL %d/3 at >=%d rows: restarted by Docker and healthy %s after the kill, next batch recorded done %s after the kill",
				i+1, at, up.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond))
		}
		v := waitComplete(ctx, t, st, id)
		checkStoredExactlyOnce(ctx, t, st, id, rows)
		t.Logf("FIGURE fault temporal x3: %d rows complete in %s, each stored exactly once (%d workflow runs)",
			v.Stored, time.Since(began).Round(100*time.Millisecond), runs(v.Workflow))
		logMemory(t, ctx, st, "end of the 1000-row job")
	})

	t.Run("postgresql stopped for 30s", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		rows := rowsFor()
		began := time.Now()
		id := submit(ctx, t, st, rows)
		waitStored(ctx, t, st, id, 300)
		base := baseline(ctx, t, st, id, rowsStored)
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
		up := time.Since(restarted)
		resumed := waitProgress(ctx, t, st, id, rowsStored, base, restarted)
		t.Logf("FIGURE fault postgresql down 30s: healthy %s after start, job progressing again %s after start",
			up.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond))
		v := waitComplete(ctx, t, st, id)
		checkStoredExactlyOnce(ctx, t, st, id, rows)
		t.Logf("FIGURE fault postgresql: %d rows complete in %s, each stored exactly once", v.Stored, time.Since(began).Round(100*time.Millisecond))
		requireHealthy(ctx, t, st)
	})

	t.Run("worker container replaced mid-job", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		rows := rowsFor()
		began := time.Now()
		id := submit(ctx, t, st, rows)
		waitStored(ctx, t, st, id, 400)
		base := baseline(ctx, t, st, id, rowsStored)
		replaced := time.Now()
		if err := st.Replace(ctx, stacks.ServiceWorker); err != nil {
			t.Fatalf("replace worker: %v", err)
		}
		swapped := time.Since(replaced)
		resumed := waitProgress(ctx, t, st, id, rowsStored, base, replaced)
		t.Logf("FIGURE fault worker replaced: new container healthy %s after the old one was told to stop, job progressing again after %s",
			swapped.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond))
		v := waitComplete(ctx, t, st, id)
		checkStoredExactlyOnce(ctx, t, st, id, rows)
		t.Logf("FIGURE fault worker replaced: %d rows complete in %s, each stored exactly once", v.Stored, time.Since(began).Round(100*time.Millisecond))
		requireHealthy(ctx, t, st)
	})
}

func runs(w *jobapi.WorkflowView) int {
	if w == nil {
		return 0
	}
	return w.Runs
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
