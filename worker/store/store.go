// Package store keeps jobs, their rows and results in PostgreSQL through
// pgx. The worker creates its database and applies the embedded migrations
// at start; every write is an upsert keyed by (job_id, row_num).
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampledata/temporal-kit/worker/extract"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned for an unknown job.
var ErrNotFound = errors.New("job not found")

// Store is the pipeline's database.
type Store struct {
	Pool *pgxpool.Pool
}

// EnsureDatabase creates database db if it does not exist, connecting to
// the "postgres" maintenance database through adminURL.
func EnsureDatabase(ctx context.Context, adminURL, db string) (created bool, err error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to the postgres database: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %s: %w", db, err)
	}
	if exists {
		return false, nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // another worker was quicker
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database %s: %w", db, err)
	}
	return true, nil
}

// Open connects a pool to url.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	return &Store{Pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// Migrate applies the embedded migrations not applied yet, in order, each in
// its own transaction, under an advisory lock so workers starting together
// do not race. It returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	const lockID = 7_233_001
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockID)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []int
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", v).Scan(&done); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if done {
			continue
		}
		sql, _ := migrations.ReadFile(f)
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v, name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		applied = append(applied, v)
	}
	return applied, nil
}

// CreateJob stores a job and its good rows (COPY, so 100k rows take a
// moment, not minutes). Rows with a domain get their site now: they skip search.
func (s *Store) CreateJob(ctx context.Context, jobID string, f *jobcsv.File) error {
	bad, _ := json.Marshal(f.Bad)
	if f.Bad == nil {
		bad = []byte("[]")
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO jobs (job_id, header, total_rows, bad_rows) VALUES ($1, $2, $3, $4)",
			jobID, f.Header, len(f.Rows), bad); err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"job_rows"},
			[]string{"job_id", "row_num", "line", "name", "domain", "cols", "site_url"},
			pgx.CopyFromSlice(len(f.Rows), func(i int) ([]any, error) {
				r := f.Rows[i]
				var site *string
				if r.Domain != "" {
					s := "https://" + r.Domain + "/"
					site = &s
				}
				return []any{jobID, r.Num, r.Line, r.Name, r.Domain, r.Cols, site}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy rows: %w", err)
		}
		return nil
	})
}

// Job is a job's stored description.
type Job struct {
	ID        string
	Header    []string
	TotalRows int
	Bad       []jobcsv.BadRow
}

// GetJob returns a job or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, jobID string) (*Job, error) {
	j := &Job{ID: jobID}
	var bad []byte
	err := s.Pool.QueryRow(ctx, "SELECT header, total_rows, bad_rows FROM jobs WHERE job_id = $1", jobID).Scan(&j.Header, &j.TotalRows, &bad)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	_ = json.Unmarshal(bad, &j.Bad)
	return j, nil
}

// InputRow is a row as the stages need it.
type InputRow struct {
	Num     int
	Name    string
	Domain  string
	SiteURL string // "" until search found one
}

// RowsToSearch returns the rows of [from, to) that need a search (no
// domain). Which of them a retried attempt skips is the activity's
// heartbeat's business, so that its counts stay exact.
func (s *Store) RowsToSearch(ctx context.Context, jobID string, from, to int) ([]InputRow, error) {
	return s.rows(ctx, `SELECT row_num, name, domain, '' FROM job_rows
		WHERE job_id = $1 AND row_num >= $2 AND row_num < $3 AND domain = ''
		ORDER BY row_num`, jobID, from, to)
}

// RowsToEnrich returns the rows of [from, to) whose site is known.
func (s *Store) RowsToEnrich(ctx context.Context, jobID string, from, to int) ([]InputRow, error) {
	return s.rows(ctx, `SELECT row_num, name, domain, site_url FROM job_rows
		WHERE job_id = $1 AND row_num >= $2 AND row_num < $3 AND site_url IS NOT NULL
		ORDER BY row_num`, jobID, from, to)
}

// AllRows returns every row of a job (the in-process baseline reads them at once).
func (s *Store) AllRows(ctx context.Context, jobID string) ([]InputRow, error) {
	return s.rows(ctx, `SELECT row_num, name, domain, coalesce(site_url, '') FROM job_rows
		WHERE job_id = $1 ORDER BY row_num`, jobID)
}

func (s *Store) rows(ctx context.Context, sql string, args ...any) ([]InputRow, error) {
	rows, err := s.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InputRow, error) {
		var x InputRow
		err := r.Scan(&x.Num, &x.Name, &x.Domain, &x.SiteURL)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	return out, nil
}

// Result is one row's outcome.
type Result struct {
	JobID      string
	Row        int
	OK         bool
	Stage      string // the stage that failed
	ErrorClass string
	Error      string
	SiteURL    string
	Fields     extract.Fields
	Pages      int
}

// SiteFound is the search stage's output for one row.
type SiteFound struct {
	Row     int
	SiteURL string
}

