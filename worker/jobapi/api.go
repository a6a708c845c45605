// Package jobapi is the worker's HTTP API: POST /jobs with a CSV body,
// GET /jobs/{id} for progress, GET /jobs/{id}/results.csv, DELETE
// /jobs/{id} to cancel, plus /healthz, /readyz and /metrics.
package jobapi

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// JobStore is the database side of the API; *store.Store is one.
type JobStore interface {
	CreateJob(ctx context.Context, jobID string, rd *jobcsv.Reader) error
	DeleteJob(ctx context.Context, jobID string) error
	GetJob(ctx context.Context, jobID string) (*store.Job, error)
	CountResults(ctx context.Context, jobID string) (store.Counts, error)
	EachResult(ctx context.Context, jobID string, fn func(cols []string) error) error
}

// Workflows is the Temporal side of the API; *enrichment.Jobs is one.
type Workflows interface {
	Start(ctx context.Context, jobID string, rows int) error
	Status(ctx context.Context, jobID string) (enrichment.Status, error)
	Cancel(ctx context.Context, jobID string) error
}

// API serves the job endpoints.
type API struct {
	Store     JobStore
	Workflows Workflows
	Log       *slog.Logger
	// MaxBody caps a job file in bytes (default jobcsv.DefaultMaxBytes).
	MaxBody int64
	// Limits caps its rows, columns and record length (zero: jobcsv's defaults).
	Limits jobcsv.Limits
	// Ready reports whether Temporal and PostgreSQL answer.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics.
	Metrics http.Handler
}

// Handler routes the API.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", a.createJob)
	mux.HandleFunc("GET /jobs/{id}", a.getJob)
	mux.HandleFunc("DELETE /jobs/{id}", a.cancelJob)
	mux.HandleFunc("GET /jobs/{id}/results.csv", a.results)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.Metrics)
	}
	return a.logged(mux)
}

// JobCreated is the answer to POST /jobs.
type JobCreated struct {
	ID      string            `json:"id"`
	Rows    int               `json:"rows"`
	BadRows []jobcsv.BadRow   `json:"bad_rows"`
	Links   map[string]string `json:"links"`
}

func (a *API) createJob(w http.ResponseWriter, r *http.Request) {
	limit := a.MaxBody
	if limit <= 0 {
		limit = jobcsv.DefaultMaxBytes
	}
	// The rows go to the store as they are read: the file is never held
	// whole, so memory is one record and the bad rows, whatever the size.
	rd, err := jobcsv.NewReader(http.MaxBytesReader(w, r.Body, limit), a.Limits)
	if err != nil {
		a.fileError(w, err, limit, nil)
		return
	}
	id := newJobID()
	if err := a.Store.CreateJob(r.Context(), id, rd); err != nil {
		if ferr := rd.Err(); ferr != nil {
			a.fileError(w, ferr, limit, rd.Bad())
			return
		}
		a.Log.Error("store job", "job", id, "error", err)
		writeError(w, http.StatusServiceUnavailable, "could not store the job; try again")
		return
	}
	if err := a.Workflows.Start(r.Context(), id, rd.Rows()); err != nil {
		a.Log.Error("start job", "job", id, "error", err)
		if derr := a.Store.DeleteJob(context.WithoutCancel(r.Context()), id); derr != nil {
			a.Log.Error("remove the job that did not start", "job", id, "error", derr)
		}
		writeError(w, http.StatusServiceUnavailable, "could not start the job workflow; try again")
		return
	}
	a.Log.Info("job started", "job", id, "rows", rd.Rows(), "bad_rows", len(rd.Bad()))
	bad := rd.Bad()
	if bad == nil {
		bad = []jobcsv.BadRow{}
	}
	w.Header().Set("Location", "/jobs/"+id)
	writeJSON(w, http.StatusAccepted, JobCreated{ID: id, Rows: rd.Rows(), BadRows: bad,
		Links: map[string]string{"self": "/jobs/" + id, "results": "/jobs/" + id + "/results.csv"}})
}

var jobIDRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

func (a *API) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, ok := a.job(w, r, id)
	if !ok {
		return
	}
	// The stored results are the truth about rows; the workflow adds the
	// per-stage tally and its batches when a worker answers the query.
	c, err := a.Store.CountResults(r.Context(), id)
	if err != nil {
		a.Log.Error("count results", "job", id, "error", err)
		writeError(w, http.StatusServiceUnavailable, "job store unavailable; try again")
		return
	}
	st, err := a.Workflows.Status(r.Context(), id)
	if err != nil {
		a.Log.Warn("job status", "job", id, "error", err)
		st = enrichment.Status{State: "unknown"}
	}
	writeJSON(w, http.StatusOK, NewJobView(job, c, st))
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := a.job(w, r, id); !ok {
		return
	}
	if err := a.Workflows.Cancel(r.Context(), id); err != nil {
		writeError(w, http.StatusConflict, "could not cancel: "+err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "state": "cancelling"})
}

func (a *API) results(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, ok := a.job(w, r, id)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`-results.csv"`)
	// Cells come from users' files and from arbitrary web pages, and this file
	// is opened in spreadsheets: every cell is neutralised against formula
	// injection here, where CSV is written; the database keeps raw values.
	cw := csv.NewWriter(w)
	_ = cw.Write(jobcsv.SafeRecord(append(append([]string{}, job.Header...), store.ResultColumns...)))
	err := a.Store.EachResult(r.Context(), id, func(cols []string) error { return cw.Write(jobcsv.SafeRecord(cols)) })
	cw.Flush()
	if err != nil {
		a.Log.Error("results", "job", id, "error", err) // headers are gone: the truncated body shows it
	}
}

func (a *API) job(w http.ResponseWriter, r *http.Request, id string) (*store.Job, bool) {
	if !jobIDRE.MatchString(id) {
		writeError(w, http.StatusNotFound, "no job "+id)
		return nil, false
	}
	job, err := a.Store.GetJob(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no job "+id)
		return nil, false
	}
	if err != nil {
		a.Log.Error("get job", "job", id, "error", err)
		writeError(w, http.StatusServiceUnavailable, "job store unavailable; try again")
		return nil, false
	}
	return job, true
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.Ready == nil {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (a *API) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" || r.URL.Path == "/readyz" {
			return
		}
		a.Log.Info("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(began).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "job-" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b)
}
