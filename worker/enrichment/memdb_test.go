package enrichment

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// memDB is the job store in memory, for workflow tests: the same
// selection rules as store.Store's queries, upserts keyed by row, and a
// switch to fail writes the way a stopped PostgreSQL does.
type memDB struct {
	mu      sync.Mutex
	rows    []store.InputRow
	results map[int]store.Result
	writes  map[int]int // result writes per row (upserts: more than one is harmless)
	// failSaves makes the next n result writes fail after writing the
	// first half of the group, like a connection lost mid-batch.
	failSaves int
	// before, when set, runs before each result write; an error fails it.
	before func() error
}

var errDown = errors.New("connection refused (test: database down)")

func newMemDB(rows []fixture.Row) *memDB {
	db := &memDB{results: map[int]store.Result{}, writes: map[int]int{}}
	for i, r := range rows {
		in := store.InputRow{Num: i, Name: r.Name}
		if r.Domain != "" {
			in.Domain, in.SiteURL, _ = jobcsv.SiteURL(r.Domain)
		}
		db.rows = append(db.rows, in)
	}
	return db
}

func (db *memDB) RowsToSearch(_ context.Context, _ string, from, to int) ([]store.InputRow, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []store.InputRow
	for _, r := range db.rows[from:to] {
		if r.Domain == "" {
			out = append(out, store.InputRow{Num: r.Num, Name: r.Name})
		}
	}
	return out, nil
}

func (db *memDB) RowsToEnrich(_ context.Context, _ string, from, to int) ([]store.InputRow, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	var out []store.InputRow
	for _, r := range db.rows[from:to] {
		if r.SiteURL != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

func (db *memDB) SaveSites(_ context.Context, _ string, sites []store.SiteFound) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, s := range sites {
		db.rows[s.Row].SiteURL = s.SiteURL
	}
	return nil
}

func (db *memDB) SaveResults(_ context.Context, results []store.Result) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.before != nil {
		if err := db.before(); err != nil {
			return err
		}
	}
	if db.failSaves > 0 && len(results) > 0 {
		db.failSaves--
		for _, r := range results[:len(results)/2] {
			db.results[r.Row] = r
			db.writes[r.Row]++
		}
		return errDown
	}
	for _, r := range results {
		db.results[r.Row] = r
		db.writes[r.Row]++
	}
	return nil
}

func (db *memDB) stored() []store.Result {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]store.Result, 0, len(db.results))
	for _, r := range db.results {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
	return out
}
