package integration

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/jobapi"
	"github.com/ampledata/temporal-kit/worker/store"
)

// fixtureConfig points the dev stack's worker at the fixture container, plus
// any worker tuning the test needs (workerEnv, as a user would set it).
func fixtureConfig(workerEnv map[string]string) map[string]string {
	cfg := fixturesvc.Config(workerEnv)
	// Only marks the key as configured; stacktest generates its value,
	// and the fixture server demands that very value (FIXTURE_API_KEY).
	cfg["serpApiKey"] = "configured"
	return cfg
}

// api is the worker container's job API. The endpoint is looked up on every
// call: a replaced worker container gets a new host port.
func api(st *stacktest.Stack) *jobapi.Client {
	return jobapi.NewClient("http://" + st.Endpoint(stacks.ServiceWorker, stacks.PortWorkerAPI))
}

// openStore connects to the stack's PostgreSQL, pipeline database, as the
// worker does.
func openStore(ctx context.Context, t *testing.T, st *stacktest.Stack) *store.Store {
	t.Helper()
	pg, _ := st.Def.Service(stacks.ServicePostgres)
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(pg.PlainEnv()["POSTGRES_USER"], st.Secret(stacks.SecretPostgresPassword)),
		Host:   st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres),
		Path:   "/" + stacks.WorkerDatabase,
	}
	q := u.Query()
	q.Set("sslmode", "disable")
	q.Set("connect_timeout", "10")
	u.RawQuery = q.Encode()
	s, err := store.Open(ctx, u.String(), 2)
	if err != nil {
		t.Fatalf("results database: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// submit posts rows as a job to the worker container and returns its id.
func submit(ctx context.Context, t *testing.T, st *stacktest.Stack, rows []fixture.Row) string {
	t.Helper()
	created, err := api(st).Submit(ctx, fixture.CSV(rows))
	if err != nil {
		t.Fatalf("submit %d rows: %v", len(rows), err)
	}
	if created.Rows != len(rows) || len(created.BadRows) != 0 {
		t.Fatalf("job %s took %d rows (bad: %v), want %d", created.ID, created.Rows, created.BadRows, len(rows))
	}
	return created.ID
}

// stored is the job's count of stored rows, or -1 while the API cannot say
// (worker replaced, PostgreSQL down).
func stored(ctx context.Context, st *stacktest.Stack, jobID string) (jobapi.JobView, int) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := api(st).Job(c, jobID)
	if err != nil {
		return v, -1
	}
	return v, v.Stored
}

// waitStored polls until the job has stored at least n rows.
func waitStored(ctx context.Context, t *testing.T, st *stacktest.Stack, jobID string, n int) {
	t.Helper()
	for {
		if _, got := stored(ctx, st, jobID); got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s: fewer than %d rows stored: %v", jobID, n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// A progress measure of a job: rows stored (PostgreSQL) or batches done
// (Temporal: answered by the workflow's progress query).
type measure struct {
	name string
	of   func(jobapi.JobView) (int, bool)
}

var (
	rowsStored  = measure{"rows stored", func(v jobapi.JobView) (int, bool) { return v.Stored, true }}
	batchesDone = measure{"batches done", func(v jobapi.JobView) (int, bool) {
		if v.Workflow == nil {
			return 0, false
		}
		return v.Workflow.BatchesDone, true
	}}
)

// current is the job's view and its value of m, when the API can say.
func current(ctx context.Context, st *stacktest.Stack, jobID string, m measure) (jobapi.JobView, int, bool) {
	v, n := stored(ctx, st, jobID)
	if n < 0 {
		return v, 0, false
	}
	x, ok := m.of(v)
	return v, x, ok
}

// waitProgress waits until the job's measure m exceeds base (taken when the
// fault began) or the job completes, and returns the time since since.
func waitProgress(ctx context.Context, t *testing.T, st *stacktest.Stack, jobID string, m measure, base int, since time.Time) time.Duration {
	t.Helper()
	for {
		v, got, ok := current(ctx, st, jobID, m)
		if (ok && got > base) || v.Complete {
			return time.Since(since)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s: %s did not pass %d after the fault: %v\nworker log:\n%s", jobID, m.name, base, ctx.Err(), tailOf(st.Logs(context.Background(), stacks.ServiceWorker), 4000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// baseline is the job's measure m now, waiting until the API can say.
func baseline(ctx context.Context, t *testing.T, st *stacktest.Stack, jobID string, m measure) int {
	t.Helper()
	for {
		if _, got, ok := current(ctx, st, jobID, m); ok {
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s: no %s from the API: %v", jobID, m.name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitComplete waits for the job to complete, showing progress now and then.
func waitComplete(ctx context.Context, t *testing.T, st *stacktest.Stack, jobID string) jobapi.JobView {
	t.Helper()
	last := time.Now()
	for {
		v, got := stored(ctx, st, jobID)
		if got >= 0 {
			if v.Complete {
				return v
			}
			switch v.State {
			case "cancelled", "failed", "terminated", "timed_out":
				t.Fatalf("job %s ended %s with %d of %d rows stored\nworker log:\n%s", jobID, v.State, v.Stored, v.Rows, tailOf(st.Logs(context.Background(), stacks.ServiceWorker), 4000))
			}
			if time.Since(last) > 10*time.Second {
				t.Logf("job %s: %s, %d/%d stored", jobID, v.State, v.Stored, v.Rows)
				last = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s not complete (stored %d): %v\nworker log:\n%s", jobID, got, ctx.Err(), tailOf(st.Logs(context.Background(), stacks.ServiceWorker), 4000))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkStoredExactlyOnce reads the results table itself: one result per
// input row, none missing, none extra, each equal to what the fixtures say
// the pipeline must find.
func checkStoredExactlyOnce(ctx context.Context, t *testing.T, st *stacktest.Stack, jobID string, rows []fixture.Row) {
	t.Helper()
	db := openStore(ctx, t, st)
	var results, distinct int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT row_num) FROM results WHERE job_id = $1`, jobID).Scan(&results, &distinct); err != nil {
		t.Fatalf("count results: %v", err)
	}
	if results != len(rows) || distinct != len(rows) {
		t.Fatalf("job %s: %d results for %d distinct rows, want exactly %d", jobID, results, distinct, len(rows))
	}
	got, err := db.ReadResults(ctx, jobID)
	if err != nil {
		t.Fatalf("read results: %v", err)
	}
	seen := make([]bool, len(rows))
	bad := 0
	for _, r := range got {
		if r.Row < 0 || r.Row >= len(rows) || seen[r.Row] {
			t.Fatalf("result for row %d: out of range or twice", r.Row)
		}
		seen[r.Row] = true
		want, err := fixture.ExpectedFor(rows[r.Row].Name, rows[r.Row].Domain)
		if err != nil {
			t.Fatal(err)
		}
		if d := want.Diff(fixture.Got{OK: r.OK, Stage: r.Stage, ErrorClass: r.ErrorClass, SiteURL: r.SiteURL, Pages: r.Pages, Fields: r.Fields}); d != "" {
			if bad++; bad <= 5 {
				t.Errorf("row %d: %s", r.Row, d)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... and %d more rows differ", bad-5)
	}
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
