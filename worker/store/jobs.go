package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

// CreateJob stores a job and its good rows as rd reads them (COPY, so 100k
// rows take a moment, not minutes, and the file is never held whole). Rows
// with a domain get their site now: they skip search. An error of rd (a bad
// file, one over a limit) rolls the job back; rd.Err tells it from a store
// error.
func (s *Store) CreateJob(ctx context.Context, jobID string, rd *jobcsv.Reader) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO jobs (job_id, header, total_rows) VALUES ($1, $2, 0)",
			jobID, rd.Header()); err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		src := &rowSource{jobID: jobID, rd: rd}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"job_rows"},
			[]string{"job_id", "row_num", "line", "name", "domain", "cols", "site_url"}, src)
		if src.err != nil {
			return src.err // the file's fault, not the store's
		}
		if err != nil {
			return fmt.Errorf("copy rows: %w", err)
		}
		bad, _ := json.Marshal(rd.Bad())
		if rd.Bad() == nil {
			bad = []byte("[]")
		}
		if _, err := tx.Exec(ctx, "UPDATE jobs SET total_rows = $2, bad_rows = $3 WHERE job_id = $1", jobID, rd.Rows(), bad); err != nil {
			return fmt.Errorf("count job rows: %w", err)
		}
		return nil
	})
}

// rowSource feeds COPY from a jobcsv.Reader, one row at a time.
type rowSource struct {
	jobID string
	rd    *jobcsv.Reader
	row   jobcsv.Row
	err   error
}

func (s *rowSource) Next() bool {
	row, err := s.rd.Next()
	if err != nil {
		if err != io.EOF {
			s.err = err
		}
		return false
	}
	s.row = row
	return true
}

func (s *rowSource) Values() ([]any, error) {
	r := s.row
	var site *string
	if r.Site != "" {
		site = &r.Site
	}
	return []any{s.jobID, r.Num, r.Line, r.Name, r.Domain, r.Cols, site}, nil
}

func (s *rowSource) Err() error { return s.err }

// DeleteJob removes a job whose workflow could not be started, so that a
// retried POST does not leave an orphan behind.
func (s *Store) DeleteJob(ctx context.Context, jobID string) error {
	if _, err := s.Pool.Exec(ctx, "DELETE FROM results WHERE job_id = $1", jobID); err != nil {
		return fmt.Errorf("delete job results: %w", err)
	}
	if _, err := s.Pool.Exec(ctx, "DELETE FROM jobs WHERE job_id = $1", jobID); err != nil {
		return fmt.Errorf("delete job: %w", err)
	}
	return nil
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
