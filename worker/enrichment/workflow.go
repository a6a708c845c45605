// Package enrichment is the Temporal side of the pipeline: the job workflow
// that walks a job's rows in batches, and the batch activities that run the
// stages for many rows at once, so a row costs a small fraction of a
// Temporal action.
package enrichment

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// QueryProgress is the query name that returns a job's Progress.
const QueryProgress = "progress"

// Job states, as Progress.State and the API show them.
const (
	StateRunning   = "running"
	StateCompleted = "completed"
	StateCancelled = "cancelled"
	StateFailed    = "failed"
)

// JobInput starts a job; the carried-over fields are set by continue-as-new.
type JobInput struct {
	JobID     string
	TotalRows int
	// BatchSize rows per batch activity; Parallelism batches in each stage;
	// BatchesPerRun batches before the workflow continues as new, which keeps
	// every run's history small whatever the job's size.
	BatchSize     int
	Parallelism   int
	BatchesPerRun int
	// RowAttempts is the number of tries a row failing transiently gets.
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
	Done         int                   // rows with a stored outcome
	OK           int                   // rows stored as enriched
	Failed       int                   // rows stored as failed
	Stages       map[string]StageCount // per stage: rows ok and failed
	ErrorClasses map[string]int        // failed rows by error class
	Batches      int
	BatchesDone  int
	BatchErrors  int // batches that failed for good (their remaining rows stay pending)
	Runs         int // workflow runs: 1 + continue-as-new count
	// ActivityAttempts counts batch activity attempts, retries included.
	ActivityAttempts int
	State            string // running, completed, cancelled, failed
}

// StageCount is one stage's tally.
type StageCount struct {
	OK     int `json:"ok"`
	Failed int `json:"failed"`
}

func (s StageCount) plus(ok, failed int) StageCount {
	return StageCount{OK: s.OK + ok, Failed: s.Failed + failed}
}

// Actions is the job's billable Temporal actions as the workflow sees them:
// each run started (the first and every continue-as-new) and each activity
// attempt. Heartbeats and queries are actions too but invisible here; the
// load tool adds them from the SDK's metrics.
func (p *Progress) Actions() int { return p.Runs + p.ActivityAttempts }

// ActionsPerRow is Actions divided by the job's rows.
func (p *Progress) ActionsPerRow() float64 {
	if p.TotalRows == 0 {
		return 0
	}
	return float64(p.Actions()) / float64(p.TotalRows)
}

// JobWorkflow enriches a job's rows: per batch, SearchBatch then
// EnrichBatch, up to Parallelism batches in each stage, continuing as new
// every BatchesPerRun batches (or sooner, when the server suggests it).
func JobWorkflow(ctx workflow.Context, in JobInput) (*Progress, error) {
	if err := in.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadJobInput", nil)
	}
	j := newJobRun(ctx, in)
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (*Progress, error) { return j.p, nil }); err != nil {
		return nil, err
	}
	next := j.runBatches(ctx)
	return j.finish(ctx, next)
}

// jobRun is one run of JobWorkflow: the job's progress, the activity
// options of its two stages and the slots that pipeline them.
//
// The stages are pipelined across batches: a batch holds a search slot
// while it searches and an enrich slot while it enriches, so the next
// batches' searches run while earlier batches fetch, and fetching never
// waits for a whole batch to be searched. The window bounds how far
// searches run ahead.
type jobRun struct {
	in                               JobInput
	p                                *Progress
	logger                           log.Logger
	search, enrich                   workflow.Context // activity options of each stage
	searchSlots, enrichSlots, window workflow.Semaphore
}

func newJobRun(ctx workflow.Context, in JobInput) *jobRun {
	p := in.Progress
	if p == nil {
		p = &Progress{JobID: in.JobID, TotalRows: in.TotalRows, Stages: map[string]StageCount{}, ErrorClasses: map[string]int{}}
		p.Batches = (in.TotalRows + in.BatchSize - 1) / in.BatchSize
	}
	p.Runs++
	p.State = StateRunning
	search, enrich := stageOptions(ctx, in.SearchQueue)
	return &jobRun{
		in:          in,
		p:           p,
		logger:      workflow.GetLogger(ctx),
		search:      search,
		enrich:      enrich,
		searchSlots: workflow.NewSemaphore(ctx, int64(in.Parallelism)),
		enrichSlots: workflow.NewSemaphore(ctx, int64(in.Parallelism)),
		window:      workflow.NewSemaphore(ctx, int64(2*in.Parallelism)),
	}
}

// stageOptions are the activity options of the search and enrich stages.
//
// Retries have no attempt cap: rows failing transiently are stored as
// failed on their last try by the activity itself, so what remains are
// outages (database, worker, Temporal) that heal. The backoff outlasts
// a database restart without hammering it.
func stageOptions(ctx workflow.Context, searchQueue string) (search, enrich workflow.Context) {
	search = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           searchQueue,
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    10 * time.Second, // a crashed worker's batch moves on within it
		WaitForCancellation: true,             // let the batch store what it finished
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second, // a 429 or 5xx from the SERP API wants a pause
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
	enrich = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
	return search, enrich
}