// SaveSites records search outputs (idempotent: the same site again is a no-op).
func (s *Store) SaveSites(ctx context.Context, jobID string, sites []SiteFound) error {
	if len(sites) == 0 {
		return nil
	}
	rows := make([]int32, len(sites))
	urls := make([]string, len(sites))
	for i, x := range sites {
		rows[i], urls[i] = int32(x.Row), x.SiteURL
	}
	_, err := s.Pool.Exec(ctx, `UPDATE job_rows r SET site_url = u.site
		FROM unnest($2::int[], $3::text[]) AS u(row_num, site)
		WHERE r.job_id = $1 AND r.row_num = u.row_num`, jobID, rows, urls)
	if err != nil {
		return fmt.Errorf("save sites: %w", err)
	}
	return nil
}

// SaveResults upserts results in one round trip.
func (s *Store) SaveResults(ctx context.Context, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range results {
		status := "failed"
		if r.OK {
			status = "ok"
		}
		emails, _ := json.Marshal(nonNil(r.Fields.Emails))
		phones, _ := json.Marshal(nonNil(r.Fields.Phones))
		socials, _ := json.Marshal(nonNilS(r.Fields.Socials))
		b.Queue(`INSERT INTO results (job_id, row_num, status, stage, error_class, error, site_url, title, title_url,
				description, description_url, emails, phones, socials, pages)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (job_id, row_num) DO UPDATE SET status = EXCLUDED.status, stage = EXCLUDED.stage,
				error_class = EXCLUDED.error_class, error = EXCLUDED.error, site_url = EXCLUDED.site_url,
				title = EXCLUDED.title, title_url = EXCLUDED.title_url, description = EXCLUDED.description,
				description_url = EXCLUDED.description_url, emails = EXCLUDED.emails, phones = EXCLUDED.phones,
				socials = EXCLUDED.socials, pages = EXCLUDED.pages, updated_at = now()`,
			r.JobID, r.Row, status, r.Stage, r.ErrorClass, truncate(r.Error, 500), r.SiteURL,
			r.Fields.Title.Value, r.Fields.Title.URL, r.Fields.Description.Value, r.Fields.Description.URL,
			emails, phones, socials, r.Pages)
	}
	if err := s.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	return nil
}

// Counts are a job's results by outcome, from the database.
type Counts struct {
	Done         int            `json:"done"`
	OK           int            `json:"ok"`
	Failed       int            `json:"failed"`
	ByStage      map[string]int `json:"failed_by_stage"`
	ByErrorClass map[string]int `json:"by_error_class"`
}

// CountResults aggregates a job's results.
func (s *Store) CountResults(ctx context.Context, jobID string) (Counts, error) {
	c := Counts{ByStage: map[string]int{}, ByErrorClass: map[string]int{}}
	rows, err := s.Pool.Query(ctx, `SELECT status, stage, error_class, count(*) FROM results WHERE job_id = $1 GROUP BY 1, 2, 3`, jobID)
	if err != nil {
		return c, fmt.Errorf("count results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, stage, class string
		var n int
		if err := rows.Scan(&status, &stage, &class, &n); err != nil {
			return c, err
		}
		c.Done += n
		if status == "ok" {
			c.OK += n
			continue
		}
		c.Failed += n
		c.ByStage[stage] += n
		c.ByErrorClass[class] += n
	}
	return c, rows.Err()
}

// ResultColumns are the columns results.csv adds to the input's.
var ResultColumns = []string{"status", "failed_stage", "error_class", "error", "site_url", "title", "title_url",
	"description", "description_url", "emails", "phones", "socials"}

// EachResult calls fn for every input row of the job in order, with the
// input columns followed by ResultColumns (empty while a row is pending).
func (s *Store) EachResult(ctx context.Context, jobID string, fn func(cols []string) error) error {
	rows, err := s.Pool.Query(ctx, `SELECT r.cols, coalesce(x.status, 'pending'), coalesce(x.stage, ''), coalesce(x.error_class, ''),
			coalesce(x.error, ''), coalesce(x.site_url, r.site_url, ''), coalesce(x.title, ''), coalesce(x.title_url, ''),
			coalesce(x.description, ''), coalesce(x.description_url, ''),
			coalesce(x.emails, '[]'), coalesce(x.phones, '[]'), coalesce(x.socials, '[]')
		FROM job_rows r LEFT JOIN results x ON x.job_id = r.job_id AND x.row_num = r.row_num
		WHERE r.job_id = $1 ORDER BY r.row_num`, jobID)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cols []string
		var v [9]string
		var emails, phones, socials []byte
		if err := rows.Scan(&cols, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &emails, &phones, &socials); err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		var e, p []extract.Found
		var so []extract.Social
		_ = json.Unmarshal(emails, &e)
		_ = json.Unmarshal(phones, &p)
		_ = json.Unmarshal(socials, &so)
		out := append(cols, v[:]...)
		out = append(out, joinFound(e), joinFound(p), joinSocial(so))
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

// joinFound renders "value <url>; value <url>" so each value keeps its source.
func joinFound(fs []extract.Found) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Value + " <" + f.URL + ">"
	}
	return strings.Join(parts, "; ")
}

func joinSocial(ss []extract.Social) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Network + ":" + s.Value + " <" + s.URL + ">"
	}
	return strings.Join(parts, "; ")
}

func nonNil(f []extract.Found) []extract.Found {
	if f == nil {
		return []extract.Found{}
	}
	return f
}

func nonNilS(f []extract.Social) []extract.Social {
	if f == nil {
		return []extract.Social{}
	}
	return f
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
