package jobapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client speaks the job API from Go: the e2e test, the load tool and the
// stack's fault tests submit and follow jobs with it.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8000
	HTTP    *http.Client
}

// NewClient returns a client with a per-request timeout.
func NewClient(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// StatusError is a non-2xx answer, with the API's error message.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body) }

// Submit posts a job file and returns the API's answer (the job id, the
// good row count and the unreadable rows).
func (c *Client) Submit(ctx context.Context, csvBody []byte) (JobCreated, error) {
	var out JobCreated
	err := c.do(ctx, http.MethodPost, "/jobs", "text/csv", csvBody, &out)
	return out, err
}

// Job reads GET /jobs/{id}.
func (c *Client) Job(ctx context.Context, id string) (JobView, error) {
	var out JobView
	err := c.do(ctx, http.MethodGet, "/jobs/"+id, "", nil, &out)
	return out, err
}

// Cancel asks for the job to stop (DELETE /jobs/{id}).
func (c *Client) Cancel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/jobs/"+id, "", nil, nil)
}

// Results reads results.csv: the header and the records.
func (c *Client) Results(ctx context.Context, id string) ([]string, [][]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/jobs/"+id+"/results.csv", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, nil, &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("results.csv: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("results.csv has no header")
	}
	return recs[0], recs[1:], nil
}

// Wait polls the job every interval until done says so, ctx ends, or the
// job reaches a final state other than completed. Transient API errors
// (a 503 while PostgreSQL restarts, a refused connection while the worker is
// replaced) are tolerated; progress, when not nil, sees every view.
func (c *Client) Wait(ctx context.Context, id string, interval time.Duration, progress func(JobView)) (JobView, error) {
	var last JobView
	var lastErr error
	for {
		v, err := c.Job(ctx, id)
		switch {
		case err == nil:
			last, lastErr = v, nil
			if progress != nil {
				progress(v)
			}
			if v.Complete {
				return v, nil
			}
			switch v.State {
			case "cancelled", "failed", "terminated", "timed_out":
				return v, fmt.Errorf("job %s ended %s with %d of %d rows stored", id, v.State, v.Stored, v.Rows)
			}
		default:
			var se *StatusError
			if errors.As(err, &se) && se.Code == http.StatusNotFound {
				return last, err
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("job %s: %w (last error: %v)", id, ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("job %s: %w with %d of %d rows stored, state %s", id, ctx.Err(), last.Stored, last.Rows, last.State)
		case <-time.After(interval):
		}
	}
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}
