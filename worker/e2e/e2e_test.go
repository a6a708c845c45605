// Package e2e runs a job end to end: the Temporal core of the dev
// Definition (local images, testcontainers), the worker service in this
// process, and the fixture server on loopback standing in for the SERP API
// and the web.
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/harness"
	"github.com/ampledata/temporal-kit/worker/jobapi"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// recordEnv, when set to 1, makes the test write the job histories it
// produced to worker/testdata/histories for the replay test.
const recordEnv = "WORKER_RECORD_HISTORIES"

func TestJobEndToEnd(t *testing.T) {
	// The images must exist: stacktest fails with the command that builds them.
	st := stacktest.Start(t, stacktest.LocalDev(t), stacktest.Only(harness.CoreServices...))
	fx, fxSrv := harness.StartFixtures(0)
	t.Cleanup(fxSrv.Close)
	env, err := harness.WorkerEnv(st, fxSrv.URL, map[string]string{
		// Small batches and runs, so this job has several batches in flight
		// and continues as new twice.
		"BATCH_SIZE": "8", "BATCH_PARALLELISM": "3", "BATCHES_PER_RUN": "4", "ROW_ATTEMPTS": "3",
		"SHUTDOWN_TIMEOUT": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := harness.StartWorker(ctx, env, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() }) // the worker running at the end
	api := jobapi.NewClient(w.BaseURL)

	var histories []harness.Run
	t.Run("mixed job completes with every row stored as expected", func(t *testing.T) {
		rows := append(fixture.MixedRows(1, 3), fixture.SyntheticRows(50)...)
		body, badLines := jobFile(rows)
		created, err := api.Submit(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if created.Rows != len(rows) {
			t.Errorf("POST counted %d good rows, want %d", created.Rows, len(rows))
		}
		checkBadRows(t, "POST /jobs", created.BadRows, badLines)
		v, err := api.Wait(ctx, created.ID, 500*time.Millisecond, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Complete || v.State != enrichment.StateCompleted || v.Stored != len(rows) || v.Pending != 0 {
			t.Errorf("final view %+v", v)
		}
		checkBadRows(t, "GET /jobs/{id}", v.BadRows, badLines)
		if v.Workflow == nil || v.Workflow.Runs != 3 || v.Workflow.ActionsPerRow > 2 {
			t.Errorf("workflow view %+v: want 3 runs (continue-as-new) and at most 2 actions per row", v.Workflow)
		}
		checkStored(t, ctx, w.Svc.Store, created.ID, rows)
		checkResultsCSV(t, ctx, api, created.ID, rows)
		h, err := harness.Histories(ctx, w.Svc.Temporal, enrichment.WorkflowID(created.ID))
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 3 {
			t.Errorf("%d runs in history, want 3", len(h))
		}
		histories = append(histories, h...)
	})

	t.Run("cancel stops the job and keeps what is stored", func(t *testing.T) {
		fx.SetLatency(100 * time.Millisecond)
		defer fx.SetLatency(0)
		rows := fixture.SyntheticRows(400)
		created, err := api.Submit(ctx, fixture.CSV(rows))
		if err != nil {
			t.Fatal(err)
		}
		for {
			v, err := api.Job(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Stored > 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := api.Cancel(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		v, err := api.Wait(ctx, created.ID, 500*time.Millisecond, nil)
		if v.State != enrichment.StateCancelled || err == nil {
			t.Fatalf("after cancel: state %s, err %v", v.State, err)
		}
		time.Sleep(3 * time.Second) // nothing may land after the workflow closed
		after, err := api.Job(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Stored != v.Stored || after.Stored == 0 || after.Stored >= len(rows) {
			t.Errorf("stored %d at cancel, %d three seconds later, of %d", v.Stored, after.Stored, len(rows))
		}
		checkStored(t, ctx, w.Svc.Store, created.ID, rows)
		h, err := harness.Histories(ctx, w.Svc.Temporal, enrichment.WorkflowID(created.ID))
		if err != nil {
			t.Fatal(err)
		}
		histories = append(histories, h...)
	})

	t.Run("metrics endpoint has SDK and pipeline metrics", func(t *testing.T) {
		out := httpGet(t, w.BaseURL+"/metrics")
		for _, want := range []string{`enrichment_rows_total{outcome="ok",stage="store"}`, `enrichment_rows_total{outcome="no_search_result",stage="search"}`,
			`enrichment_stage_duration_seconds_bucket{stage="fetch"`, `enrichment_external_api_errors_total{api="serp",class="serp_unavailable"}`,
			`temporal_request_total{`, `temporal_activity_execution_latency_seconds_bucket{`} {
			if !strings.Contains(out, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("recorded histories replay", func(t *testing.T) {
		if len(histories) == 0 {
			t.Fatal("no history recorded")
		}
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(enrichment.JobWorkflow)
		for i, h := range histories {
			if err := r.ReplayWorkflowHistory(nil, h.History); err != nil {
				t.Errorf("run %d (%s): %v", i, h.RunID, err)
			}
		}
		if os.Getenv(recordEnv) != "1" {
			return
		}
		dir := filepath.Join("..", "testdata", "histories")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		names := []string{"job-completed-run1", "job-completed-run2", "job-completed-run3", "job-cancelled"}
		for i, h := range histories {
			b, err := harness.HistoryJSON(h.History)
			if err != nil {
				t.Fatal(err)
			}
			name := names[min(i, len(names)-1)]
			if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s.json (%d events)", name, len(h.History.Events))
		}
	})

	t.Run("worker replaced mid-job: every row stored exactly once", func(t *testing.T) {
		fx.SetLatency(100 * time.Millisecond)
		defer fx.SetLatency(0)
		rows := append(fixture.SyntheticRowsFrom(2001, 150), fixture.MixedRows(3001, 2)...)
		created, err := api.Submit(ctx, fixture.CSV(rows))
		if err != nil {
			t.Fatal(err)
		}
		for {
			v, err := api.Job(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Stored >= 20 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		// What SIGTERM does in the binary: stop polling, let in-flight
		// batches finish within SHUTDOWN_TIMEOUT, close; then a new worker.
		w.Stop()
		if w, err = harness.StartWorker(ctx, env, log); err != nil {
			t.Fatal(err)
		}
		api = jobapi.NewClient(w.BaseURL)
		v, err := api.Wait(ctx, created.ID, 500*time.Millisecond, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Complete || v.Stored != len(rows) {
			t.Errorf("after the redeploy: %+v", v)
		}
		checkStored(t, ctx, w.Svc.Store, created.ID, rows)
	})
}

// jobFile renders rows as a job file with unreadable lines among them and
// returns the bad lines' numbers and reasons.
func jobFile(rows []fixture.Row) ([]byte, map[int]string) {
	inject := map[int][2]string{
		3:  {`"Unterminated quote,,x`, "quoted field not terminated"},
		10: {"Too,many,fields,here", "has 4 fields, the header has 3"},
		20: {",,no name", "empty company name"},
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fixture.JobHeader)
	w.Flush()
	line, bad := 1, map[int]string{}
	for i, r := range rows {
		if x, ok := inject[i]; ok {
			b.WriteString(x[0] + "\n")
			line++
			bad[line] = x[1]
		}
		_ = w.Write([]string{r.Name, r.Domain, r.Segment})
		w.Flush()
		line++
	}
	return b.Bytes(), bad
}

func checkBadRows(t *testing.T, where string, got []jobcsv.BadRow, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: bad rows %+v, want lines %v", where, got, want)
	}
	for _, b := range got {
		if !strings.Contains(b.Reason, want[b.Line]) || want[b.Line] == "" {
			t.Errorf("%s: bad row line %d %q, want %q", where, b.Line, b.Reason, want[b.Line])
		}
	}
}

// checkStored reads the results table: one row per (job, row), each as the
// fixture expects.
func checkStored(t *testing.T, ctx context.Context, s *store.Store, jobID string, rows []fixture.Row) {
	t.Helper()
	var n, distinct int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT row_num) FROM results WHERE job_id = $1", jobID).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != distinct {
		t.Errorf("%d results for %d rows: a row is stored twice", n, distinct)
	}
	got, err := s.ReadResults(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		want, err := fixture.ExpectedFor(rows[r.Row].Name, rows[r.Row].Domain)
		if err != nil {
			t.Fatal(err)
		}
		if d := want.Diff(fixture.Got{OK: r.OK, Stage: r.Stage, ErrorClass: r.ErrorClass, SiteURL: r.SiteURL, Pages: r.Pages, Fields: r.Fields}); d != "" {
			t.Errorf("row %d: %s", r.Row, d)
		}
	}
}

func checkResultsCSV(t *testing.T, ctx context.Context, api *jobapi.Client, jobID string, rows []fixture.Row) {
	t.Helper()
	header, recs, err := api.Results(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := append(append([]string{}, fixture.JobHeader...), store.ResultColumns...)
	if strings.Join(header, ",") != strings.Join(wantHeader, ",") {
		t.Errorf("results.csv header %v", header)
	}
	if len(recs) != len(rows) {
		t.Fatalf("results.csv has %d rows, want %d", len(recs), len(rows))
	}
	for i, rec := range recs {
		if rec[0] != rows[i].Name || rec[2] != rows[i].Segment {
			t.Errorf("results.csv row %d keeps %v, want the input columns of %+v", i, rec[:3], rows[i])
		}
		if rec[0] == "Globex Corporation" && !strings.Contains(rec[len(rec)-3], "sales@globex.example <http://globex.example/contact>") {
			t.Errorf("Globex emails column %q", rec[len(rec)-3])
		}
	}
}
