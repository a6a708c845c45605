package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampledata/temporal-kit/stacks"
)

// pathProfile holds a path's profiles and PostgreSQL's statements.
type pathProfile struct {
	workerFile   string
	workerFh     *os.File
	workerErr    error
	serverFile   string
	serverSecs   int
	serverDone   chan error
	serverErr    error
	statements   []statement
	statementErr error
}

// startProfiles resets pg_stat_statements, starts this process's CPU
// profile and, on the temporal path, fetches the Temporal server's profile
// (pprof on the container's loopback, PPROF_PORT) in the background.
func (a *accounting) startProfiles(ctx context.Context, path string) *pathProfile {
	p := &pathProfile{}
	if err := os.MkdirAll(*profileDir, 0o755); err != nil {
		p.workerErr = fmt.Errorf("-profile: %w", err)
		return p
	}
	p.statementErr = a.resetStatements(ctx)
	if path == "temporal" {
		if c, ok := a.containers[stacks.ServiceTemporal]; ok && a.docker != nil {
			p.serverSecs = serverProfileSeconds(*profileSeconds, a.prevWall)
			p.serverFile = filepath.Join(*profileDir, path+"-temporal-server.pprof")
			p.serverDone = make(chan error, 1)
			url := fmt.Sprintf("http://localhost:%d/debug/pprof/profile?seconds=%d", stacks.PortTemporalPprof, p.serverSecs)
			go func() {
				out, err := a.docker.Exec(ctx, c, "wget", "-qO-", url)
				if err == nil {
					err = os.WriteFile(p.serverFile, out, 0o644)
				}
				p.serverDone <- err
			}()
		} else {
			p.serverErr = errors.New("the Temporal server is not profiled: no container to reach it (with -temporal-address, give -temporal-container)")
		}
	}
	p.workerFile = filepath.Join(*profileDir, path+"-worker.pprof")
	f, err := os.Create(p.workerFile)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		p.workerErr = fmt.Errorf("CPU profile of this process: %w", err)
		return p
	}
	p.workerFh = f
	return p
}

// serverProfileSeconds is the length of the Temporal server's profile:
// the flag's when set, else twice the time of the path that ran before
// (the in-process one), at least 5 s, else 30 s. The report waits for the
// profile to end, so a window much longer than the path only costs time.
func serverProfileSeconds(flagSeconds int, prevWall time.Duration) int {
	switch {
	case flagSeconds > 0:
		return flagSeconds
	case prevWall > 0:
		return max(5, int((2*prevWall).Seconds()+0.999))
	default:
		return 30
	}
}

// stopProfiles stops this process's profile, waits for the server's and
// reads the busiest statements.
func (a *accounting) stopProfiles(ctx context.Context, p *pathProfile) {
	if p.workerFh != nil {
		pprof.StopCPUProfile()
		if err := p.workerFh.Close(); err != nil {
			p.workerErr = err
		}
	}
	if p.serverDone != nil {
		p.serverErr = <-p.serverDone
	}
	if p.statementErr == nil {
		p.statements, p.statementErr = a.topStatements(ctx, 8)
	}
}

func (a *accounting) reportProfiles() {
	for _, u := range a.paths {
		p := u.prof
		if p == nil {
			continue
		}
		fmt.Printf("\n==== where the %s path spends CPU (-profile %s) ====\n", pathLabel(u.name), *profileDir)
		if p.workerErr != nil {
			fmt.Println("worker profile:", p.workerErr)
		} else {
			printTop("worker (this process)", p.workerFile)
		}
		switch {
		case p.serverErr != nil:
			fmt.Println("Temporal server profile:", p.serverErr)
		case p.serverFile != "":
			printTop(fmt.Sprintf("Temporal server (%d s from the path's start)", p.serverSecs), p.serverFile)
		}
		switch {
		case p.statementErr != nil:
			fmt.Println("PostgreSQL statements:", p.statementErr)
		default:
			fmt.Printf("PostgreSQL: top %d statements by total time during the path (pg_stat_statements, every database)\n", len(p.statements))
			fmt.Print(formatStatements(p.statements))
		}
	}
}

func printTop(label, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Printf("%s: %v\n", label, err)
		return
	}
	prof, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		fmt.Printf("%s: %s is not a profile: %v\n", label, file, err)
		return
	}
	top, total := topFunctions(prof, 10)
	fmt.Printf("%s: %s CPU sampled, profile %s (go tool pprof -top %s)\n", label, total.Round(10*time.Millisecond), file, file)
	fmt.Println("  by flat time (the function's own code):")
	fmt.Print(formatTop(top, total))
	fmt.Println("  by cumulative time (with its callees), outside the Go runtime:")
	fmt.Print(formatTop(topCumulative(prof, 10), total))
}

