// Package loginban makes a wrong password cost the guesser, not the server:
// a client that fails to log in MaxFailures times within Window is refused
// for Ban before its password is hashed again. The Tracker is plain Go; the
// Caddy handler around it (caddy.go) is compiled into the kit's Caddy build.
package loginban

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"
)

// Limits is what a client may get wrong before it is banned.
type Limits struct {
	// MaxFailures wrong logins (counting those still being checked) within
	// Window ban the client for Ban.
	MaxFailures int
	Window      time.Duration
	Ban         time.Duration
	// MaxClients bounds the memory the tracker takes; past it, clients it
	// does not know share one entry (see Tracker).
	MaxClients int
}

// DefaultLimits: a person who mistypes a few times is not banned; a guesser
// gets 5 hashes per 15 minutes per address.
var DefaultLimits = Limits{MaxFailures: 5, Window: 10 * time.Minute, Ban: 15 * time.Minute, MaxClients: 100000}

// overflowKey is the entry that clients share once the table is full: a
// guesser with more addresses than MaxClients gets MaxFailures hashes in
// total, not per address (the server's CPU stays bounded; new clients may
// be refused until entries expire).
const overflowKey = "*"

// knownGoodMax bounds the set of credentials that logged in before.
const knownGoodMax = 1024

type client struct {
	first    time.Time // start of the current window
	failures int
	inflight int // checks running now, counted as failures until they end
	banned   time.Time
}

// Tracker counts failed logins per client key. Safe for concurrent use.
type Tracker struct {
	lim Limits
	now func() time.Time

	mu        sync.Mutex
	clients   map[string]*client
	knownGood map[[sha256.Size]byte]bool
}

// New returns a tracker with the given limits (zero fields take DefaultLimits').
func New(lim Limits) *Tracker {
	lim.MaxFailures = positiveOr(lim.MaxFailures, DefaultLimits.MaxFailures)
	lim.Window = positiveOr(lim.Window, DefaultLimits.Window)
	lim.Ban = positiveOr(lim.Ban, DefaultLimits.Ban)
	lim.MaxClients = positiveOr(lim.MaxClients, DefaultLimits.MaxClients)
	return &Tracker{lim: lim, now: time.Now, clients: map[string]*client{}, knownGood: map[[sha256.Size]byte]bool{}}
}

// positiveOr is v, or def when v is zero (unset) or negative.
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Key is the client key of an address: the address itself for IPv4, its
// /64 for IPv6 (one subscriber gets a whole /64 to choose from).
func Key(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Begin is called before a request's credentials are checked. A non-zero
// wait means the client may not try now: it is banned, or its failures plus
// the checks it has running reach MaxFailures (so a burst of parallel
// guesses costs no more hashes than guesses in a row). A credential that
// logged in before skips the running-checks count: a browser loads a
// page's assets in parallel. After a zero wait the caller must call the
// Attempt's End once the check is over.
func (t *Tracker) Begin(key string, credential []byte) (*Attempt, time.Duration) {
	good := t.isKnownGood(credential)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	c := t.entry(key, now)
	if now.Before(c.banned) {
		return nil, c.banned.Sub(now)
	}
	if now.Sub(c.first) > t.lim.Window {
		c.first, c.failures = now, 0
	}
	if !good && c.failures+c.inflight >= t.lim.MaxFailures {
		return nil, t.lim.Window - now.Sub(c.first)
	}
	if !good {
		c.inflight++
	}
	return &Attempt{t: t, c: c, counted: !good, credential: credential}, 0
}

// Attempt is one credential check that Begin let through.
type Attempt struct {
	t          *Tracker
	c          *client
	counted    bool
	credential []byte
}

// End records the outcome: failed tells a wrong login. It reports whether
// the client is banned from now on.
func (a *Attempt) End(failed bool) (banned bool) {
	t, c := a.t, a.c
	if !failed {
		t.rememberGood(a.credential)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if a.counted {
		c.inflight--
	}
	if !failed {
		return false
	}
	if now.Sub(c.first) > t.lim.Window {
		c.first, c.failures = now, 0
	}
	c.failures++
	if c.failures >= t.lim.MaxFailures && !now.Before(c.banned) {
		c.banned = now.Add(t.lim.Ban)
		c.first, c.failures = now, 0
		return true
	}
	return false
}

// entry is key's record, made when missing. When the table is full it
// first drops what has expired, then falls back to the shared overflow
// entry. Callers hold t.mu.
func (t *Tracker) entry(key string, now time.Time) *client {
	if c, ok := t.clients[key]; ok {
		return c
	}
	if len(t.clients) >= t.lim.MaxClients {
		for k, c := range t.clients {
			if c.inflight == 0 && !now.Before(c.banned) && now.Sub(c.first) > t.lim.Window {
				delete(t.clients, k)
			}
		}
	}
	if len(t.clients) >= t.lim.MaxClients {
		key = overflowKey
		if c, ok := t.clients[key]; ok {
			return c
		}
	}
	c := &client{first: now}
	t.clients[key] = c
	return c
}

func (t *Tracker) isKnownGood(credential []byte) bool {
	if len(credential) == 0 {
		return false
	}
	sum := sha256.Sum256(credential)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.knownGood[sum]
}

func (t *Tracker) rememberGood(credential []byte) {
	if len(credential) == 0 {
		return
	}
	sum := sha256.Sum256(credential)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.knownGood) >= knownGoodMax {
		clear(t.knownGood)
	}
	t.knownGood[sum] = true
}
