package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerstats"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/config"
)

// What each path costs: CPU per row of this process (the worker) and of
// the path's containers, profiles (-profile), the busiest PostgreSQL
// statements, and the growth of the databases and of the job's history.
var (
	profileDir        = flag.String("profile", "", "write CPU profiles of this process (each path) and of the Temporal server (temporal path) to this directory, and print their top functions and PostgreSQL's busiest statements")
	profileSeconds    = flag.Int("profile-seconds", 0, "with -profile: seconds of the Temporal server's CPU profile, from the temporal path's start (0: twice the in-process path's time if it ran first, at least 5, else 30); the report waits for it to end")
	temporalContainer = flag.String("temporal-container", "", "with -temporal-address: the Temporal server's container (name or ID, e.g. temporal-kit-dev-temporal) to count and profile")
	postgresContainer = flag.String("postgres-container", "", "with -temporal-address: PostgreSQL's container (name or ID, e.g. temporal-kit-dev-postgresql) to count")
	workerContainer   = flag.String("worker-container", "", "with -temporal-address: the stack's own worker container (e.g. temporal-kit-dev-worker), which polls the same task queues and so runs some of the temporal path's activities, to count on that path")
)

// pathContainers are the services whose CPU belongs to a path, besides the
// worker (this process).
var pathContainers = map[string][]string{
	"inprocess": {stacks.ServicePostgres},
	"temporal":  {stacks.ServiceTemporal, stacks.ServicePostgres, stacks.ServiceWorker},
}

func pathLabel(p string) string {
	if p == "inprocess" {
		return "in-process"
	}
	return p
}

// cpuPart is the CPU time one process or container spent during a path.
type cpuPart struct {
	name string
	cpu  time.Duration
}

// per1000 is seconds per 1,000 rows.
func per1000(d time.Duration, rows int) float64 {
	if rows <= 0 {
		return 0
	}
	return d.Seconds() * 1000 / float64(rows)
}

func sumCPU(parts []cpuPart) time.Duration {
	var t time.Duration
	for _, p := range parts {
		t += p.cpu
	}
	return t
}

// formatCPULine is "cpu per 1000 rows: in-process 1.23 s (worker 0.90, postgresql 0.33)".
func formatCPULine(label string, parts []cpuPart, rows int) string {
	each := make([]string, len(parts))
	for i, p := range parts {
		each[i] = fmt.Sprintf("%s %.2f", p.name, per1000(p.cpu, rows))
	}
	return fmt.Sprintf("cpu per 1000 rows: %s %.2f s (%s)", label, per1000(sumCPU(parts), rows), strings.Join(each, ", "))
}

// workerCPU is this process's CPU time, user and system.
func workerCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pathUsage is what accounting measured for one path.
type pathUsage struct {
	name       string
	rows       int
	cpu        []cpuPart
	cpuNote    string
	workerBase time.Duration
	ctrBase    map[string]time.Duration
	dbBefore   map[string]int64
	dbAfter    map[string]int64
	dbErr      error
	prof       *pathProfile
}

// accounting samples the worker and the containers around each path.
type accounting struct {
	docker     *dockerstats.Client
	containers map[string]string // service -> container name or ID
	noCount    string            // why containers are not counted, when they are not
	st         *stacktest.Stack
	temporal   client.Client
	pg         *pgx.Conn // the postgres database, for sizes and statements
	pgErr      error
	workerDB   string
	rows       int
	paths      []*pathUsage
	cur        *pathUsage
	prevWall   time.Duration // the last path's wall time, for -profile-seconds 0
}

func newAccounting(ctx context.Context, o options, st *stacktest.Stack, env map[string]string, tc client.Client) *accounting {
	a := &accounting{st: st, temporal: tc, rows: o.rows, containers: map[string]string{}}
	if st != nil {
		for _, svc := range []string{stacks.ServiceTemporal, stacks.ServicePostgres} {
			if c := st.Container(svc); c != nil {
				a.containers[svc] = c.GetContainerID()
			}
		}
	} else {
		if *temporalContainer != "" {
			a.containers[stacks.ServiceTemporal] = *temporalContainer
		}
		if *postgresContainer != "" {
			a.containers[stacks.ServicePostgres] = *postgresContainer
		}
		if *workerContainer != "" {
			a.containers[stacks.ServiceWorker] = *workerContainer
		}
		if len(a.containers) == 0 {
			a.noCount = "containers are not counted (-temporal-address without -temporal-container, -postgres-container, -worker-container): the figures are this process's alone"
		}
	}
	if len(a.containers) > 0 {
		d, err := dockerstats.New()
		if err == nil {
			for svc, c := range a.containers {
				if _, err = d.Sample(ctx, c); err != nil {
					err = fmt.Errorf("%s: %w", svc, err)
					break
				}
			}
		}
		if err != nil {
			a.noCount = fmt.Sprintf("containers are not counted: %v", err)
			a.containers = map[string]string{}
			if d != nil {
				_ = d.Close()
			}
		} else {
			a.docker = d
		}
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		a.pgErr = err
		return a
	}
	a.workerDB = cfg.PGDatabase
	a.pg, a.pgErr = pgx.Connect(ctx, cfg.PostgresURL("postgres"))
	if a.pgErr != nil {
		a.pgErr = fmt.Errorf("postgresql (database postgres, from PGHOST, PGPORT, PGUSER, PGPASSWORD): %w", a.pgErr)
	}
	return a
}

