package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ampledata/temporal-kit/backup/manifest"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// BenchmarkBackupRestore prints the backup service's figures for a stack
// holding many completed workflows (KIT_BENCH_WORKFLOWS, default 10000):
// backup time and size, and the time of a verification restore (restore
// into scratch databases, count, drop). Too slow for every CI run:
//
//	go test ./stacks/integration/ -run '^$' -bench BackupRestore -benchtime 1x -timeout 60m -v
func BenchmarkBackupRestore(b *testing.B) {
	stacktest.RequireDocker(b)
	n := 10000
	if v := os.Getenv("KIT_BENCH_WORKFLOWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("KIT_BENCH_WORKFLOWS=%q: %v", v, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	def := stacktest.LocalDev(b, map[string]string{})
	st := stacktest.Start(b, def, stacktest.Only(stacks.ServiceBackup, stacks.ServiceNamespace))
	if _, err := pgConn(ctx, b, st, "postgres").Exec(ctx, `CREATE DATABASE `+stacks.WorkerDatabase); err != nil {
		b.Fatal(err)
	}

	c, err := client.Dial(client.Options{HostPort: st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC), Namespace: "ampledata"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench", worker.Options{MaxConcurrentActivityExecutionSize: 200})
	w.RegisterWorkflowWithOptions(benchWorkflow, workflow.RegisterOptions{Name: "bench"})
	w.RegisterActivityWithOptions(benchActivity, activity.RegisterOptions{Name: "bench-step"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	began := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	ids := make(chan int)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-%06d", i), TaskQueue: "bench"}, "bench", i)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d workflows failed", failed.Load(), n)
	}
	b.Logf("FIGURE %d workflows (2 activities each) completed in %s", n, time.Since(began).Round(time.Second))
	time.Sleep(5 * time.Second) // visibility settles

	b.ResetTimer()
	began = time.Now()
	id := backupNow(ctx, b, st)
	backupTime := time.Since(began)
	var m manifest.Manifest
	if err := json.Unmarshal([]byte(readFile(ctx, b, st, path.Join(stacks.BackupDir, id, manifest.FileName))), &m); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, f := range m.Files() {
		total += f.Size
	}
	b.Logf("FIGURE backup of %d completed workflows: %s, %.1f MB in all", n, backupTime.Round(100*time.Millisecond), float64(total)/1e6)
	for _, d := range m.Databases {
		b.Logf("FIGURE   %-20s %8.1f MB in %s, rows %v", d.Name, float64(d.File.Size)/1e6, time.Duration(d.Duration).Round(10*time.Millisecond), d.Rows)
	}
	var dbSize int64
	if err := pgConn(ctx, b, st, "postgres").QueryRow(ctx, `SELECT sum(pg_database_size(datname))::bigint FROM pg_database WHERE datname IN ('temporal','temporal_visibility')`).Scan(&dbSize); err != nil {
		b.Fatal(err)
	}
	b.Logf("FIGURE   on-disk size of temporal + temporal_visibility: %.1f MB", float64(dbSize)/1e6)

	began = time.Now()
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "verify")
	if err != nil || code != 0 {
		b.Fatalf("verify: %d %v\n%s", code, err, out)
	}
	b.Logf("FIGURE verification restore (restore into scratch databases, count, drop): %s", time.Since(began).Round(100*time.Millisecond))
	for _, svc := range []string{stacks.ServicePostgres, stacks.ServiceBackup} {
		if mb, err := st.MemoryMB(ctx, svc); err == nil {
			b.Logf("FIGURE memory after the verification: %s %.1f MiB", svc, mb)
		}
	}
}

func benchWorkflow(ctx workflow.Context, i int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for step := range 2 {
		if err := workflow.ExecuteActivity(ctx, "bench-step", i, step).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func benchActivity(ctx context.Context, i, step int) (string, error) {
	return fmt.Sprintf("row %d step %d", i, step), nil
}
