package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	temporalclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerstats"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/harness"
	"github.com/ampledata/temporal-kit/worker/loadwf"
)

// wfOptions are the flags of -mode workflows (the seed's load test).
type wfOptions struct {
	workflows, activities, slots, wftPollers, actPollers, starters int
	duration                                                       time.Duration
	local, eagerStart                                              bool
	namespace                                                      string
}

// runWorkflows runs the seed's checklist test: N workflows at once, K
// activities each, one worker process with the given slots, against the
// stack at -temporal-address or the Temporal core it starts.
func runWorkflows(ctx context.Context, o options) error {
	w := o.wf
	t := wfTarget{address: o.temporalAddress, namespace: w.namespace, server: *temporalContainer, postgres: *postgresContainer}
	if t.address == "" {
		st, err := startCore(ctx, o)
		if err != nil {
			return err
		}
		defer closeStack(st)
		if t, err = coreTarget(st); err != nil {
			return err
		}
	}
	rec := loadwf.NewRecorder()
	c, err := dialTemporal(ctx, t.address, t.namespace, rec)
	if err != nil {
		return err
	}
	defer c.Close()

	lo := loadwf.Options{
		Workflows: w.workflows, Activities: w.activities, Duration: w.duration, Local: w.local,
		TaskQueue: fmt.Sprintf("loadtest-%d", time.Now().UnixNano()),
		Starters:  w.starters, EagerStart: w.eagerStart,
		Worker: worker.Options{
			MaxConcurrentActivityExecutionSize:      w.slots,
			MaxConcurrentLocalActivityExecutionSize: w.slots,
			MaxConcurrentWorkflowTaskPollers:        w.wftPollers,
			MaxConcurrentActivityTaskPollers:        w.actPollers,
		},
	}
	kind := "activities"
	if w.local {
		kind = "local activities"
	}
	fmt.Printf("workflows: %d at once, %d %s of %s each in sequence; one worker: %d slots, %d workflow-task pollers, %d activity-task pollers; %d starters, eager start %v\n",
		w.workflows, w.activities, kind, w.duration, w.slots, w.wftPollers, w.actPollers, w.starters, w.eagerStart)
	fmt.Printf("temporal: %s, namespace %s, task queue %s\n", t.address, t.namespace, lo.TaskQueue)

	var res loadwf.Result
	var runErr error
	u := measure(ctx, t, func() { res, runErr = loadwf.Run(ctx, c, rec, lo) })
	reportWorkflows(res, kind)
	reportServerUsage(t, res, u)
	return runErr
}

// wfTarget is the Temporal the workflows run against, and the containers
// of its server and PostgreSQL ("" when unknown: their usage is not read).
type wfTarget struct {
	address, namespace string
	server, postgres   string
}

// coreTarget is the Temporal core the tool started.
func coreTarget(st *stacktest.Stack) (wfTarget, error) {
	env, err := harness.WorkerEnv(st, "", nil)
	if err != nil {
		return wfTarget{}, err
	}
	return wfTarget{
		address:   st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC),
		namespace: env["TEMPORAL_NAMESPACE"],
		server:    st.Container(stacks.ServiceTemporal).GetContainerID(),
		postgres:  st.Container(stacks.ServicePostgres).GetContainerID(),
	}, nil
}

// containerUsage is a container's counters before and after the run; err
// is the first read that failed.
type containerUsage struct {
	before, after dockerstats.Sample
	err           error
}

// runUsage is what a run cost: the server's and PostgreSQL's counters and
// this tool's own CPU (the starters and the worker).
type runUsage struct {
	server, postgres containerUsage
	tool             time.Duration
}

// measure runs run and reads the usage around it.
func measure(ctx context.Context, t wfTarget, run func()) runUsage {
	var u runUsage
	var berr, pberr error
	u.server.before, berr = readUsage(ctx, t.server)
	u.postgres.before, pberr = readUsage(ctx, t.postgres)
	toolBefore := workerCPU()
	run()
	u.tool = workerCPU() - toolBefore
	var aerr, paerr error
	u.server.after, aerr = readUsage(ctx, t.server)
	u.postgres.after, paerr = readUsage(ctx, t.postgres)
	u.server.err, u.postgres.err = firstErr(berr, aerr), firstErr(pberr, paerr)
	return u
}