func (a *accounting) close() {
	if a.docker != nil {
		_ = a.docker.Close()
	}
	if a.pg != nil {
		_ = a.pg.Close(context.Background())
	}
}

func (a *accounting) services(path string) []string {
	list, ok := pathContainers[path]
	if !ok {
		list = []string{stacks.ServiceTemporal, stacks.ServicePostgres}
	}
	var out []string
	for _, s := range list {
		if _, ok := a.containers[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

func (a *accounting) containerCPU(ctx context.Context, services []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, svc := range services {
		s, err := a.docker.Sample(ctx, a.containers[svc])
		if err != nil {
			return nil, err
		}
		out[svc] = s.CPU
	}
	return out, nil
}

// begin is called right before a path runs.
func (a *accounting) begin(ctx context.Context, path string) {
	u := &pathUsage{name: path, rows: a.rows}
	a.cur = u
	a.paths = append(a.paths, u)
	u.dbBefore, u.dbErr = a.databaseSizes(ctx)
	if *profileDir != "" {
		u.prof = a.startProfiles(ctx, path)
	}
	var err error
	if u.ctrBase, err = a.containerCPU(ctx, a.services(path)); err != nil {
		u.cpuNote = fmt.Sprintf("containers not counted: %v", err)
		u.ctrBase = nil
	}
	u.workerBase = workerCPU()
}

// end is called right after a path returned.
func (a *accounting) end(ctx context.Context, wall time.Duration) {
	u := a.cur
	if u == nil {
		return
	}
	a.cur = nil
	u.cpu = []cpuPart{{"worker", workerCPU() - u.workerBase}}
	if u.ctrBase != nil {
		now, err := a.containerCPU(ctx, a.services(u.name))
		if err != nil {
			u.cpuNote = fmt.Sprintf("containers not counted: %v", err)
		} else {
			for _, svc := range a.services(u.name) {
				name := svc
				if svc == stacks.ServiceWorker {
					name = "worker container" // "worker" is this process
				}
				u.cpu = append(u.cpu, cpuPart{name, now[svc] - u.ctrBase[svc]})
			}
		}
	}
	if u.prof != nil {
		a.stopProfiles(ctx, u.prof)
	}
	if sizes, err := a.databaseSizes(ctx); err == nil {
		u.dbAfter = sizes
	} else if u.dbErr == nil {
		u.dbErr = err
	}
	a.prevWall = wall
}

// report prints the CPU per row, the profiles and the growth.
func (a *accounting) report(ctx context.Context, res map[string]pathResult) {
	fmt.Println()
	fmt.Println("==== CPU per row ====")
	if a.noCount != "" {
		fmt.Println(a.noCount)
	}
	perPath := map[string]float64{}
	for _, u := range a.paths {
		if _, ok := res[u.name]; !ok || u.cpu == nil {
			continue
		}
		fmt.Println(formatCPULine(pathLabel(u.name), u.cpu, u.rows))
		if u.cpuNote != "" {
			fmt.Printf("  %s\n", u.cpuNote)
		}
		perPath[u.name] = per1000(sumCPU(u.cpu), u.rows)
	}
	if t, i := perPath["temporal"], perPath["inprocess"]; t > 0 && i > 0 {
		fmt.Printf("cpu per row ratio temporal / in-process: %.2f\n", t/i)
	}
	fmt.Println("  (worker: this process's user+system time, getrusage; containers: their cgroup's CPU time from the Docker stats API;" +
		" the fixture server runs in a child process and is not counted)")
	if *profileDir != "" {
		a.reportProfiles()
	}
	a.reportGrowth(ctx, res)
}
