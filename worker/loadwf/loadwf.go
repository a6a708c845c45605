// Package loadwf is the seed's load test ("simulate 1000 concurrent
// workflows"): N workflows started at once, each running K activities of a
// fixed duration in sequence (or the same as local activities), on a task
// queue of their own, polled by one worker with the options under test. It
// reports what an operator compares between settings: workflows and
// activities per second and the schedule-to-start latencies the SDK saw.
package loadwf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Params is one workflow's work.
type Params struct {
	Activities int
	Duration   time.Duration
	Local      bool
}

// Workflow runs p.Activities steps in sequence, as activities or as local
// activities, and returns how many completed.
func Workflow(ctx workflow.Context, p Params) (int, error) {
	var s *Steps
	if p.Local {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	} else {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	}
	for i := range p.Activities {
		var f workflow.Future
		if p.Local {
			f = workflow.ExecuteLocalActivity(ctx, s.Step, p.Duration)
		} else {
			f = workflow.ExecuteActivity(ctx, s.Step, p.Duration)
		}
		if err := f.Get(ctx, nil); err != nil {
			return i, err
		}
	}
	return p.Activities, nil
}

// Steps is the activity: it stands for an external call of a fixed duration.
type Steps struct{ rec *Recorder }

// Step waits d, or until the activity is cancelled. It records its own
// schedule-to-start: the SDK's timer misses activities the server hands
// over eagerly, with the workflow task that scheduled them.
func (s *Steps) Step(ctx context.Context, d time.Duration) error {
	if s != nil && s.rec != nil {
		info := activity.GetInfo(ctx)
		s.rec.Record(StepScheduleToStart, info.StartedTime.Sub(info.ScheduledTime))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options is one load run.
type Options struct {
	Workflows  int
	Activities int
	Duration   time.Duration
	Local      bool
	// TaskQueue is the run's own queue: nothing else polls it.
	TaskQueue string
	// Worker is the worker under test (slots, pollers).
	Worker worker.Options
	// Starters bound the concurrent StartWorkflowExecution calls.
	Starters int
	// EagerStart asks the server to hand each first workflow task back with
	// the start response (the starter is the worker's own client).
	EagerStart bool
}

// Result is what a run measured.
type Result struct {
	Workflows, Failed, Activities int
	// StartWall is the time to start every workflow; Wall from the first
	// start to the last completion.
	StartWall, Wall time.Duration
	// Latencies the SDK recorded, by metric name (see Recorder).
	Latencies map[string]Percentiles
}

// WorkflowsPerSecond is completed workflows over the wall time.
func (r Result) WorkflowsPerSecond() float64 { return float64(r.Workflows-r.Failed) / r.Wall.Seconds() }

// ActivitiesPerSecond is completed activities over the wall time.
func (r Result) ActivitiesPerSecond() float64 { return float64(r.Activities) / r.Wall.Seconds() }

// Run starts o.Workflows workflows on o.TaskQueue through c (a client whose
// MetricsHandler is rec), runs a worker for them, and waits for all.
func Run(ctx context.Context, c client.Client, rec *Recorder, o Options) (Result, error) {
	if o.Workflows < 1 || o.Activities < 0 || o.Starters < 1 || o.TaskQueue == "" {
		return Result{}, fmt.Errorf("workflows %d, activities %d, starters %d, task queue %q: need at least 1 workflow and 1 starter, 0 or more activities, a task queue",
			o.Workflows, o.Activities, o.Starters, o.TaskQueue)
	}
	w := worker.New(c, o.TaskQueue, o.Worker)
	w.RegisterWorkflow(Workflow)
	w.RegisterActivity(&Steps{rec: rec})
	if err := w.Start(); err != nil {
		return Result{}, fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	rec.Reset()

	began := time.Now()
	runs, errs := startAll(ctx, c, o)
	res := Result{Workflows: o.Workflows, StartWall: time.Since(began)}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("start workflows: %w", err)
	}
	done, errs := waitAll(ctx, runs)
	res.Wall = time.Since(began)
	var failed []error
	for i, err := range errs {
		res.Activities += done[i]
		if err != nil {
			res.Failed++
			failed = append(failed, err)
		}
	}
	res.Latencies = rec.Percentiles()
	if len(failed) > 0 {
		return res, fmt.Errorf("%d of %d workflows failed; first: %w", len(failed), o.Workflows, failed[0])
	}
	return res, nil
}

// startAll starts the workflows from o.Starters goroutines; errs[i] is
// workflow i's start error.
func startAll(ctx context.Context, c client.Client, o Options) (runs []client.WorkflowRun, errs []error) {
	p := Params{Activities: o.Activities, Duration: o.Duration, Local: o.Local}
	runs = make([]client.WorkflowRun, o.Workflows)
	errs = make([]error, o.Workflows)
	var wg sync.WaitGroup
	next := make(chan int)
	for range o.Starters {
		wg.Go(func() {
			for i := range next {
				runs[i], errs[i] = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID:                       fmt.Sprintf("%s-%d", o.TaskQueue, i),
					TaskQueue:                o.TaskQueue,
					EnableEagerStart:         o.EagerStart,
					WorkflowExecutionTimeout: 10 * time.Minute,
				}, Workflow, p)
			}
		})
	}
	for i := range o.Workflows {
		next <- i
	}
	close(next)
	wg.Wait()
	return runs, errs
}

// waitAll waits for every run: done[i] is the activities run i completed,
// errs[i] its error.
func waitAll(ctx context.Context, runs []client.WorkflowRun) (done []int, errs []error) {
	done = make([]int, len(runs))
	errs = make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { errs[i] = r.Get(ctx, &done[i]) })
	}
	wg.Wait()
	return done, errs
}