// reportWorkflows prints the run's counts, rates and latencies.
func reportWorkflows(res loadwf.Result, kind string) {
	fmt.Println()
	fmt.Println("==== results (workflows) ====")
	fmt.Printf("%d workflows (%d failed), %d %s in %s (all started after %s)\n",
		res.Workflows, res.Failed, res.Activities, kind, res.Wall.Round(10*time.Millisecond), res.StartWall.Round(10*time.Millisecond))
	if res.Wall > 0 {
		fmt.Printf("workflows/s %.1f   activities/s %.1f\n", res.WorkflowsPerSecond(), res.ActivitiesPerSecond())
	}
	for _, m := range []string{loadwf.WorkflowTaskScheduleToStart, loadwf.ActivityScheduleToStart, loadwf.StepScheduleToStart, loadwf.WorkflowEndToEnd} {
		p, ok := res.Latencies[m]
		if !ok {
			continue
		}
		fmt.Printf("%-52s n=%-5d p50 %-8s p95 %-8s p99 %-8s max %s\n", m, p.N,
			p.P50.Round(time.Millisecond), p.P95.Round(time.Millisecond), p.P99.Round(time.Millisecond), p.Max.Round(time.Millisecond))
	}
}

// reportServerUsage prints the server's CPU and memory, and the CPU per
// workflow of the tool, the server and PostgreSQL.
func reportServerUsage(t wfTarget, res loadwf.Result, u runUsage) {
	switch {
	case t.server == "":
		fmt.Println("server CPU and memory: not read (give -temporal-container with -temporal-address)")
	case u.server.err != nil:
		fmt.Printf("server CPU and memory: unreadable: %v\n", u.server.err)
	default:
		cpu := u.server.after.CPU - u.server.before.CPU
		fmt.Printf("temporal server: %.1f CPU-seconds (%.2f cores on average over the run), memory at the end %.1f MiB\n",
			cpu.Seconds(), cpu.Seconds()/res.Wall.Seconds(), float64(u.server.after.Memory)/(1<<20))
		parts := []cpuPart{{"tool (starters and worker)", u.tool}, {stacks.ServiceTemporal, cpu}}
		if t.postgres != "" && u.postgres.err == nil {
			parts = append(parts, cpuPart{stacks.ServicePostgres, u.postgres.after.CPU - u.postgres.before.CPU})
		}
		each := make([]string, len(parts))
		for i, p := range parts {
			each[i] = fmt.Sprintf("%s %.1f", p.name, p.cpu.Seconds()*1000/float64(res.Workflows))
		}
		fmt.Printf("cpu per workflow: %.1f ms (%s); %.2f cores on average\n",
			sumCPU(parts).Seconds()*1000/float64(res.Workflows), strings.Join(each, ", "), sumCPU(parts).Seconds()/res.Wall.Seconds())
	}
}

// dialTemporal connects, then waits (up to a minute) until a
// namespace-scoped call works: a namespace registered a moment ago is
// unknown to the frontend until its namespace cache refreshes.
func dialTemporal(ctx context.Context, address, namespace string, rec *loadwf.Recorder) (temporalclient.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := temporalclient.DialContext(dctx, temporalclient.Options{
		HostPort: address, Namespace: namespace, MetricsHandler: rec,
		// The SDK's own lines at warning and above only: the run prints its figures.
		Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", address, err)
	}
	for {
		_, err := c.DescribeTaskQueue(dctx, "loadtest", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			return c, nil
		}
		select {
		case <-dctx.Done():
			c.Close()
			return nil, fmt.Errorf("temporal at %s, namespace %s: %w", address, namespace, err)
		case <-time.After(time.Second):
		}
	}
}

func closeStack(st *stacktest.Stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "closing the stack:", err)
	}
}

// readUsage samples a container's counters (none without a container).
func readUsage(ctx context.Context, container string) (dockerstats.Sample, error) {
	if container == "" {
		return dockerstats.Sample{}, nil
	}
	cli, err := dockerstats.New()
	if err != nil {
		return dockerstats.Sample{}, err
	}
	defer cli.Close()
	return cli.Sample(ctx, container)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
