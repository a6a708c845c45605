// Command loadtest pushes N synthetic rows through (a) the Temporal path
// (job API, job workflow, batch activities) and (b) the in-process channel
// pipeline with the same stages and concurrency (the "simple fixes"
// baseline), against the fixture server with a simulated latency per
// external call, and prints rows/s of each, their ratio, the Temporal
// actions per row, CPU per 1000 rows, the databases' growth and the peak
// RSS. With -mode workflows it runs the seed's test instead: N workflows
// at once, K activities (or local activities) each, one worker.
//
//	go run ./worker/cmd/loadtest -rows 10000 -latency 50ms
//	go run ./worker/cmd/loadtest -mode workflows [-local]
//
// Without -temporal-address it starts the Temporal core of the dev
// Definition (local images) with testcontainers and removes it at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/harness"
)

type options struct {
	rows, concurrency, batchSize, parallelism, perDomain int
	latency, every                                       time.Duration
	temporalAddress, paths                               string
	verbose                                              bool
	mode                                                 string
	stackConfig                                          configFlag
	wf                                                   wfOptions
}

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 10000, "rows per path")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "simulated latency of every external call (SERP query, robots.txt, page)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent searches and concurrent rows fetching, in both paths")
	flag.IntVar(&o.batchSize, "batch-size", 1000, "Temporal path: rows per batch activity")
	flag.IntVar(&o.parallelism, "parallelism", 4, "Temporal path: batches of the job in each stage (search, enrich)")
	flag.IntVar(&o.perDomain, "per-domain", 2, "concurrent requests per site")
	flag.StringVar(&o.temporalAddress, "temporal-address", "", "use this Temporal frontend (and PostgreSQL from PGHOST, PGPORT, PGUSER, PGPASSWORD) instead of starting the core with testcontainers")
	flag.StringVar(&o.paths, "paths", "inprocess,temporal", "paths to run, in order")
	flag.DurationVar(&o.every, "progress", 2*time.Second, "progress line interval")
	flag.BoolVar(&o.verbose, "v", false, "worker logs at info level (default: warnings)")
	o.stackConfig = configFlag{}
	flag.Var(o.stackConfig, "config", "stack config key=value for the core this tool starts (repeatable), e.g. -config historyShards=64")
	flag.StringVar(&o.mode, "mode", "rows", "rows: an enrichment job through both paths; workflows: the seed's test, N workflows of K activities at once")
	flag.IntVar(&o.wf.workflows, "workflows", 1000, "workflows mode: workflows started at once")
	flag.IntVar(&o.wf.activities, "activities", 4, "workflows mode: activities per workflow, in sequence")
	flag.DurationVar(&o.wf.duration, "activity-duration", 50*time.Millisecond, "workflows mode: how long each activity takes")
	flag.BoolVar(&o.wf.local, "local", false, "workflows mode: local activities instead of activities")
	flag.IntVar(&o.wf.slots, "activity-slots", 200, "workflows mode: concurrent activities (and local activities) in the worker")
	flag.IntVar(&o.wf.wftPollers, "wft-pollers", 16, "workflows mode: the worker's concurrent workflow-task polls")
	flag.IntVar(&o.wf.actPollers, "activity-pollers", 16, "workflows mode: the worker's concurrent activity-task polls")
	flag.IntVar(&o.wf.starters, "starters", 50, "workflows mode: concurrent StartWorkflowExecution calls")
	flag.BoolVar(&o.wf.eagerStart, "eager-start", true, "workflows mode: eager workflow start (the first workflow task comes back with the start)")
	flag.StringVar(&o.wf.namespace, "namespace", "ampledata", "workflows mode with -temporal-address: the namespace")
	flag.Parse()
	if *serveFixturesFlag {
		if err := serveFixtures(o.latency); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest -serve-fixtures:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.rows < 1 || o.concurrency < 1 || o.batchSize < 1 || o.parallelism < 1 || o.perDomain < 1 {
		return fmt.Errorf("-rows, -concurrency, -batch-size, -parallelism and -per-domain must be at least 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Printf("command: %s\n", strings.Join(os.Args, " "))
	switch o.mode {
	case "rows":
	case "workflows":
		return runWorkflows(ctx, o)
	default:
		return fmt.Errorf("-mode %q: use rows or workflows", o.mode)
	}

	fxSrv, err := startFixtures(o.latency) // a child process: its CPU is not the worker's
	if err != nil {
		return err
	}
	defer fxSrv.Close()

	var env map[string]string
	var st *stacktest.Stack
	if o.temporalAddress == "" {
		if st, err = startCore(ctx, o); err != nil {
			return err
		}
		defer closeStack(st)
		if env, err = harness.WorkerEnv(st, fxSrv.URL, nil); err != nil {
			return err
		}
	} else {
		env = addressEnv(o.temporalAddress, fxSrv.URL)
	}
	w, err := startWorker(ctx, o, env)
	if err != nil {
		return err
	}
	defer w.Stop()

	fmt.Printf("rows per path: %d; simulated latency per external call: %s; per row: 1 SERP query + robots.txt + home page + contact page, extract, store\n",
		o.rows, o.latency)
	fmt.Printf("concurrency (both paths): %d searches, %d rows fetching, %d requests per site; Temporal path: batches of %d rows, %d batches in each stage (search, enrich)\n",
		o.concurrency, o.concurrency, o.perDomain, o.batchSize, o.parallelism)

	acct := newAccounting(ctx, o, st, env, w.Svc.Temporal)
	defer acct.close()
	results, err := runPaths(ctx, o, w, acct)
	if err != nil {
		return err
	}
	searches, pages, err := fxSrv.Counts()
	if err != nil {
		return err
	}
	fmt.Printf("fixture server answered %d SERP queries and %d page requests\n", searches, pages)
	report(ctx, o, results, st)
	acct.report(ctx, results)
	return nil
}

// startCore starts the Temporal core of the dev Definition with the -config
// overrides; the caller closes it (closeStack).
func startCore(ctx context.Context, o options) (*stacktest.Stack, error) {
	fmt.Println("starting the Temporal core of the dev Definition (postgresql, temporal-schema, temporal, temporal-namespace) ...")
	began := time.Now()
	st, err := harness.StartCore(ctx, o.stackConfig)
	if err != nil {
		return nil, err
	}
	fmt.Printf("stack up in %s\n", time.Since(began).Round(100*time.Millisecond))
	return st, nil
}

// addressEnv is the worker's environment for the Temporal frontend at
// address: this process's environment (PostgreSQL's PG* variables) with the
// fixture server standing in for the SERP API and the web.
func addressEnv(address, fixtureURL string) map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["TEMPORAL_ADDRESS"] = address
	env["SERP_API_URL"], env["SERP_API_KEY"], env["HTTP_PROXY"] = fixtureURL, harness.FixtureKey, fixtureURL
	env["API_ADDR"] = "127.0.0.1:0"
	return env
}

// startWorker starts the worker in this process with env and the flags'
// concurrency, logging warnings (info with -v).
func startWorker(ctx context.Context, o options, env map[string]string) (*harness.Worker, error) {
	for k, v := range map[string]int{
		"SEARCH_CONCURRENCY": o.concurrency, "FETCH_CONCURRENCY": o.concurrency, "FETCH_PER_DOMAIN": o.perDomain,
		"BATCH_SIZE": o.batchSize, "BATCH_PARALLELISM": o.parallelism, "ACTIVITY_SLOTS": 2 * o.parallelism,
	} {
		env[k] = strconv.Itoa(v)
	}
	level := "warn"
	if o.verbose {
		level = "info"
	}
	env["LOG_LEVEL"] = level
	logLevel := map[string]slog.Level{"warn": slog.LevelWarn, "info": slog.LevelInfo}[level]
	return harness.StartWorker(ctx, env, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})))
}

// runPaths runs each path of -paths in turn, accounting for each.
func runPaths(ctx context.Context, o options, w *harness.Worker, acct *accounting) (map[string]pathResult, error) {
	results := map[string]pathResult{}
	next := 1 // each path gets its own companies, so no robots.txt is cached across paths
	for _, p := range strings.Split(o.paths, ",") {
		var r pathResult
		var err error
		acct.begin(ctx, strings.TrimSpace(p))
		switch strings.TrimSpace(p) {
		case "inprocess":
			r, err = runInProcess(ctx, w, o, next)
		case "temporal":
			r, err = runTemporal(ctx, w, o, next)
		default:
			return nil, fmt.Errorf("-paths: unknown path %q; use inprocess and/or temporal", p)
		}
		acct.end(ctx, r.wall)
		if err != nil {
			return nil, fmt.Errorf("%s path: %w", p, err)
		}
		results[strings.TrimSpace(p)] = r
		next += o.rows
	}
	return results, nil
}

// configFlag collects -config key=value pairs.
type configFlag map[string]string

func (c configFlag) String() string { return fmt.Sprint(map[string]string(c)) }

func (c configFlag) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value (a stack config key without the temporal-kit: prefix)", kv)
	}
	c[k] = v
	return nil
}
