package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/harness"
)

// actionCount is a job's Temporal actions, in the sense Temporal Cloud
// bills them, counted from the server's history of every run plus the
// heartbeat RPCs the SDK sent (heartbeats are not history events).
type actionCount struct {
	runs             int // WorkflowExecutionStarted: the start and each continue-as-new
	activities       int // ActivityTaskScheduled
	activityAttempts int // sum of the attempt numbers of ActivityTaskStarted: every try, retries included
	timers, signals  int // TimerStarted, WorkflowExecutionSignaled
	heartbeats       int // RecordActivityTaskHeartbeat requests (SDK request counter)
	workflowTasks    int // WorkflowTaskCompleted: not billed, shown for the server's load
	events           int
	runIDs           []string // oldest first
	status           enumspb.WorkflowExecutionStatus
}

func (a actionCount) total() int {
	return a.runs + a.activityAttempts + a.timers + a.signals + a.heartbeats
}

func countActions(ctx context.Context, c client.Client, workflowID string) (actionCount, error) {
	runs, err := harness.Histories(ctx, c, workflowID)
	if err != nil {
		return actionCount{}, err
	}
	var a actionCount
	for _, r := range runs {
		a.runIDs = append(a.runIDs, r.RunID)
		for _, e := range r.History.GetEvents() {
			a.events++
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				a.runs++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				a.activities++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				a.activityAttempts += int(e.GetActivityTaskStartedEventAttributes().GetAttempt())
			case enumspb.EVENT_TYPE_TIMER_STARTED:
				a.timers++
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a.signals++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				a.workflowTasks++
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
				a.status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
			}
		}
	}
	return a, nil
}

func report(ctx context.Context, o options, res map[string]pathResult, st *stacktest.Stack) {
	fmt.Println()
	fmt.Println("==== results ====")
	fmt.Printf("rows per path %d, simulated latency %s per external call, concurrency %d, batch %d rows x %d per stage\n",
		o.rows, o.latency, o.concurrency, o.batchSize, o.parallelism)
	line := func(label string, r pathResult) {
		fmt.Printf("%-14s %8.1f rows/s   (%d rows in %s; %d ok, %d failed; peak RSS of this process %s)\n",
			label, r.rowsPerSec(), r.rows, r.wall.Round(10*time.Millisecond), r.ok, r.failed, mib(r.peakRSS))
	}
	tp, hasT := res["temporal"]
	ip, hasI := res["inprocess"]
	if hasT {
		line("(a) temporal", tp)
	}
	if hasI {
		line("(b) in-process", ip)
	}
	if hasT && hasI {
		fmt.Printf("ratio temporal / in-process: %.3f (goal >= 0.9)\n", tp.rowsPerSec()/ip.rowsPerSec())
	}
	if hasT && tp.actions != nil {
		a := tp.actions
		fmt.Printf("Temporal actions per row: %.4f (goal <= 0.02)\n", float64(a.total())/float64(tp.rows))
		fmt.Printf("  = (%d workflow runs started [1 + continue-as-new] + %d activity attempts [%d activities, retries included]"+
			" + %d heartbeat RPCs + %d timers + %d signals) / %d rows = %d actions\n",
			a.runs, a.activityAttempts, a.activities, a.heartbeats, a.timers, a.signals, tp.rows, a.total())
		fmt.Printf("  counted from the server's history of every run (heartbeats from the SDK's temporal_request counter; no queries were sent)\n")
		fmt.Printf("  not billed, for the server's load: %d workflow tasks (%.4f per row), %d history events (%.4f per row)\n",
			a.workflowTasks, float64(a.workflowTasks)/float64(tp.rows), a.events, float64(a.events)/float64(tp.rows))
	}
	if st != nil {
		for _, svc := range []string{stacks.ServiceTemporal, stacks.ServicePostgres} {
			if mb, err := st.MemoryMB(ctx, svc); err == nil {
				fmt.Printf("container memory after the run: %-10s %7.1f MiB\n", svc, mb)
			}
		}
	}
}

// resetPeakRSS restarts the kernel's peak-RSS counter of this process
// (VmHWM), so each path reports its own peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM of this process, in bytes (0 where /proc is missing).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
