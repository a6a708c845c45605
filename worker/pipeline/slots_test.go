package pipeline

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestSlotsServeLowestPriorityFirst(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, 100); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for _, p := range []int{7, 3, 9, 1, 5} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(ctx, p); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, p)
			mu.Unlock()
			s.release()
		}()
	}
	for { // all five are waiting
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.release()
	wg.Wait()
	want := []int{1, 3, 5, 7, 9}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if s.free != 1 {
		t.Errorf("free %d after all released, want 1", s.free)
	}
}

func TestSlotsCancelledWaiterLeavesNoSlotBehind(t *testing.T) {
	s := newSlots(2)
	bg := context.Background()
	_ = s.acquire(bg, 0)
	_ = s.acquire(bg, 0)
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := s.acquire(ctx, 1); err == nil {
		t.Fatal("acquired a full semaphore")
	}
	s.release()
	s.release()
	for range 2 { // both slots are back
		c, cancel := context.WithTimeout(bg, time.Second)
		if err := s.acquire(c, 0); err != nil {
			t.Fatalf("slot lost: %v", err)
		}
		cancel()
	}
}
