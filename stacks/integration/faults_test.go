package integration

import (
	"context"
	"fmt"
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
