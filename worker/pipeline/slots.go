package pipeline

import (
	"container/heap"
	"context"
	"sync"
)

// slots is a counting semaphore that serves waiters by priority (lowest
// first), then by arrival. The stages pass the row number: rows leave a
// stage in job order, as from the in-process pipeline's channels, so the
// earliest batch finishes first and the next stage starts on it at once,
// instead of every batch in flight finishing together.
type slots struct {
	mu      sync.Mutex
	size    int
	free    int
	seq     uint64
	waiters waitHeap
}

func newSlots(n int) *slots { return &slots{size: n, free: n} }

type waiter struct {
	prio    int
	seq     uint64
	index   int
	granted bool
	ready   chan struct{}
}

func (s *slots) acquire(ctx context.Context, prio int) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	heap.Push(&s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if w.granted { // granted while we gave up: pass it on
			s.mu.Unlock()
			s.release()
			return ctx.Err()
		}
		heap.Remove(&s.waiters, w.index)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	s.free++
}

type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}
