package enrichment

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ampledata/temporal-kit/worker/fetch"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/pipeline"
	"github.com/ampledata/temporal-kit/worker/serp"
)

// The tests run the real workflow and the real batch activities; the
// stages talk to the fixture server on loopback and the store is memDB.

func newActivities(t *testing.T, db DB, latency time.Duration) *Activities {
	t.Helper()
	srv := httptest.NewServer(fixture.New(latency, "k"))
	t.Cleanup(srv.Close)
	proxy, _ := url.Parse(srv.URL)
	f := fetch.New(fetch.Options{UserAgent: "test", Timeout: 5 * time.Second, MaxBytes: 1 << 20, PerHost: 2,
		Proxy: func(*http.Request) (*url.URL, error) { return proxy, nil }})
	st := pipeline.NewStages(serp.New(srv.URL, "k", 5*time.Second, 16), f, nil, fixture.ExpectedMaxPages, 16, 16)
	return &Activities{DB: db, Stages: st, FlushEvery: 4, HeartbeatEvery: 20 * time.Millisecond}
}

func newEnv(t *testing.T, acts *Activities) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(JobWorkflow)
	env.RegisterActivity(acts)
	env.SetTestTimeout(2 * time.Minute)
	return env
}

func input(rows int) JobInput {
	return JobInput{JobID: "job-test", TotalRows: rows, BatchSize: 5, Parallelism: 3, BatchesPerRun: 100, RowAttempts: 3, SearchQueue: "enrichment-serp"}
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) *Progress {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var p Progress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// checkStored compares every stored row with the fixture's expectation.
func checkStored(t *testing.T, db *memDB, rows []fixture.Row, wantAll bool) {
	t.Helper()
	stored := db.stored()
	if wantAll && len(stored) != len(rows) {
		t.Errorf("%d rows stored, want %d", len(stored), len(rows))
	}
	for _, got := range stored {
		want, err := fixture.ExpectedFor(rows[got.Row].Name, rows[got.Row].Domain)
		if err != nil {
			t.Fatal(err)
		}
		if d := want.Diff(fixture.Got{OK: got.OK, Stage: got.Stage, ErrorClass: got.ErrorClass, SiteURL: got.SiteURL, Pages: got.Pages, Fields: got.Fields}); d != "" {
			t.Errorf("row %d: %s", got.Row, d)
		}
	}
}

func TestJobStoresEveryRowWithRetriesAndPartialFailure(t *testing.T) {
	rows := fixture.MixedRows(1, 2) // recorded, ok, flaky, no site, robots, gone, broken
	db := newMemDB(rows)
	env := newEnv(t, newActivities(t, db, 0))
	env.ExecuteWorkflow(JobWorkflow, input(len(rows)))
	p := result(t, env)
	checkStored(t, db, rows, true)

	wantOK, wantClasses := 0, map[string]int{}
	for _, r := range rows {
		e, _ := fixture.ExpectedFor(r.Name, r.Domain)
		if e.Status == "ok" {
			wantOK++
		} else {
			wantClasses[e.ErrorClass]++
		}
	}
	if p.State != StateCompleted || p.Done != len(rows) || p.OK != wantOK || p.Failed != len(rows)-wantOK {
		t.Errorf("progress %+v, want %d done, %d ok", p, len(rows), wantOK)
	}
	for c, n := range wantClasses {
		if p.ErrorClasses[c] != n {
			t.Errorf("error class %s: %d, want %d (all %v)", c, p.ErrorClasses[c], n, p.ErrorClasses)
		}
	}
	// Flaky rows fail their first search and Broken rows every fetch:
	// their batches are retried by Temporal, so attempts exceed activities.
	if p.ActivityAttempts <= 2*p.Batches {
		t.Errorf("activity attempts %d for %d batches: transient rows were not retried", p.ActivityAttempts, p.Batches)
	}
	if p.Stages[pipeline.StageStore].OK != len(rows) || p.Stages[pipeline.StageFetch].OK != wantOK {
		t.Errorf("stages %+v", p.Stages)
	}
	if p.ActionsPerRow() > 2 {
		t.Errorf("%.2f actions per row", p.ActionsPerRow())
	}
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var q Progress
	if err := v.Get(&q); err != nil || q.Done != p.Done || q.State != StateCompleted {
		t.Errorf("progress query %+v %v", q, err)
	}
}

func TestStoreOutageIsRetriedAndCountsStayExact(t *testing.T) {
	rows := fixture.SyntheticRows(40)
	db := newMemDB(rows)
	db.failSaves = 5 // half of a group lands, then the connection drops, five times
	env := newEnv(t, newActivities(t, db, 0))
	env.ExecuteWorkflow(JobWorkflow, input(len(rows)))
	p := result(t, env)
	checkStored(t, db, rows, true)
	if p.Done != 40 || p.OK != 40 || p.Failed != 0 || p.Stages[pipeline.StageStore].OK != 40 {
		t.Errorf("progress counts rows twice or loses them: %+v", p)
	}
	if p.ActivityAttempts < 2*p.Batches+5 {
		t.Errorf("activity attempts %d: the store errors were not retried", p.ActivityAttempts)
	}
}

func TestRetriedBatchResumesFromItsHeartbeat(t *testing.T) {
	rows := fixture.SyntheticRows(5)
	db := newMemDB(rows)
	acts := newActivities(t, db, 0)
	acts.FlushEvery = 1 // every row is written and heartbeated on its own
	saves := 0
	db.before = func() error { // the fourth write finds the database gone
		saves++
		if saves == 4 {
			return errDown
		}
		return nil
	}
	env := newEnv(t, acts)
	env.ExecuteWorkflow(JobWorkflow, input(5))
	p := result(t, env)
	if len(db.stored()) != 5 || p.Done != 5 {
		t.Fatalf("%d rows stored, progress %+v", len(db.stored()), p)
	}
	for row, n := range db.writes {
		if n != 1 {
			t.Errorf("row %d written %d times: the retry did not resume from the heartbeat", row, n)
		}
	}
}

func TestCancelStopsCleanly(t *testing.T) {
	rows := fixture.SyntheticRows(60)
	db := newMemDB(rows)
	env := newEnv(t, newActivities(t, db, 50*time.Millisecond))
	in := input(len(rows))
	in.Parallelism = 2
	var once sync.Once
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "EnrichBatch" {
			once.Do(env.CancelWorkflow)
		}
	})
	env.ExecuteWorkflow(JobWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not end after cancel")
	}
	var canceled *temporal.CanceledError
	if err := env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("want a cancelled workflow, got %v", err)
	}
	stored := db.stored()
	if len(stored) == 0 || len(stored) >= len(rows) {
		t.Errorf("%d of %d rows stored: cancel should stop the job part-way", len(stored), len(rows))
	}
	checkStored(t, db, rows, false)
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var q Progress
	if err := v.Get(&q); err != nil || q.State != StateCancelled {
		t.Errorf("progress after cancel %+v %v", q, err)
	}
}

