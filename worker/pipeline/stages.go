// Package pipeline holds the enrichment stages (search, fetch, extract,
// store) as plain Go, shared by the Temporal activities and by the
// in-process channel pipeline the load tool compares them with.
package pipeline

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/worker/extract"
	"github.com/ampledata/temporal-kit/worker/fetch"
	"github.com/ampledata/temporal-kit/worker/metrics"
	"github.com/ampledata/temporal-kit/worker/serp"
	"github.com/ampledata/temporal-kit/worker/store"
)

// Stage names, as they appear in metrics, progress and results.csv.
const (
	StageSearch  = "search"
	StageFetch   = "fetch"
	StageExtract = "extract"
	StageStore   = "store"
)

// ClassNoSerpKey is the error class of rows that need a search when the
// worker has no SERP_API_KEY.
const ClassNoSerpKey = "serp_not_configured"

// RowError is a row's failure in one stage.
type RowError struct {
	Stage     string
	Class     string
	Transient bool // a later attempt may succeed
	Msg       string
}

func (e *RowError) Error() string { return e.Stage + ": " + e.Class + ": " + e.Msg }

// Searcher finds search results; *serp.Client is one.
type Searcher interface {
	Search(ctx context.Context, query string) (*serp.Response, error)
}

// Getter fetches pages; *fetch.Fetcher is one.
type Getter interface {
	Get(ctx context.Context, url string) (*fetch.Page, error)
}

// Stages runs single rows through the stages. Its semaphores bound the
// concurrency of each external API for the whole process, whichever path
// (Temporal batches or the in-process pipeline) drives it.
type Stages struct {
	Search   Searcher // nil when no SERP API key is configured
	Fetch    Getter
	Metrics  *metrics.Pipeline
	MaxPages int

	searchSlots *slots
	fetchSlots  *slots
}

// NewStages makes Stages with searchConc concurrent searches and fetchConc
// rows fetching at once.
func NewStages(s Searcher, g Getter, m *metrics.Pipeline, maxPages, searchConc, fetchConc int) *Stages {
	return &Stages{Search: s, Fetch: g, Metrics: m, MaxPages: max(maxPages, 1),
		searchSlots: newSlots(max(searchConc, 1)), fetchSlots: newSlots(max(fetchConc, 1))}
}

// SearchConcurrency and FetchConcurrency are the stages' bounds.
func (s *Stages) SearchConcurrency() int { return s.searchSlots.size }

// FetchConcurrency is the number of rows fetching at once.
func (s *Stages) FetchConcurrency() int { return s.fetchSlots.size }

// FindSite runs the search stage for a row: the row's own site when the
// file gave one, else a SERP query for its name.
func (s *Stages) FindSite(ctx context.Context, row store.InputRow) (string, *RowError) {
	if row.SiteURL != "" {
		return row.SiteURL, nil
	}
	if row.Domain != "" {
		return "https://" + row.Domain + "/", nil
	}
	if s.Search == nil {
		return "", &RowError{Stage: StageSearch, Class: ClassNoSerpKey,
			Msg: "the row has no domain and SERP_API_KEY is not set; set it or give the row a domain"}
	}
	if err := s.searchSlots.acquire(ctx, row.Num); err != nil {
		return "", cancelled(StageSearch, err)
	}
	defer s.searchSlots.release()
	began := time.Now()
	resp, err := s.Search.Search(ctx, row.Name)
	var site string
	if err == nil {
		site, err = serp.Site(resp)
	}
	if err != nil {
		re := classify(StageSearch, err)
		if re.Class != "no_search_result" && re.Class != "cancelled" {
			s.Metrics.APIError("serp", re.Class)
		}
		s.Metrics.Observe(StageSearch, re.Class, time.Since(began))
		return "", re
	}
	s.Metrics.Observe(StageSearch, "ok", time.Since(began))
	return site, nil
}

// Enrich runs fetch and extract for a row whose site is known: the home
// page, then up to MaxPages-1 contact or about pages it links to. A failed
// home page fails the row; a failed sub-page is skipped.
func (s *Stages) Enrich(ctx context.Context, jobID string, row store.InputRow, site string) (store.Result, *RowError) {
	if err := s.fetchSlots.acquire(ctx, row.Num); err != nil {
		return store.Result{}, cancelled(StageFetch, err)
	}
	defer s.fetchSlots.release()
	res := store.Result{JobID: jobID, Row: row.Num, SiteURL: site}
	var pages []extract.Page
	var fetching, extracting time.Duration
	queue := []string{site}
	seen := map[string]bool{site: true}
	for len(queue) > 0 && len(pages) < s.MaxPages {
		u := queue[0]
		queue = queue[1:]
		began := time.Now()
		p, err := s.Fetch.Get(ctx, u)
		fetching += time.Since(began)
		if err != nil {
			re := classify(StageFetch, err)
			// Refusals are the worker's own decision, not an error of the site.
			if re.Class != "cancelled" && re.Class != "robots_disallowed" && re.Class != fetch.ClassBlocked {
				s.Metrics.APIError("site", re.Class)
			}
			if len(pages) == 0 { // without the home page there is nothing to report
				s.Metrics.Observe(StageFetch, re.Class, fetching)
				return res, re
			}
			continue
		}
		began = time.Now()
		page := extract.ParsePage(p.URL, p.Body)
		extracting += time.Since(began)
		pages = append(pages, page)
		for _, l := range page.Links {
			if !seen[l] {
				seen[l] = true
				queue = append(queue, l)
			}
		}
	}
	s.Metrics.Observe(StageFetch, "ok", fetching)
	s.Metrics.Observe(StageExtract, "ok", extracting)
	res.OK = true
	res.Fields = extract.Merge(pages...)
	res.Pages = len(pages)
	return res, nil
}

// Failed turns a row error into the row's stored result.
func Failed(jobID string, row int, site string, e *RowError) store.Result {
	return store.Result{JobID: jobID, Row: row, Stage: e.Stage, ErrorClass: e.Class, Error: e.Msg, SiteURL: site}
}

func cancelled(stage string, err error) *RowError {
	return &RowError{Stage: stage, Class: "cancelled", Transient: true, Msg: err.Error()}
}

// classify maps the stage packages' errors to a row error.
func classify(stage string, err error) *RowError {
	var se *serp.Error
	var fe *fetch.Error
	switch {
	case errors.As(err, &se):
		return &RowError{Stage: stage, Class: se.Class, Transient: se.Transient, Msg: se.Error()}
	case errors.As(err, &fe):
		return &RowError{Stage: stage, Class: fe.Class, Transient: fe.Transient, Msg: fe.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return cancelled(stage, err)
	default:
		return &RowError{Stage: stage, Class: stage + "_error", Transient: true, Msg: strings.TrimSpace(err.Error())}
	}
}
