package main

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/harness"
	"github.com/ampledata/temporal-kit/worker/jobapi"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

type pathResult struct {
	rows, ok, failed int
	wall             time.Duration
	peakRSS          int64 // bytes, this process, during the path
	actions          *actionCount
	workflowID       string // the temporal path's job workflow
}

func (r pathResult) rowsPerSec() float64 { return float64(r.rows) / r.wall.Seconds() }

// runTemporal submits the job through the API, as a user would, and waits
// for the workflow's result (following continue-as-new). Progress is read
// from the database, not queried, so that the figures hold no query actions.
func runTemporal(ctx context.Context, w *harness.Worker, o options, first int) (pathResult, error) {
	rows := fixture.SyntheticRowsFrom(first, o.rows)
	body := fixture.CSV(rows)
	heartbeats := w.Svc.SDKMetrics.CounterValue("temporal_request", map[string]string{"operation": "RecordActivityTaskHeartbeat"})
	resetPeakRSS()
	began := time.Now()
	created, err := jobapi.NewClient(w.BaseURL).Submit(ctx, body)
	if err != nil {
		return pathResult{}, err
	}
	stopProgress := progress(ctx, "temporal", o, began, func(ctx context.Context) (int, error) {
		c, err := w.Svc.Store.CountResults(ctx, created.ID)
		return c.Done, err
	})
	var p enrichment.Progress
	err = w.Svc.Temporal.GetWorkflow(ctx, enrichment.WorkflowID(created.ID), "").Get(ctx, &p)
	wall := time.Since(began)
	stopProgress()
	if err != nil {
		return pathResult{}, err
	}
	r := pathResult{rows: o.rows, ok: p.OK, failed: p.Failed, wall: wall, peakRSS: peakRSS()}
	c, err := w.Svc.Store.CountResults(ctx, created.ID)
	if err != nil {
		return r, err
	}
	if c.Done != o.rows || p.Done != o.rows {
		return r, fmt.Errorf("job %s: %d rows stored, workflow counted %d, want %d", created.ID, c.Done, p.Done, o.rows)
	}
	a, err := countActions(ctx, w.Svc.Temporal, enrichment.WorkflowID(created.ID))
	if err != nil {
		return r, err
	}
	a.heartbeats = int(w.Svc.SDKMetrics.CounterValue("temporal_request", map[string]string{"operation": "RecordActivityTaskHeartbeat"}) - heartbeats)
	if a.status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return r, fmt.Errorf("workflow ended %s", a.status)
	}
	r.actions, r.workflowID = &a, enrichment.WorkflowID(created.ID)
	fmt.Printf("[temporal] done: %d rows (%d ok, %d failed) in %s, job %s\n", o.rows, p.OK, p.Failed, wall.Round(10*time.Millisecond), created.ID)
	return r, nil
}

// runInProcess parses and stores the job file like POST /jobs does, then
// runs the channel pipeline over the rows with the same Stages (and so the
// same concurrency bounds, clients and store).
func runInProcess(ctx context.Context, w *harness.Worker, o options, first int) (pathResult, error) {
	rows := fixture.SyntheticRowsFrom(first, o.rows)
	body := fixture.CSV(rows)
	jobID := fmt.Sprintf("inprocess-%d", time.Now().UnixNano())
	resetPeakRSS()
	began := time.Now()
	rd, err := jobcsv.NewReader(bytes.NewReader(body), jobcsv.DefaultLimits())
	if err != nil {
		return pathResult{}, err
	}
	if err := w.Svc.Store.CreateJob(ctx, jobID, rd); err != nil {
		return pathResult{}, err
	}
	in, err := w.Svc.Store.AllRows(ctx, jobID)
	if err != nil {
		return pathResult{}, err
	}
	var done atomic.Int64
	stopProgress := progress(ctx, "in-process", o, began, func(context.Context) (int, error) { return int(done.Load()), nil })
	st, err := w.Svc.Stages.RunInProcess(ctx, jobID, in, w.Svc.Store, 100, func(n int) { done.Store(int64(n)) })
	wall := time.Since(began)
	stopProgress()
	if err != nil {
		return pathResult{}, err
	}
	r := pathResult{rows: o.rows, ok: st.OK, failed: st.Failed, wall: wall, peakRSS: peakRSS()}
	c, err := w.Svc.Store.CountResults(ctx, jobID)
	if err != nil {
		return r, err
	}
	if c.Done != o.rows {
		return r, fmt.Errorf("job %s: %d rows stored, want %d", jobID, c.Done, o.rows)
	}
	fmt.Printf("[in-process] done: %d rows (%d ok, %d failed) in %s\n", o.rows, st.OK, st.Failed, wall.Round(10*time.Millisecond))
	return r, nil
}

// progress prints a line every o.every until the returned stop is called.
func progress(ctx context.Context, name string, o options, began time.Time, stored func(context.Context) (int, error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(o.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := stored(ctx)
				if err != nil {
					if ctx.Err() == nil {
						fmt.Printf("[%s] progress unavailable: %v\n", name, err)
					}
					continue
				}
				el := time.Since(began)
				fmt.Printf("[%s] %6d/%d rows stored  %5.1f%%  %7.1f rows/s  %s\n", name, n, o.rows,
					100*float64(n)/float64(o.rows), float64(n)/el.Seconds(), el.Round(100*time.Millisecond))
			}
		}
	}()
	return func() { cancel(); <-finished }
}
