package enrichment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ampledata/temporal-kit/worker/metrics"
	"github.com/ampledata/temporal-kit/worker/pipeline"
	"github.com/ampledata/temporal-kit/worker/store"
)

// DB is what the activities need from the database; *store.Store is one.
type DB interface {
	RowsToSearch(ctx context.Context, jobID string, from, to int) ([]store.InputRow, error)
	RowsToEnrich(ctx context.Context, jobID string, from, to int) ([]store.InputRow, error)
	SaveSites(ctx context.Context, jobID string, sites []store.SiteFound) error
	SaveResults(ctx context.Context, results []store.Result) error
}

// Activities hold the clients the batch activities use.
type Activities struct {
	DB      DB
	Stages  *pipeline.Stages
	Metrics *metrics.Pipeline
	// FlushEvery bounds the rows written per round trip and per heartbeat.
	FlushEvery int
	// HeartbeatEvery is how often progress is flushed and heartbeated.
	HeartbeatEvery time.Duration
}

// BatchInput names a batch: rows [From, To) of a job.
type BatchInput struct {
	JobID string
	Batch int
	From  int
	To    int
	// RowAttempts is how many attempts a row failing transiently gets; on
	// the last one it is stored as failed instead of failing the batch.
	RowAttempts int
}

// BatchResult counts a batch's rows over all its attempts.
type BatchResult struct {
	Rows     int            // rows that reached a final outcome in this activity
	OK       int            // search: site found; enrich: enriched
	Failed   int            // stored as failed
	ByClass  map[string]int // failed rows by error class
	Attempts int            // attempts the activity took (1 = no retry)
}

// batchProgress is the heartbeat: rows already final and the counts so far.
// A retried attempt starts from it and skips those rows.
type batchProgress struct {
	Done   []int
	Result BatchResult
}

// ErrTransientRows is the type of the error a batch returns when rows failed
// transiently and have attempts left: Temporal retries the batch with
// backoff, and the retry redoes only those rows.
const ErrTransientRows = "TransientRowErrors"

type outcome struct {
	row      int
	site     string        // search: the site found
	result   *store.Result // a final result to store
	retry    *pipeline.RowError
	finalErr *pipeline.RowError
}

// SearchBatch finds the site of every row of the batch that has no domain.
func (a *Activities) SearchBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	rows, err := a.DB.RowsToSearch(ctx, in.JobID, in.From, in.To)
	if err != nil {
		return BatchResult{}, err
	}
	return a.runBatch(ctx, "search", in, rows,
		func(ctx context.Context, last bool, row store.InputRow) outcome {
			site, rerr := a.Stages.FindSite(ctx, row)
			switch {
			case rerr == nil:
				return outcome{row: row.Num, site: site}
			case rerr.Transient && !last:
				return outcome{row: row.Num, retry: rerr}
			default:
				r := pipeline.Failed(in.JobID, row.Num, "", rerr)
				return outcome{row: row.Num, result: &r, finalErr: rerr}
			}
		})
}

// EnrichBatch fetches, extracts and stores every row of the batch whose site is known.
func (a *Activities) EnrichBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	rows, err := a.DB.RowsToEnrich(ctx, in.JobID, in.From, in.To)
	if err != nil {
		return BatchResult{}, err
	}
	return a.runBatch(ctx, "enrich", in, rows,
		func(ctx context.Context, last bool, row store.InputRow) outcome {
			res, rerr := a.Stages.Enrich(ctx, in.JobID, row, row.SiteURL)
			switch {
			case rerr == nil:
				return outcome{row: row.Num, result: &res}
			case rerr.Transient && !last:
				return outcome{row: row.Num, retry: rerr}
			default:
				r := pipeline.Failed(in.JobID, row.Num, row.SiteURL, rerr)
				return outcome{row: row.Num, result: &r, finalErr: rerr}
			}
		})
}

