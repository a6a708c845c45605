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
	address, namespace, serverContainer, pgContainer := o.temporalAddress, w.namespace, *temporalContainer, *postgresContainer
	if address == "" {
		fmt.Println("starting the Temporal core of the dev Definition (postgresql, temporal-schema, temporal, temporal-namespace) ...")
		began := time.Now()
		st, err := harness.StartCore(ctx, o.stackConfig)
		if err != nil {
			return err
		}
		defer closeStack(st)
		fmt.Printf("stack up in %s\n", time.Since(began).Round(100*time.Millisecond))
		address = st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC)
		env, err := harness.WorkerEnv(st, "", nil)
		if err != nil {
			return err
		}
		namespace = env["TEMPORAL_NAMESPACE"]
		serverContainer = st.Container(stacks.ServiceTemporal).GetContainerID()
		pgContainer = st.Container(stacks.ServicePostgres).GetContainerID()
	}
	rec := loadwf.NewRecorder()
	c, err := dialTemporal(ctx, address, namespace, rec)
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
	fmt.Printf("temporal: %s, namespace %s, task queue %s\n", address, namespace, lo.TaskQueue)

	before, berr := readUsage(ctx, serverContainer)
	pgBefore, pberr := readUsage(ctx, pgContainer)
	toolBefore := workerCPU()
	res, runErr := loadwf.Run(ctx, c, rec, lo)
	toolCPU := workerCPU() - toolBefore
	after, aerr := readUsage(ctx, serverContainer)
	pgAfter, paerr := readUsage(ctx, pgContainer)

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
	switch {
	case serverContainer == "":
		fmt.Println("server CPU and memory: not read (give -temporal-container with -temporal-address)")
	case berr != nil || aerr != nil:
		fmt.Printf("server CPU and memory: unreadable: %v\n", firstErr(berr, aerr))
	default:
		cpu := after.CPU - before.CPU
		fmt.Printf("temporal server: %.1f CPU-seconds (%.2f cores on average over the run), memory at the end %.1f MiB\n",
			cpu.Seconds(), cpu.Seconds()/res.Wall.Seconds(), float64(after.Memory)/(1<<20))
		parts := []cpuPart{{"tool (starters and worker)", toolCPU}, {stacks.ServiceTemporal, cpu}}
		if pgContainer != "" && pberr == nil && paerr == nil {
			parts = append(parts, cpuPart{stacks.ServicePostgres, pgAfter.CPU - pgBefore.CPU})
		}
		each := make([]string, len(parts))
		for i, p := range parts {
			each[i] = fmt.Sprintf("%s %.1f", p.name, p.cpu.Seconds()*1000/float64(res.Workflows))
		}
		fmt.Printf("cpu per workflow: %.1f ms (%s); %.2f cores on average\n",
			sumCPU(parts).Seconds()*1000/float64(res.Workflows), strings.Join(each, ", "), sumCPU(parts).Seconds()/res.Wall.Seconds())
	}
	return runErr
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
