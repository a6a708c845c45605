package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/ampledata/temporal-kit/worker/store"
)

// Saver stores results; *store.Store is one.
type Saver interface {
	SaveResults(ctx context.Context, results []store.Result) error
}

// InProcessStats are the in-process pipeline's totals.
type InProcessStats struct {
	OK, Failed int
	ByClass    map[string]int
}

// RunInProcess is the "simple fixes" baseline: the same stages joined by
// channels in one process, with the same per-stage concurrency, and the
// store stage writing in batches of flushSize. It has no durability: a crash
// loses the rows in flight. progress, when not nil, gets the count of
// stored rows after every flush.
func (s *Stages) RunInProcess(ctx context.Context, jobID string, rows []store.InputRow, db Saver, flushSize int, progress func(done int)) (InProcessStats, error) {
	type found struct {
		row  store.InputRow
		site string
	}
	searchIn := make(chan store.InputRow)
	fetchIn := make(chan found, s.fetchSlots.size)
	storeIn := make(chan store.Result, flushSize)

	go func() {
		defer close(searchIn)
		for _, r := range rows {
			select {
			case searchIn <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var searchers sync.WaitGroup
	for range s.searchSlots.size {
		searchers.Add(1)
		go func() {
			defer searchers.Done()
			for r := range searchIn {
				site, err := s.FindSite(ctx, r)
				if err != nil {
					if err.Class != "cancelled" { // a stopped run is not the row's failure
						storeIn <- Failed(jobID, r.Num, "", err)
					}
					continue
				}
				fetchIn <- found{r, site}
			}
		}()
	}
	go func() { searchers.Wait(); close(fetchIn) }()
	var fetchers sync.WaitGroup
	for range s.fetchSlots.size {
		fetchers.Add(1)
		go func() {
			defer fetchers.Done()
			for f := range fetchIn {
				res, err := s.Enrich(ctx, jobID, f.row, f.site)
				if err != nil {
					if err.Class == "cancelled" {
						continue
					}
					res = Failed(jobID, f.row.Num, f.site, err)
				}
				storeIn <- res
			}
		}()
	}
	go func() { fetchers.Wait(); close(storeIn) }()

	st := InProcessStats{ByClass: map[string]int{}}
	buf := make([]store.Result, 0, flushSize)
	done := 0
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		began := time.Now()
		if err := db.SaveResults(ctx, buf); err != nil {
			return err
		}
		s.Metrics.ObserveMany(StageStore, "ok", len(buf), time.Since(began))
		done += len(buf)
		buf = buf[:0]
		if progress != nil {
			progress(done)
		}
		return nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var firstErr error
	for {
		select {
		case r, ok := <-storeIn:
			if !ok {
				if err := flush(); err != nil && firstErr == nil {
					firstErr = err
				}
				return st, firstErr
			}
			if r.OK {
				st.OK++
			} else {
				st.Failed++
				st.ByClass[r.ErrorClass]++
			}
			buf = append(buf, r)
			if len(buf) >= flushSize {
				if err := flush(); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		case <-tick.C:
			if err := flush(); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
}
