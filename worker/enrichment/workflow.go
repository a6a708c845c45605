// Package enrichment is the Temporal side of the pipeline: the job workflow
// that walks a job's rows in batches, and the batch activities that run the
// stages for many rows at once.
package enrichment

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// QueryProgress is the query name that returns a job's Progress.
const QueryProgress = "progress"

// JobInput starts a job; the carried-over fields are set by continue-as-new.
type JobInput struct {
	JobID     string
	TotalRows int
	// BatchSize rows per batch activity; Parallelism batches in flight;
	// BatchesPerRun batches before the workflow continues as new, which keeps
	// every run's history small whatever the job's size.
	BatchSize     int
	Parallelism   int
	BatchesPerRun int
	// RowAttempts is the number of attempts a row failing transiently gets.
	RowAttempts int
	// SearchQueue is the task queue of SearchBatch: a queue of its own so the
	// SERP API's rate limit is the queue's (TaskQueueActivitiesPerSecond).
	SearchQueue string

	// Carried over by continue-as-new.
	NextBatch int
	Progress  *Progress
}

// Progress is what the progress query returns and the workflow returns at the end.
type Progress struct {
	JobID        string
	TotalRows    int
	Done         int // rows with a final outcome
	OK           int
	Failed       int
	Stages       map[string]StageCount // per stage: rows ok and failed
	ErrorClasses map[string]int        // failed rows by error class
	Batches      int
	BatchesDone  int
	BatchErrors  int // batch activities that failed for good (rows left pending)
	Runs         int // workflow runs: 1 + continue-as-new count
	// Actions counts the billable Temporal actions of the job so far: each
	// run's start, each activity attempt.
	Actions int
	State   string // running, completed, cancelled
}

// StageCount is one stage's tally.
type StageCount struct {
	OK     int
	Failed int
}

// ActionsPerRow is the job's Temporal actions divided by its rows.
func (p *Progress) ActionsPerRow() float64 {
	if p.TotalRows == 0 {
		return 0
	}
	return float64(p.Actions) / float64(p.TotalRows)
}

// JobWorkflow enriches a job's rows: per batch, SearchBatch then
// EnrichBatch, Parallelism batches at a time, continuing as new every
// BatchesPerRun batches (or sooner, when the server suggests it).
func JobWorkflow(ctx workflow.Context, in JobInput) (*Progress, error) {
	logger := workflow.GetLogger(ctx)
	p := in.Progress
	if p == nil {
		p = &Progress{JobID: in.JobID, TotalRows: in.TotalRows, Stages: map[string]StageCount{}, ErrorClasses: map[string]int{}}
		p.Batches = (in.TotalRows + in.BatchSize - 1) / in.BatchSize
	}
	p.Runs++
	p.Actions++ // this run's start (the first start, or a continue-as-new)
	p.State = "running"
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (*Progress, error) { return p, nil }); err != nil {
		return nil, err
	}

	var a *Activities
	search := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           in.SearchQueue,
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    10 * time.Second, // cancel and crashes are noticed within it
		WaitForCancellation: true,             // let the batch store what it finished
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second, // a 429 or 5xx from the SERP API wants a pause
			BackoffCoefficient: 2,
			MaximumInterval:    2 * time.Minute,
			// No cap: rows failing transiently are stored as failed on attempt
			// RowAttempts, so what remains are outages (database, worker) that heal.
		},
	})
	enrich := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})

	runBatch := func(ctx workflow.Context, b int) {
		in := BatchInput{JobID: in.JobID, Batch: b, From: b * in.BatchSize, To: min(in.TotalRows, (b+1)*in.BatchSize), RowAttempts: in.RowAttempts}
		var s BatchResult
		err := workflow.ExecuteActivity(search, a.SearchBatch, in).Get(ctx, &s)
		p.Actions += max(s.Attempts, 1)
		if err != nil {
			p.batchFailed(ctx, b, "search", err)
			return
		}
		p.add("search", s, true)
		var e BatchResult
		err = workflow.ExecuteActivity(enrich, a.EnrichBatch, in).Get(ctx, &e)
		p.Actions += max(e.Attempts, 1)
		if err != nil {
			p.batchFailed(ctx, b, "enrich", err)
			return
		}
		p.add("fetch", e, false)
		p.BatchesDone++
	}

	end := min(p.Batches, in.NextBatch+in.BatchesPerRun)
	sem := workflow.NewSemaphore(ctx, int64(in.Parallelism))
	wg := workflow.NewWaitGroup(ctx)
	next := in.NextBatch
	for ; next < end; next++ {
		if err := sem.Acquire(ctx, 1); err != nil {
			break // cancelled
		}
		if next > in.NextBatch && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			sem.Release(1)
			break
		}
		b := next
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			defer sem.Release(1)
			runBatch(ctx, b)
		})
	}
	wg.Wait(ctx)

	if ctx.Err() != nil {
		p.State = "cancelled"
		logger.Info("job cancelled", "job", in.JobID, "done", p.Done, "rows", p.TotalRows)
		return p, temporal.NewCanceledError(p.Done)
	}
	if next < p.Batches {
		in.NextBatch, in.Progress = next, p
		logger.Info("continuing as new", "job", in.JobID, "nextBatch", next, "runs", p.Runs)
		return nil, workflow.NewContinueAsNewError(ctx, JobWorkflow, in)
	}
	p.State = "completed"
	logger.Info("job done", "job", in.JobID, "ok", p.OK, "failed", p.Failed, "actions", p.Actions)
	return p, nil
}

// add folds a batch result into the tally. A successful search is not a
// final outcome (the row goes on to fetch); a failed one is.
func (p *Progress) add(stage string, r BatchResult, searchStage bool) {
	sc := p.Stages[stage]
	sc.OK += r.OK
	sc.Failed += r.Failed
	p.Stages[stage] = sc
	for c, n := range r.ByClass {
		p.ErrorClasses[c] += n
	}
	p.Failed += r.Failed
	p.Done += r.Failed
	if !searchStage {
		p.OK += r.OK
		p.Done += r.OK
	}
}

func (p *Progress) batchFailed(ctx workflow.Context, b int, kind string, err error) {
	if ctx.Err() != nil {
		return // cancelled, not failed
	}
	p.BatchErrors++
	p.BatchesDone++
	workflow.GetLogger(ctx).Error("batch failed for good; its remaining rows stay pending", "batch", b, "kind", kind, "error", err)
}

// WorkflowID is the workflow ID of a job.
func WorkflowID(jobID string) string { return fmt.Sprintf("enrichment-%s", jobID) }
