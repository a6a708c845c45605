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
	searchIn := feed(ctx, rows)
	fetchIn := make(chan foundSite, s.fetchSlots.size)
	storeIn := make(chan store.Result, flushSize)
	pool(s.searchSlots.size, func() { s.searchAll(ctx, jobID, searchIn, fetchIn, storeIn) }, func() { close(fetchIn) })
	pool(s.fetchSlots.size, func() { s.enrichAll(ctx, jobID, fetchIn, storeIn) }, func() { close(storeIn) })
	w := &batchWriter{ctx: ctx, db: db, s: s, size: flushSize, buf: make([]store.Result, 0, flushSize), progress: progress}
	return w.storeAll(storeIn)
}

// foundSite is a row whose site the search found.
type foundSite struct {
	row  store.InputRow
	site string
}

// feed sends the rows into the channel it returns and closes it, early on
// a cancel.
func feed(ctx context.Context, rows []store.InputRow) <-chan store.InputRow {
	out := make(chan store.InputRow)
	go func() {
		defer close(out)
		for _, r := range rows {
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// pool runs work in n goroutines and calls done once all have returned.
func pool(n int, work, done func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(work)
	}
	go func() { wg.Wait(); done() }()
}

// searchAll finds the site of each row from in: found ones go on to the
// fetch stage, failed ones straight to the store.
func (s *Stages) searchAll(ctx context.Context, jobID string, in <-chan store.InputRow, found chan<- foundSite, results chan<- store.Result) {
	for r := range in {
		site, err := s.FindSite(ctx, r)
		if err != nil {
			if err.Class != "cancelled" { // a stopped run is not the row's failure
				results <- Failed(jobID, r.Num, "", err)
			}
			continue
		}
		found <- foundSite{r, site}
	}
}

// enrichAll enriches each found row and hands its result, good or failed,
// to the store.
func (s *Stages) enrichAll(ctx context.Context, jobID string, in <-chan foundSite, results chan<- store.Result) {
	for f := range in {
		res, err := s.Enrich(ctx, jobID, f.row, f.site)
		if err != nil {
			if err.Class == "cancelled" {
				continue
			}
			res = Failed(jobID, f.row.Num, f.site, err)
		}
		results <- res
	}
}

// batchWriter is the store stage: it saves results in batches, when a batch
// is full and every 200ms, and keeps the first error while it goes on.
type batchWriter struct {
	ctx      context.Context
	db       Saver
	s        *Stages
	size     int // results in a full batch
	buf      []store.Result
	done     int
	progress func(done int)
	firstErr error
}

// storeAll counts and saves every result from in until it is closed.
func (w *batchWriter) storeAll(in <-chan store.Result) (InProcessStats, error) {
	st := InProcessStats{ByClass: map[string]int{}}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-in:
			if !ok {
				w.flush()
				return st, w.firstErr
			}
			if r.OK {
				st.OK++
			} else {
				st.Failed++
				st.ByClass[r.ErrorClass]++
			}
			w.buf = append(w.buf, r)
			if len(w.buf) >= w.size {
				w.flush()
			}
		case <-tick.C:
			w.flush()
		}
	}
}

// flush saves the buffered results, if any.
func (w *batchWriter) flush() {
	if len(w.buf) == 0 {
		return
	}
	began := time.Now()
	if err := w.db.SaveResults(w.ctx, w.buf); err != nil {
		if w.firstErr == nil {
			w.firstErr = err
		}
		return
	}
	w.s.Metrics.ObserveMany(StageStore, "ok", len(w.buf), time.Since(began))
	w.done += len(w.buf)
	w.buf = w.buf[:0]
	if w.progress != nil {
		w.progress(w.done)
	}
}
