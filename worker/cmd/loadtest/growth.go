package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ampledata/temporal-kit/stacks"
)

// databaseSizes is pg_database_size of every non-template database.
func (a *accounting) databaseSizes(ctx context.Context) (map[string]int64, error) {
	if a.pg == nil {
		return nil, a.pgErr
	}
	rows, err := a.pg.Query(ctx, "SELECT datname, pg_database_size(oid) FROM pg_database WHERE NOT datistemplate")
	if err != nil {
		return nil, fmt.Errorf("database sizes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return nil, err
		}
		out[name] = size
	}
	return out, rows.Err()
}

func mibs(b int64) string { return fmt.Sprintf("%.2f", float64(b)/(1<<20)) }

// formatGrowth is the table of database sizes before and after a path.
func formatGrowth(path string, rows int, before, after map[string]int64) string {
	var b strings.Builder
	for _, db := range slices.Sorted(maps.Keys(after)) {
		old, ok := before[db]
		if !ok {
			old = 0
		}
		g := after[db] - old
		fmt.Fprintf(&b, "  %-11s %-20s %10s %10s %+10.2f %+12.1f\n", path, db, mibs(old), mibs(after[db]),
			float64(g)/(1<<20), float64(g)/1024*1000/float64(max(rows, 1)))
	}
	return b.String()
}

// runHistory is one run of the job workflow as the server stores it.
type runHistory struct {
	runID         string
	events, bytes int64
}

func formatHistories(runs []runHistory) string {
	var b strings.Builder
	var events, size int64
	for i, r := range runs {
		fmt.Fprintf(&b, "  run %3d %s: %7d events %10.1f KiB\n", i+1, r.runID, r.events, float64(r.bytes)/1024)
		events += r.events
		size += r.bytes
	}
	fmt.Fprintf(&b, "  total: %d runs, %d events, %.2f MiB", len(runs), events, float64(size)/(1<<20))
	if n := int64(len(runs)); n > 0 {
		fmt.Fprintf(&b, "; per run %d events, %.1f KiB", events/n, float64(size)/float64(n)/1024)
	}
	b.WriteString("\n")
	return b.String()
}

func (a *accounting) reportGrowth(ctx context.Context, res map[string]pathResult) {
	fmt.Println()
	fmt.Println("==== growth ====")
	fmt.Printf("database sizes (pg_database_size, MiB; the worker's database is %s; temporal and temporal_visibility are Temporal's):\n", a.workerDB)
	fmt.Printf("  %-11s %-20s %10s %10s %10s %12s\n", "path", "database", "before", "after", "growth", "KiB/1000rows")
	for _, u := range a.paths {
		if u.dbErr != nil {
			fmt.Printf("  %-11s %v\n", pathLabel(u.name), u.dbErr)
			continue
		}
		if u.dbAfter != nil {
			fmt.Print(formatGrowth(pathLabel(u.name), u.rows, u.dbBefore, u.dbAfter))
		}
	}
	if r, ok := res["temporal"]; ok && r.workflowID != "" && r.actions != nil && a.temporal != nil {
		a.reportHistories(ctx, r)
	}
	a.reportMemory(ctx)
}

// reportHistories prints the length and size of each run of the job
// workflow's history.
func (a *accounting) reportHistories(ctx context.Context, r pathResult) {
	var runs []runHistory
	var err error
	for _, id := range r.actions.runIDs {
		d, derr := a.temporal.DescribeWorkflowExecution(ctx, r.workflowID, id)
		if derr != nil {
			err = derr
			break
		}
		info := d.GetWorkflowExecutionInfo()
		runs = append(runs, runHistory{runID: id, events: info.GetHistoryLength(), bytes: info.GetHistorySizeBytes()})
	}
	fmt.Printf("history of the job workflow %s per run (continue-as-new; DescribeWorkflowExecution's history length and size):\n", r.workflowID)
	if err != nil {
		fmt.Printf("  describe: %v\n", err)
	} else {
		fmt.Print(formatHistories(runs))
	}
}

// reportMemory prints each container's memory at the end: the stack's, or
// the ones named by flags.
func (a *accounting) reportMemory(ctx context.Context) {
	fmt.Println("memory of each container at the end (as docker stats shows it):")
	var names []string
	ids := map[string]string{}
	if a.st != nil {
		for _, svc := range a.st.Services() {
			names = append(names, svc)
			ids[svc] = a.st.Container(svc).GetContainerID()
		}
	} else {
		for _, svc := range []string{stacks.ServicePostgres, stacks.ServiceTemporal, stacks.ServiceWorker} {
			if c, ok := a.containers[svc]; ok {
				names = append(names, svc)
				ids[svc] = c
			}
		}
	}
	if a.docker == nil {
		if a.st == nil && len(a.containers) == 0 && !strings.HasPrefix(a.noCount, "containers are not counted: ") {
			fmt.Println("  not read: no container named (-temporal-container, -postgres-container, -worker-container)")
		} else {
			fmt.Printf("  not read: %s\n", strings.TrimPrefix(a.noCount, "containers are not counted: "))
		}
		return
	}
	for _, svc := range names {
		s, err := a.docker.Sample(ctx, ids[svc])
		switch {
		case err != nil:
			fmt.Printf("  %-26s %v\n", svc, err)
		case !s.Running:
			fmt.Printf("  %-26s (not running: a job that ended)\n", svc)
		default:
			fmt.Printf("  %-26s %7.1f MiB\n", svc, float64(s.Memory)/(1<<20))
		}
	}
}