// runBatch runs rows concurrently (the stages bound the concurrency), writes
// outcomes in groups, and heartbeats after each write so that a retry, after
// a crash or a transient failure, resumes with the rows not yet written.
func (a *Activities) runBatch(ctx context.Context, kind string, in BatchInput, rows []store.InputRow,
	do func(ctx context.Context, last bool, row store.InputRow) outcome) (BatchResult, error) {
	info := activity.GetInfo(ctx)
	logger := activity.GetLogger(ctx)
	var prog batchProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			logger.Warn("unreadable heartbeat details; redoing the batch", "error", err)
			prog = batchProgress{}
		}
	}
	if prog.Result.ByClass == nil {
		prog.Result.ByClass = map[string]int{}
	}
	done := make(map[int]bool, len(prog.Done))
	for _, r := range prog.Done {
		done[r] = true
	}
	todo := rows[:0:0]
	for _, r := range rows {
		if !done[r.Num] {
			todo = append(todo, r)
		}
	}
	if len(prog.Done) > 0 {
		logger.Info("resuming batch", "kind", kind, "done", len(prog.Done), "todo", len(todo), "attempt", info.Attempt)
	}
	last := int(info.Attempt) >= in.RowAttempts

	out := make(chan outcome)
	var wg sync.WaitGroup
	for _, r := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := do(ctx, last, r)
			select {
			case out <- o:
			case <-ctx.Done():
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	flushEvery := max(a.FlushEvery, 1)
	every := a.HeartbeatEvery
	if every <= 0 {
		every = time.Second
	}
	var pendingSites []store.SiteFound
	var pendingResults []store.Result
	var pendingRows []int
	var pendingOK, retries int
	pendingClass := map[string]int{}
	actCtx := ctx
	flush := func(dbCtx context.Context) error {
		if len(pendingRows) == 0 {
			activity.RecordHeartbeat(actCtx, prog)
			return nil
		}
		began := time.Now()
		if err := a.DB.SaveSites(dbCtx, in.JobID, pendingSites); err != nil {
			return err
		}
		if err := a.DB.SaveResults(dbCtx, pendingResults); err != nil {
			return err
		}
		if len(pendingResults) > 0 {
			a.Metrics.Observe(pipeline.StageStore, "ok", time.Since(began))
		}
		prog.Done = append(prog.Done, pendingRows...)
		prog.Result.Rows += len(pendingRows)
		prog.Result.OK += pendingOK
		for c, n := range pendingClass {
			prog.Result.Failed += n
			prog.Result.ByClass[c] += n
		}
		activity.RecordHeartbeat(actCtx, prog)
		pendingSites, pendingResults, pendingRows, pendingOK = pendingSites[:0], pendingResults[:0], pendingRows[:0], 0
		clear(pendingClass)
		return nil
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var flushErr error
loop:
	for {
		select {
		case o, ok := <-out:
			if !ok {
				break loop
			}
			switch {
			case o.retry != nil:
				retries++
				continue
			case o.finalErr != nil:
				pendingClass[o.finalErr.Class]++
			default:
				pendingOK++
			}
			if o.site != "" {
				pendingSites = append(pendingSites, store.SiteFound{Row: o.row, SiteURL: o.site})
			}
			if o.result != nil {
				pendingResults = append(pendingResults, *o.result)
			}
			pendingRows = append(pendingRows, o.row)
			if len(pendingRows) >= flushEvery {
				if flushErr = flush(ctx); flushErr != nil {
					break loop
				}
			}
		case <-tick.C:
			if flushErr = flush(ctx); flushErr != nil {
				break loop
			}
		case <-ctx.Done():
			break loop
		}
	}
	if ctx.Err() != nil {
		// Cancelled or the worker is stopping: keep what is finished, so the
		// next attempt (or nobody, after a cancel) need not redo it.
		saveCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = flush(saveCtx)
		a.Metrics.Batch(kind, "cancelled")
		prog.Result.Attempts = int(info.Attempt)
		return prog.Result, ctx.Err()
	}
	if flushErr == nil {
		flushErr = flush(ctx)
	}
	if flushErr != nil {
		a.Metrics.Batch(kind, "store_error")
		prog.Result.Attempts = int(info.Attempt)
		return prog.Result, fmt.Errorf("%s batch %d: store: %w", kind, in.Batch, flushErr)
	}
	prog.Result.Attempts = int(info.Attempt)
	if retries > 0 {
		a.Metrics.Batch(kind, "retry")
		return prog.Result, temporal.NewApplicationError(
			fmt.Sprintf("%s batch %d: %d rows failed transiently; retrying them", kind, in.Batch, retries), ErrTransientRows)
	}
	a.Metrics.Batch(kind, "ok")
	return prog.Result, nil
}
