package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/worker/extract"
)

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

// ReadResults returns a job's stored results in row order: what tests
// compare with the expected results, row by row.
func (s *Store) ReadResults(ctx context.Context, jobID string) ([]Result, error) {
	rows, err := s.Pool.Query(ctx, `SELECT row_num, status, stage, error_class, error, site_url, title, title_url,
			description, description_url, emails, phones, socials, pages
		FROM results WHERE job_id = $1 ORDER BY row_num`, jobID)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Result, error) {
		x := Result{JobID: jobID}
		var status string
		var emails, phones, socials []byte
		err := r.Scan(&x.Row, &status, &x.Stage, &x.ErrorClass, &x.Error, &x.SiteURL, &x.Fields.Title.Value, &x.Fields.Title.URL,
			&x.Fields.Description.Value, &x.Fields.Description.URL, &emails, &phones, &socials, &x.Pages)
		if err != nil {
			return x, err
		}
		x.OK = status == "ok"
		return x, decodeLists(&x, emails, phones, socials)
	})
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return out, nil
}

// ResultColumns are the columns results.csv adds to the input's.
var ResultColumns = []string{"status", "failed_stage", "error_class", "error", "site_url", "title", "title_url",
	"description", "description_url", "emails", "phones", "socials"}

// EachResult calls fn for every input row of the job in order, with the
// row's results.csv record (see ResultRecord). The values are raw: making
// them safe for spreadsheets is the CSV writer's job.
func (s *Store) EachResult(ctx context.Context, jobID string, fn func(cols []string) error) error {
	rows, err := s.Pool.Query(ctx, `SELECT r.row_num, r.cols, coalesce(r.site_url, ''), x.status, coalesce(x.stage, ''),
			coalesce(x.error_class, ''), coalesce(x.error, ''), coalesce(x.site_url, ''), coalesce(x.title, ''),
			coalesce(x.title_url, ''), coalesce(x.description, ''), coalesce(x.description_url, ''),
			coalesce(x.emails, '[]'), coalesce(x.phones, '[]'), coalesce(x.socials, '[]')
		FROM job_rows r LEFT JOIN results x ON x.job_id = r.job_id AND x.row_num = r.row_num
		WHERE r.job_id = $1 ORDER BY r.row_num`, jobID)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cols []string
		var searched string
		var status *string // NULL: no result stored yet
		var emails, phones, socials []byte
		x := Result{JobID: jobID}
		if err := rows.Scan(&x.Row, &cols, &searched, &status, &x.Stage, &x.ErrorClass, &x.Error, &x.SiteURL,
			&x.Fields.Title.Value, &x.Fields.Title.URL, &x.Fields.Description.Value, &x.Fields.Description.URL,
			&emails, &phones, &socials); err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		var res *Result
		if status != nil {
			x.OK = *status == "ok"
			if err := decodeLists(&x, emails, phones, socials); err != nil {
				return fmt.Errorf("read results: %w", err)
			}
			res = &x
		}
		if err := fn(ResultRecord(cols, res, searched)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ResultRecord is a row's record in results.csv: its input columns, then
// ResultColumns from its stored result r. While the row is pending (r nil)
// only status and site_url, the site the search found if any, are set.
func ResultRecord(cols []string, r *Result, searched string) []string {
	out := make([]string, 0, len(cols)+len(ResultColumns))
	out = append(out, cols...)
	if r == nil {
		return append(out, "pending", "", "", "", searched, "", "", "", "", "", "", "")
	}
	status := "failed"
	if r.OK {
		status = "ok"
	}
	f := r.Fields
	return append(out, status, r.Stage, r.ErrorClass, r.Error, r.SiteURL, f.Title.Value, f.Title.URL,
		f.Description.Value, f.Description.URL, joinFound(f.Emails), joinFound(f.Phones), joinSocial(f.Socials))
}

// decodeLists fills x's emails, phones and socials from their JSON columns.
func decodeLists(x *Result, emails, phones, socials []byte) error {
	if err := json.Unmarshal(emails, &x.Fields.Emails); err != nil {
		return fmt.Errorf("row %d emails: %w", x.Row, err)
	}
	if err := json.Unmarshal(phones, &x.Fields.Phones); err != nil {
		return fmt.Errorf("row %d phones: %w", x.Row, err)
	}
	if err := json.Unmarshal(socials, &x.Fields.Socials); err != nil {
		return fmt.Errorf("row %d socials: %w", x.Row, err)
	}
	return nil
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