// runBatches starts this run's batches, each in a workflow goroutine once
// the window and a search slot let it, and waits for them. It returns the
// first batch not started: the end of the run's share, or earlier on a
// cancel or when the server suggests continuing as new.
func (j *jobRun) runBatches(ctx workflow.Context) int {
	end := min(j.p.Batches, j.in.NextBatch+j.in.BatchesPerRun)
	wg := workflow.NewWaitGroup(ctx)
	next := j.in.NextBatch
	for ; next < end; next++ {
		if err := j.window.Acquire(ctx, 1); err != nil {
			break // cancelled
		}
		if err := j.searchSlots.Acquire(ctx, 1); err != nil {
			j.window.Release(1)
			break
		}
		if next > j.in.NextBatch && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			j.searchSlots.Release(1)
			j.window.Release(1)
			break
		}
		b := next
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			defer j.window.Release(1)
			j.runBatch(ctx, b)
		})
	}
	wg.Wait(ctx)
	return next
}

// runBatch runs batch b's two stages; it holds the search slot its caller
// acquired and releases it when the search is over.
func (j *jobRun) runBatch(ctx workflow.Context, b int) {
	var a *Activities
	in := j.in
	bin := BatchInput{JobID: in.JobID, Batch: b, From: b * in.BatchSize, To: min(in.TotalRows, (b+1)*in.BatchSize), RowAttempts: in.RowAttempts}
	ok := j.step(ctx, b, "search", j.search, a.SearchBatch, bin)
	j.searchSlots.Release(1)
	if !ok || j.enrichSlots.Acquire(ctx, 1) != nil {
		return
	}
	ok = j.step(ctx, b, "enrich", j.enrich, a.EnrichBatch, bin)
	j.enrichSlots.Release(1)
	if ok {
		j.p.BatchesDone++
	}
}

// step runs one stage's activity for a batch and folds its result into the
// progress; false means the batch goes no further.
func (j *jobRun) step(ctx workflow.Context, b int, name string, opts workflow.Context, fn any, bin BatchInput) bool {
	var r BatchResult
	err := workflow.ExecuteActivity(opts, fn, bin).Get(ctx, &r)
	j.p.ActivityAttempts += max(r.Attempts, 1)
	j.p.add(r)
	if err != nil {
		if ctx.Err() == nil { // a cancel is not a failure
			j.p.BatchErrors++
			j.logger.Error("batch failed for good; its remaining rows stay pending", "batch", b, "step", name, "error", err)
		}
		return false
	}
	return true
}

// finish ends the run once its batches are over: cancelled, continued as
// new from batch next, failed (some batch failed for good) or completed.
func (j *jobRun) finish(ctx workflow.Context, next int) (*Progress, error) {
	p, in := j.p, j.in
	if ctx.Err() != nil {
		p.State = StateCancelled
		j.logger.Info("job cancelled", "job", in.JobID, "done", p.Done, "rows", p.TotalRows)
		return p, temporal.NewCanceledError(p.Done)
	}
	if next < p.Batches {
		in.NextBatch, in.Progress = next, p
		j.logger.Info("continuing as new", "job", in.JobID, "nextBatch", next, "runs", p.Runs)
		return nil, workflow.NewContinueAsNewError(ctx, JobWorkflow, in)
	}
	if p.BatchErrors > 0 {
		p.State = StateFailed
		return p, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%d of %d batches failed for good; %d of %d rows are not stored",
			p.BatchErrors, p.Batches, p.TotalRows-p.Done, p.TotalRows), "BatchesFailed", nil, p)
	}
	p.State = StateCompleted
	j.logger.Info("job done", "job", in.JobID, "ok", p.OK, "failed", p.Failed, "actions", p.Actions())
	return p, nil
}

// add folds a batch result into the tally.
func (p *Progress) add(r BatchResult) {
	for s, c := range r.Stages {
		p.Stages[s] = p.Stages[s].plus(c.OK, c.Failed)
	}
	for c, n := range r.ByClass {
		p.ErrorClasses[c] += n
	}
	p.OK += r.OK
	p.Failed += r.Failed
	p.Done = p.OK + p.Failed
}

func (in JobInput) validate() error {
	switch {
	case in.JobID == "":
		return fmt.Errorf("JobID is empty")
	case in.TotalRows < 1:
		return fmt.Errorf("TotalRows %d: a job has at least one row", in.TotalRows)
	case in.BatchSize < 1 || in.Parallelism < 1 || in.BatchesPerRun < 1 || in.RowAttempts < 1:
		return fmt.Errorf("BatchSize %d, Parallelism %d, BatchesPerRun %d, RowAttempts %d: each must be at least 1",
			in.BatchSize, in.Parallelism, in.BatchesPerRun, in.RowAttempts)
	case in.SearchQueue == "":
		return fmt.Errorf("SearchQueue is empty")
	}
	return nil
}

// WorkflowID is the workflow ID of a job.
func WorkflowID(jobID string) string { return "enrichment-" + jobID }