// runToEnd runs the workflow and every continue-as-new run after it, as
// the server would, and returns the last run's progress and the runs.
func runToEnd(t *testing.T, acts *Activities, in JobInput, suggestCAN bool) (*Progress, int) {
	t.Helper()
	for runs := 1; runs < 100; runs++ {
		env := newEnv(t, acts)
		env.SetContinueAsNewSuggested(suggestCAN)
		env.ExecuteWorkflow(JobWorkflow, in)
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); errors.As(err, &can) {
			if can.WorkflowType.Name != "JobWorkflow" {
				t.Fatalf("continued as %s", can.WorkflowType.Name)
			}
			in = JobInput{}
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
				t.Fatal(err)
			}
			continue
		}
		return result(t, env), runs
	}
	t.Fatal("no end after 100 runs")
	return nil, 0
}

func TestContinueAsNewCarriesProgress(t *testing.T) {
	rows := fixture.SyntheticRows(23)
	db := newMemDB(rows)
	in := input(len(rows))
	in.BatchesPerRun = 2 // 5 batches: runs of 2, 2 and 1
	p, runs := runToEnd(t, newActivities(t, db, 0), in, false)
	if runs != 3 || p.Runs != 3 {
		t.Errorf("runs %d (progress says %d), want 3", runs, p.Runs)
	}
	if p.Done != 23 || p.OK != 23 || p.BatchesDone != 5 || p.Batches != 5 {
		t.Errorf("progress across runs %+v", p)
	}
	checkStored(t, db, rows, true)
}

func TestContinueAsNewWhenTheServerSuggestsIt(t *testing.T) {
	rows := fixture.SyntheticRows(12)
	db := newMemDB(rows)
	in := input(len(rows))
	in.Parallelism = 1
	p, runs := runToEnd(t, newActivities(t, db, 0), in, true)
	// Each run starts one batch, then sees the suggestion: 3 batches, 3 runs.
	if runs != 3 || p.Done != 12 {
		t.Errorf("runs %d, progress %+v", runs, p)
	}
}

func TestBadInputFailsWithoutRetry(t *testing.T) {
	env := newEnv(t, &Activities{})
	in := input(10)
	in.BatchSize = 0
	env.ExecuteWorkflow(JobWorkflow, in)
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(app.Error(), "BatchSize 0") {
		t.Fatalf("want a non-retryable error naming BatchSize, got %v", err)
	}
}

func TestBatchFailingForGoodFailsTheJob(t *testing.T) {
	var a *Activities
	env := newEnv(t, &Activities{})
	env.OnActivity(a.SearchBatch, mock.Anything, mock.Anything).Return(BatchResult{Attempts: 1}, nil)
	env.OnActivity(a.EnrichBatch, mock.Anything, mock.MatchedBy(func(in BatchInput) bool { return in.Batch == 1 })).
		Return(BatchResult{}, temporal.NewNonRetryableApplicationError("schema mismatch", "Bug", nil))
	env.OnActivity(a.EnrichBatch, mock.Anything, mock.Anything).Return(BatchResult{OK: 5, Attempts: 1}, nil)
	env.ExecuteWorkflow(JobWorkflow, input(15))
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "1 of 3 batches failed for good; 5 of 15 rows are not stored") {
		t.Fatalf("want the job to fail naming the lost batch, got %v", err)
	}
}