// inRuntime is true for the Go runtime's own functions (scheduler, GC,
// syscalls), whose cumulative time says nothing about the program.
func inRuntime(name string) bool {
	for _, p := range []string{"runtime.", "runtime/", "internal/", "syscall.", "sync.", "sync/atomic."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// topCumulative returns the n functions outside the runtime with the most
// cumulative time.
func topCumulative(p *profile.Profile, n int) []funcTime {
	all, _ := topFunctions(p, -1)
	out := all[:0]
	for _, f := range all {
		if !inRuntime(f.name) {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].cum > out[j].cum })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// funcTime is a function's flat time (its own code) and cumulative time
// (its own and its callees') in a CPU profile.
type funcTime struct {
	name      string
	flat, cum time.Duration
}

// topFunctions returns the n functions with the most flat time (all of
// them when n < 0), and the total time sampled.
func topFunctions(p *profile.Profile, n int) ([]funcTime, time.Duration) {
	idx := len(p.SampleType) - 1 // cpu nanoseconds is the last of a Go CPU profile
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, 0
	}
	times := funcTimes{}
	var total time.Duration
	for _, s := range p.Sample {
		v := time.Duration(s.Value[idx])
		total += v
		times.add(s, v)
	}
	return times.top(n), total
}

// funcTimes are the functions' times by name.
type funcTimes map[string]*funcTime

func (t funcTimes) get(name string) *funcTime {
	f, ok := t[name]
	if !ok {
		f = &funcTime{name: name}
		t[name] = f
	}
	return f
}

// add charges a sample's time v to the function it was taken in (flat) and
// once to every function on its stack (cum). A location without line
// information counts under its address.
func (t funcTimes) add(s *profile.Sample, v time.Duration) {
	seen := map[string]bool{}
	charge := func(name string, leaf bool) {
		if leaf {
			t.get(name).flat += v
		}
		if !seen[name] {
			seen[name] = true
			t.get(name).cum += v
		}
	}
	for i, loc := range s.Location {
		for j, line := range loc.Line { // inlined calls first, the caller last
			name := "?"
			if line.Function != nil {
				name = line.Function.Name
			}
			charge(name, i == 0 && j == 0)
		}
		if len(loc.Line) == 0 {
			charge(fmt.Sprintf("0x%x", loc.Address), i == 0)
		}
	}
}

// top is the n functions with the most flat time, then cum time, then by
// name (all of them when n < 0).
func (t funcTimes) top(n int) []funcTime {
	all := make([]funcTime, 0, len(t))
	for _, f := range t {
		all = append(all, *f)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].flat != all[j].flat {
			return all[i].flat > all[j].flat
		}
		if all[i].cum != all[j].cum {
			return all[i].cum > all[j].cum
		}
		return all[i].name < all[j].name
	})
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	return all
}

func formatTop(top []funcTime, total time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %9s %6s %9s %6s  %s\n", "flat", "flat%", "cum", "cum%", "function")
	pct := func(d time.Duration) float64 {
		if total <= 0 {
			return 0
		}
		return 100 * float64(d) / float64(total)
	}
	for _, f := range top {
		fmt.Fprintf(&b, "  %9s %5.1f%% %9s %5.1f%%  %s\n", f.flat.Round(time.Millisecond), pct(f.flat), f.cum.Round(time.Millisecond), pct(f.cum), f.name)
	}
	return b.String()
}

// statement is a row of pg_stat_statements.
type statement struct {
	database    string
	calls, rows int64
	totalMs     float64
	meanMs      float64
	query       string
}

const statementsHelp = "pg_stat_statements is not available (%v): print nothing for PostgreSQL; to enable it, set shared_preload_libraries = 'pg_stat_statements' (the kit's postgresql does), restart, and run CREATE EXTENSION pg_stat_statements in the postgres database"

// unavailable turns the errors of a missing view or library into the
// one-line help.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	// 42P01 undefined_table, 42883 undefined_function, 55000 not loaded by shared_preload_libraries.
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "42883" || pgErr.Code == "55000") {
		return fmt.Errorf(statementsHelp, pgErr.Message)
	}
	return err
}

func (a *accounting) resetStatements(ctx context.Context) error {
	if a.pg == nil {
		return a.pgErr
	}
	_, err := a.pg.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return unavailable(err)
}

func (a *accounting) topStatements(ctx context.Context, n int) ([]statement, error) {
	if a.pg == nil {
		return nil, a.pgErr
	}
	rows, err := a.pg.Query(ctx, `SELECT coalesce(d.datname, ''), s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.query
		FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid
		WHERE s.query NOT LIKE '%pg_stat_statements%'
		ORDER BY s.total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []statement
	for rows.Next() {
		var s statement
		if err := rows.Scan(&s.database, &s.calls, &s.totalMs, &s.meanMs, &s.rows, &s.query); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, unavailable(rows.Err())
}

// oneLine squeezes a query's whitespace and cuts it to max characters.
func oneLine(q string, max int) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return q
}

func formatStatements(list []statement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %9s %11s %9s %9s  %-19s %s\n", "calls", "total ms", "mean ms", "rows", "database", "query")
	for _, s := range list {
		fmt.Fprintf(&b, "  %9d %11.1f %9.3f %9d  %-19s %s\n", s.calls, s.totalMs, s.meanMs, s.rows, s.database, oneLine(s.query, 100))
	}
	return b.String()
}
