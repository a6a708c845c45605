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
	// HeartbeatEvery is how often finished rows are written and heartbeated
	// (the SDK sends at most one heartbeat per 80% of the heartbeat timeout).
	HeartbeatEvery time.Duration
}

// BatchInput names a batch: rows [From, To) of a job.
type BatchInput struct {
	JobID string
	Batch int
	From  int
	To    int
	// RowAttempts is how many times a row failing transiently is tried; on
	// the last try it is stored as failed instead of failing the batch.
	RowAttempts int
}

// BatchResult counts a batch's rows over all its attempts.
type BatchResult struct {
	OK       int                   // rows stored as enriched
	Failed   int                   // rows stored as failed
	Stages   map[string]StageCount // rows per stage and outcome
	ByClass  map[string]int        // failed rows by error class
	Attempts int                   // attempts the activity took (1 = no retry)
}

// batchProgress is the heartbeat: rows already final (written), the tries
// of rows that failed transiently, and the counts so far. A retried attempt
// (after a crash, a worker restart or transient row failures) starts from it.
type batchProgress struct {
	Done   []int
	Tries  map[int]int
	Result BatchResult
}

// ErrTransientRows is the type of the error a batch returns when rows failed
// transiently and have tries left: Temporal retries the batch with backoff,
// and the retry redoes only those rows.
const ErrTransientRows = "TransientRowErrors"

// outcome is one row's result in a batch.
type outcome struct {
	row    int
	site   string        // search: the site found
	result *store.Result // a final result to store
	err    *pipeline.RowError
}

// SearchBatch finds the site of every row of the batch that needs a search.
func (a *Activities) SearchBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	rows, err := a.DB.RowsToSearch(ctx, in.JobID, in.From, in.To)
	if err != nil {
		return BatchResult{Attempts: int(activity.GetInfo(ctx).Attempt)}, err
	}
	return a.runBatch(ctx, "search", in, rows, func(ctx context.Context, row store.InputRow) outcome {
		site, rerr := a.Stages.FindSite(ctx, row)
		if rerr != nil {
			return outcome{row: row.Num, err: rerr}
		}
		return outcome{row: row.Num, site: site}
	})
}

// EnrichBatch fetches, extracts and stores every row of the batch whose site is known.
func (a *Activities) EnrichBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	rows, err := a.DB.RowsToEnrich(ctx, in.JobID, in.From, in.To)
	if err != nil {
		return BatchResult{Attempts: int(activity.GetInfo(ctx).Attempt)}, err
	}
	return a.runBatch(ctx, "enrich", in, rows, func(ctx context.Context, row store.InputRow) outcome {
		res, rerr := a.Stages.Enrich(ctx, in.JobID, row, row.SiteURL)
		if rerr != nil {
			return outcome{row: row.Num, site: row.SiteURL, err: rerr}
		}
		return outcome{row: row.Num, result: &res}
	})
}

// runBatch runs rows concurrently (the stages bound the concurrency), writes
// outcomes in groups, and heartbeats after each write so that a retry resumes
// with the rows not yet written.
func (a *Activities) runBatch(ctx context.Context, kind string, in BatchInput, rows []store.InputRow,
	do func(ctx context.Context, row store.InputRow) outcome) (BatchResult, error) {
	info := activity.GetInfo(ctx)
	logger := activity.GetLogger(ctx)
	prog := resume(ctx, logger)
	todo := notDone(rows, prog.Done)
	if len(prog.Done) > 0 || len(prog.Tries) > 0 {
		logger.Info("resuming batch", "kind", kind, "batch", in.Batch, "done", len(prog.Done), "todo", len(todo), "attempt", info.Attempt)
	}

	// Rows stop with the activity: a store error ends the attempt at once.
	rowCtx, stopRows := context.WithCancel(ctx)
	defer stopRows()
	out := runRows(rowCtx, todo, do)
	w := &batchWriter{a: a, kind: kind, in: in, prog: &prog}
	retries, flushErr := w.collect(ctx, out)

	prog.Result.Attempts = int(info.Attempt)
	if ctx.Err() != nil {
		// Cancelled, or the worker is stopping: keep what is finished, so
		// the next attempt (or nobody, after a cancel) need not redo it.
		saveCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.flush(ctx, saveCtx); err != nil {
			logger.Warn("could not store finished rows on cancel; a retry redoes them", "error", err)
		}
		a.Metrics.Batch(kind, "cancelled")
		return prog.Result, ctx.Err()
	}
	if flushErr == nil {
		flushErr = w.flush(ctx, ctx)
	}
	if flushErr != nil {
		a.Metrics.Batch(kind, "store_error")
		return prog.Result, fmt.Errorf("%s batch %d: store: %w", kind, in.Batch, flushErr)
	}
	if retries > 0 {
		a.Metrics.Batch(kind, "retry")
		activity.RecordHeartbeat(ctx, prog) // the rows' tries, for the next attempt
		return prog.Result, temporal.NewApplicationError(
			fmt.Sprintf("%s batch %d: %d rows failed transiently; retrying them", kind, in.Batch, retries), ErrTransientRows)
	}
	a.Metrics.Batch(kind, "ok")
	return prog.Result, nil
}

