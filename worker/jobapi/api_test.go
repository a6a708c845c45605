package jobapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// memStore and startRecorder stand in for PostgreSQL and Temporal: the
// handlers' own logic (parsing, status codes, messages) is under test.
type memStore struct {
	mu   sync.Mutex
	jobs map[string]*jobcsv.File
	down bool
}

func (m *memStore) CreateJob(_ context.Context, id string, f *jobcsv.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errors.New("connection refused")
	}
	m.jobs[id] = f
	return nil
}

func (m *memStore) DeleteJob(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.jobs, id)
	return nil
}

func (m *memStore) GetJob(_ context.Context, id string) (*store.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.jobs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &store.Job{ID: id, Header: f.Header, TotalRows: len(f.Rows), Bad: f.Bad}, nil
}

func (m *memStore) CountResults(context.Context, string) (store.Counts, error) {
	return store.Counts{Done: 2, OK: 1, Failed: 1, ByStage: map[string]int{"search": 1}, ByErrorClass: map[string]int{"no_search_result": 1}}, nil
}

func (m *memStore) EachResult(_ context.Context, id string, fn func([]string) error) error {
	f := m.jobs[id]
	for _, r := range f.Rows {
		if err := fn(append(append([]string{}, r.Cols...), "ok", "", "", "", "http://x.example/", "T", "", "", "", "", "", "")); err != nil {
			return err
		}
	}
	return nil
}

type startRecorder struct {
	started map[string]int
	fail    bool
}

func (s *startRecorder) Start(_ context.Context, id string, rows int) error {
	if s.fail {
		return errors.New("temporal unavailable")
	}
	s.started[id] = rows
	return nil
}

func (s *startRecorder) Status(_ context.Context, id string) (enrichment.Status, error) {
	return enrichment.Status{State: "running", WorkflowID: enrichment.WorkflowID(id), Progress: &enrichment.Progress{
		TotalRows: s.started[id], Runs: 1, ActivityAttempts: 2, Batches: 1,
		Stages: map[string]enrichment.StageCount{"search": {OK: 1, Failed: 1}}}}, nil
}

func (s *startRecorder) Cancel(context.Context, string) error { return nil }

func newAPI() (*API, *memStore, *startRecorder) {
	st := &memStore{jobs: map[string]*jobcsv.File{}}
	wf := &startRecorder{started: map[string]int{}}
	return &API{Store: st, Workflows: wf, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBody: 1 << 20}, st, wf
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func TestSubmitReportsBadRowsAndRunsTheGoodOnes(t *testing.T) {
	api, st, wf := newAPI()
	h := api.Handler()
	body := "company,website,segment\n" +
		"Globex Corporation,,recorded\n" + // line 2
		"\"Unterminated,,x\n" + // line 3
		"Initech,,recorded\n" + // line 4
		"Too,many,fields,here\n" + // line 5
		",,no name\n" // line 6
	code, out := do(t, h, http.MethodPost, "/jobs", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, out)
	}
	for _, want := range []string{`"rows": 2`, `"line": 3`, `"line": 5`, `"line": 6`, "quoted field not terminated", "has 4 fields", "empty company name"} {
		if !strings.Contains(out, want) {
			t.Errorf("answer lacks %q:\n%s", want, out)
		}
	}
	if len(wf.started) != 1 || len(st.jobs) != 1 {
		t.Fatalf("started %v", wf.started)
	}
	for id, n := range wf.started {
		if n != 2 {
			t.Errorf("workflow started with %d rows", n)
		}
		code, out := do(t, h, http.MethodGet, "/jobs/"+id, "")
		for _, want := range []string{`"state": "running"`, `"complete": false`, `"stored": 2`, `"pending": 0`, `"no_search_result": 1`, `"temporal_actions": 3`, `"line": 5`} {
			if code != 200 || !strings.Contains(out, want) {
				t.Errorf("GET job lacks %q: %d\n%s", want, code, out)
			}
		}
		code, out = do(t, h, http.MethodGet, "/jobs/"+id+"/results.csv", "")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 200 || len(lines) != 3 || !strings.HasPrefix(lines[0], "company,website,segment,status,failed_stage,error_class") ||
			!strings.HasPrefix(lines[2], "Initech,,recorded,ok,") {
			t.Errorf("results.csv: %d\n%s", code, out)
		}
	}
}

func TestFileLevelErrorsAre400WithAMessage(t *testing.T) {
	api, st, _ := newAPI()
	h := api.Handler()
	cases := map[string]string{
		"":                              "no data rows",
		"company,website\n":             "no data rows",
		"id,city\n1,Paris\n":            "no company name column",
		"company,website\n\"broken,x\n": "fix the rows listed in bad_rows",
	}
	for body, want := range cases {
		code, out := do(t, h, http.MethodPost, "/jobs", body)
		if code != http.StatusBadRequest || !strings.Contains(out, want) {
			t.Errorf("%q: %d %s, want 400 with %q", body, code, out, want)
		}
	}
	if len(st.jobs) != 0 {
		t.Errorf("a rejected file was stored: %v", st.jobs)
	}
}

func TestTooLargeIs413(t *testing.T) {
	api, _, _ := newAPI()
	api.MaxBody = 64
	code, out := do(t, api.Handler(), http.MethodPost, "/jobs", "company\n"+strings.Repeat("Acme\n", 50))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(out, "split the job") {
		t.Errorf("%d %s", code, out)
	}
}

func TestUnknownJobIs404(t *testing.T) {
	api, _, _ := newAPI()
	h := api.Handler()
	for _, p := range []string{"/jobs/job-nope", "/jobs/job-nope/results.csv", "/jobs/NOT%20AN%20ID"} {
		if code, out := do(t, h, http.MethodGet, p, ""); code != http.StatusNotFound || !strings.Contains(out, "no job") {
			t.Errorf("%s: %d %s", p, code, out)
		}
	}
	if code, _ := do(t, h, http.MethodDelete, "/jobs/job-nope", ""); code != http.StatusNotFound {
		t.Errorf("DELETE unknown: %d", code)
	}
}

func TestFailedStartLeavesNoJobBehind(t *testing.T) {
	api, st, wf := newAPI()
	wf.fail = true
	code, out := do(t, api.Handler(), http.MethodPost, "/jobs", "company\nAcme\n")
	if code != http.StatusServiceUnavailable || !strings.Contains(out, "try again") {
		t.Errorf("%d %s", code, out)
	}
	if len(st.jobs) != 0 {
		t.Errorf("orphan job stored: %v", st.jobs)
	}
	st.down, wf.fail = true, false
	if code, _ := do(t, api.Handler(), http.MethodPost, "/jobs", "company\nAcme\n"); code != http.StatusServiceUnavailable {
		t.Errorf("database down: %d", code)
	}
}
