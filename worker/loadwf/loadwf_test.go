package loadwf

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
)

func TestSummarisePicksNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	got := Summarise(s)
	want := Percentiles{N: 100, P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("Summarise(1..100 ms) = %+v, want %+v", got, want)
	}
	if one := Summarise([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 || one.N != 1 {
		t.Fatalf("one sample: %+v", one)
	}
	if none := Summarise(nil); none != (Percentiles{}) {
		t.Fatalf("no samples: %+v", none)
	}
}

func TestWorkflowRunsEveryStepInSequence(t *testing.T) {
	for _, local := range []bool{false, true} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		calls := 0
		steps := &Steps{}
		env.RegisterActivity(steps)
		env.OnActivity(steps.Step, mock.Anything, 5*time.Millisecond).Return(func(context.Context, time.Duration) error {
			calls++
			return nil
		})
		env.ExecuteWorkflow(Workflow, Params{Activities: 4, Duration: 5 * time.Millisecond, Local: local})
		if err := env.GetWorkflowError(); err != nil {
			t.Fatalf("local=%v: %v", local, err)
		}
		var done int
		if err := env.GetWorkflowResult(&done); err != nil || done != 4 || calls != 4 {
			t.Fatalf("local=%v: result %d (%v), %d calls; want 4 and 4", local, done, err, calls)
		}
	}
}

func TestRecorderKeepsOnlyLatencies(t *testing.T) {
	r := NewRecorder()
	r.Timer(WorkflowTaskScheduleToStart).Record(3 * time.Millisecond)
	r.Timer("temporal_request_latency").Record(time.Second)
	r.WithTags(map[string]string{"a": "b"}).Timer(WorkflowTaskScheduleToStart).Record(5 * time.Millisecond)
	p := r.Percentiles()
	if len(p) != 1 || p[WorkflowTaskScheduleToStart].N != 2 || p[WorkflowTaskScheduleToStart].Max != 5*time.Millisecond {
		t.Fatalf("percentiles %+v; want only %s with 2 samples", p, WorkflowTaskScheduleToStart)
	}
	r.Reset()
	if len(r.Percentiles()) != 0 {
		t.Fatal("Reset kept samples")
	}
}