// notDone is rows less those a previous attempt wrote.
func notDone(rows []store.InputRow, written []int) []store.InputRow {
	done := make(map[int]bool, len(written))
	for _, r := range written {
		done[r] = true
	}
	todo := rows[:0:0]
	for _, r := range rows {
		if !done[r.Num] {
			todo = append(todo, r)
		}
	}
	return todo
}

// runRows runs do for every row concurrently and returns their outcomes.
// The channel is buffered so that a row finishing after its reader stopped
// (cancel, store error) never blocks.
func runRows(ctx context.Context, rows []store.InputRow, do func(ctx context.Context, row store.InputRow) outcome) <-chan outcome {
	out := make(chan outcome, len(rows))
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Go(func() { out <- do(ctx, r) })
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// resume reads the previous attempt's heartbeat, if any.
func resume(ctx context.Context, logger interface{ Warn(string, ...any) }) batchProgress {
	var prog batchProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			logger.Warn("unreadable heartbeat details; redoing the batch", "error", err)
			prog = batchProgress{}
		}
	}
	if prog.Tries == nil {
		prog.Tries = map[int]int{}
	}
	if prog.Result.ByClass == nil {
		prog.Result.ByClass = map[string]int{}
	}
	if prog.Result.Stages == nil {
		prog.Result.Stages = map[string]StageCount{}
	}
	return prog
}

// batchWriter buffers final outcomes and writes them in one round trip per
// group; only written rows enter the heartbeat, so a retry never skips a
// row that is not in the database.
type batchWriter struct {
	a     *Activities
	kind  string
	in    BatchInput
	prog  *batchProgress
	sites []store.SiteFound
	res   []store.Result
	outs  []outcome
}

// collect takes outcomes from out until it closes or ctx ends: a row
// failing transiently with tries left is counted as a retry and left for
// the next attempt; the others are written every FlushEvery rows and every
// HeartbeatEvery. It stops at the first write error.
func (w *batchWriter) collect(ctx context.Context, out <-chan outcome) (retries int, flushErr error) {
	flushEvery := max(w.a.FlushEvery, 1)
	every := w.a.HeartbeatEvery
	if every <= 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for flushErr == nil {
		select {
		case o, ok := <-out:
			if !ok {
				return retries, nil
			}
			if o.err != nil && o.err.Transient {
				if o.err.Class == "cancelled" {
					continue // not the row's fault: no try spent
				}
				w.prog.Tries[o.row]++
				if w.prog.Tries[o.row] < w.in.RowAttempts {
					retries++
					continue
				}
			}
			w.add(o)
			if w.pending() >= flushEvery {
				flushErr = w.flush(ctx, ctx)
			}
		case <-tick.C:
			flushErr = w.flush(ctx, ctx)
		case <-ctx.Done():
			return retries, nil
		}
	}
	return retries, flushErr
}

func (w *batchWriter) add(o outcome) {
	w.outs = append(w.outs, o)
	switch {
	case o.err != nil:
		r := pipeline.Failed(w.in.JobID, o.row, o.site, o.err)
		w.res = append(w.res, r)
	case o.result != nil:
		w.res = append(w.res, *o.result)
	default: // a site found: the row goes on to the enrich batch
		w.sites = append(w.sites, store.SiteFound{Row: o.row, SiteURL: o.site})
	}
}

func (w *batchWriter) pending() int { return len(w.outs) }

// flush writes the pending outcomes with dbCtx and heartbeats through actCtx.
func (w *batchWriter) flush(actCtx, dbCtx context.Context) error {
	if len(w.outs) == 0 {
		activity.RecordHeartbeat(actCtx, *w.prog)
		return nil
	}
	began := time.Now()
	if err := w.a.DB.SaveSites(dbCtx, w.in.JobID, w.sites); err != nil {
		w.a.Metrics.ObserveMany(pipeline.StageStore, "store_error", len(w.outs), time.Since(began))
		return err
	}
	if err := w.a.DB.SaveResults(dbCtx, w.res); err != nil {
		w.a.Metrics.ObserveMany(pipeline.StageStore, "store_error", len(w.outs), time.Since(began))
		return err
	}
	w.a.Metrics.ObserveMany(pipeline.StageStore, "ok", len(w.res), time.Since(began))
	r := &w.prog.Result
	for _, o := range w.outs {
		w.prog.Done = append(w.prog.Done, o.row)
		delete(w.prog.Tries, o.row)
		switch {
		case o.err != nil:
			r.Failed++
			r.ByClass[o.err.Class]++
			r.Stages[o.err.Stage] = r.Stages[o.err.Stage].plus(0, 1)
			r.Stages[pipeline.StageStore] = r.Stages[pipeline.StageStore].plus(1, 0)
		case o.result != nil:
			r.OK++
			r.Stages[pipeline.StageFetch] = r.Stages[pipeline.StageFetch].plus(1, 0)
			r.Stages[pipeline.StageExtract] = r.Stages[pipeline.StageExtract].plus(1, 0)
			r.Stages[pipeline.StageStore] = r.Stages[pipeline.StageStore].plus(1, 0)
		default:
			r.Stages[pipeline.StageSearch] = r.Stages[pipeline.StageSearch].plus(1, 0)
		}
	}
	activity.RecordHeartbeat(actCtx, *w.prog)
	w.sites, w.res, w.outs = w.sites[:0], w.res[:0], w.outs[:0]
	return nil
}
