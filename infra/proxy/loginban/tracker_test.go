package loginban

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a tracker's time, moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTracker(lim Limits) (*Tracker, *clock) {
	c := &clock{t: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)}
	tr := New(lim)
	tr.now = c.now
	return tr, c
}

var testLimits = Limits{MaxFailures: 3, Window: time.Minute, Ban: 10 * time.Minute, MaxClients: 100}

// try is one sequential login attempt: the wait, and whether it banned.
func try(t *testing.T, tr *Tracker, key, cred string, failed bool) (time.Duration, bool) {
	t.Helper()
	a, wait := tr.Begin(key, []byte(cred))
	if wait > 0 {
		if a != nil {
			t.Fatal("an attempt with a wait")
		}
		return wait, false
	}
	return 0, a.End(failed)
}

func TestBanAfterMaxFailuresThenLift(t *testing.T) {
	tr, clk := newTracker(testLimits)
	for i := 1; i <= 3; i++ {
		wait, banned := try(t, tr, "198.51.100.7", "Basic wrong", true)
		if wait != 0 {
			t.Fatalf("attempt %d refused (%s) before the limit", i, wait)
		}
		if banned != (i == 3) {
			t.Fatalf("attempt %d: banned=%v", i, banned)
		}
	}
	// Banned: even the right password waits, for the ban's whole length.
	if wait, _ := try(t, tr, "198.51.100.7", "Basic right", false); wait != 10*time.Minute {
		t.Fatalf("banned client's wait %s, want 10m", wait)
	}
	// Another address is not affected.
	if wait, _ := try(t, tr, "198.51.100.8", "Basic right", false); wait != 0 {
		t.Fatalf("another client waits %s", wait)
	}
	clk.add(10*time.Minute - time.Second)
	if wait, _ := try(t, tr, "198.51.100.7", "Basic right", false); wait != time.Second {
		t.Fatalf("wait %s one second before the ban ends", wait)
	}
	clk.add(time.Second)
	if wait, _ := try(t, tr, "198.51.100.7", "Basic right", false); wait != 0 {
		t.Fatalf("still refused (%s) after the ban", wait)
	}
	// Counting starts again from zero after a ban.
	for i := 1; i <= 2; i++ {
		if wait, banned := try(t, tr, "198.51.100.7", "Basic wrong", true); wait != 0 || banned {
			t.Fatalf("after the ban, failure %d: wait %s banned %v", i, wait, banned)
		}
	}
}

func TestFailuresOutsideTheWindowAreForgotten(t *testing.T) {
	tr, clk := newTracker(testLimits)
	for i := 0; i < 20; i++ {
		if wait, banned := try(t, tr, "198.51.100.7", "Basic wrong", true); wait != 0 || banned {
			t.Fatalf("failure %d, one per 31 s: wait %s banned %v", i, wait, banned)
		}
		clk.add(31 * time.Second)
		if i%2 == 1 {
			clk.add(time.Minute) // a full window apart: the count restarts
		}
	}
}

func TestSuccessDoesNotCount(t *testing.T) {
	tr, _ := newTracker(testLimits)
	for i := 0; i < 50; i++ {
		if wait, banned := try(t, tr, "198.51.100.7", "Basic right", false); wait != 0 || banned {
			t.Fatalf("login %d: wait %s banned %v", i, wait, banned)
		}
	}
}

// A burst of parallel guesses gets no more checks than MaxFailures: the
// checks still running count.
func TestParallelGuessesAreCappedWhileRunning(t *testing.T) {
	tr, _ := newTracker(testLimits)
	var running []*Attempt
	refused := 0
	for i := 0; i < 100; i++ {
		a, wait := tr.Begin("198.51.100.7", []byte(fmt.Sprint("Basic guess", i)))
		if wait > 0 {
			refused++
			continue
		}
		running = append(running, a)
	}
	if len(running) != 3 || refused != 97 {
		t.Fatalf("%d checks let through, %d refused; want 3 and 97", len(running), refused)
	}
	for _, a := range running {
		a.End(true)
	}
	if _, wait := tr.Begin("198.51.100.7", []byte("Basic right")); wait != 10*time.Minute {
		t.Fatalf("after 3 failures: wait %s, want the ban", wait)
	}
}

// A credential that logged in before is not held back by the running-check
// count: a browser fetches a page's assets in parallel.
func TestKnownGoodCredentialRunsInParallel(t *testing.T) {
	tr, _ := newTracker(testLimits)
	try(t, tr, "198.51.100.7", "Basic right", false)
	var running []*Attempt
	for i := 0; i < 20; i++ {
		a, wait := tr.Begin("198.51.100.7", []byte("Basic right"))
		if wait > 0 {
			t.Fatalf("parallel request %d with a known-good credential waits %s", i, wait)
		}
		running = append(running, a)
	}
	for _, a := range running {
		a.End(false)
	}
	// ...but it does not shield guesses from the same address.
	for i := 1; i <= 3; i++ {
		try(t, tr, "198.51.100.7", "Basic wrong", true)
	}
	if wait, _ := try(t, tr, "198.51.100.7", "Basic right", false); wait == 0 {
		t.Fatal("3 failures beside a good login: not banned")
	}
}

// Past MaxClients, unknown clients share one entry: a guesser with many
// addresses gets MaxFailures checks in total, and the table stays bounded.
func TestFullTableSharesOneEntry(t *testing.T) {
	lim := testLimits
	lim.MaxClients = 10
	tr, clk := newTracker(lim)
	for i := 0; i < 10; i++ {
		try(t, tr, fmt.Sprint("198.51.100.", i), "Basic wrong", true)
	}
	through := 0
	for i := 0; i < 1000; i++ {
		if wait, _ := try(t, tr, fmt.Sprint("203.0.113.", i%250, "-", i), "Basic wrong", true); wait == 0 {
			through++
		}
	}
	if through != 3 {
		t.Errorf("%d of 1000 guesses from new addresses checked with a full table, want 3", through)
	}
	if n := len(tr.clients); n > 11 {
		t.Errorf("table holds %d entries, cap 10 (+1 shared)", n)
	}
	// Expired entries make room again.
	clk.add(11 * time.Minute)
	if wait, _ := try(t, tr, "192.0.2.1", "Basic right", false); wait != 0 {
		t.Errorf("a new client after every entry expired waits %s", wait)
	}
	if _, ok := tr.clients["192.0.2.1"]; !ok {
		t.Error("expired entries were not swept to make room")
	}
}

func TestConcurrentUse(t *testing.T) {
	tr := New(Limits{MaxFailures: 5, Window: time.Minute, Ban: time.Minute, MaxClients: 50})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				key := fmt.Sprint("10.0.", g, ".", i%80)
				if a, wait := tr.Begin(key, []byte(fmt.Sprint(i%3))); wait == 0 {
					a.End(i%2 == 0)
				}
			}
		}()
	}
	wg.Wait()
	for k, c := range tr.clients {
		if c.inflight != 0 {
			t.Errorf("%s: %d checks still counted as running", k, c.inflight)
		}
	}
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	} {
		if got := Key(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Key(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
}
