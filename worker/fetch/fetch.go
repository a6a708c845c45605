// Package fetch gets web pages politely: robots.txt first, a timeout and a
// size cap per page, a bounded number of requests per host, and the
// standard proxy settings (HTTP_PROXY, NO_PROXY). It reaches public
// addresses only (worker/netguard), at dial time and on every redirect.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ampledata/temporal-kit/worker/netguard"
)

// ClassBlocked is the error class of a page the guard refused: a private,
// loopback, link-local or otherwise non-public address, an IP-literal host,
// or a port other than 80/443, named by the row, a redirect or a DNS answer.
const ClassBlocked = "blocked"

// Error is a failed fetch, classified for retries and reports.
type Error struct {
	Class     string // blocked, robots_disallowed, fetch_timeout, fetch_network, fetch_http_4xx, fetch_http_5xx, fetch_not_html
	Transient bool
	Err       error
}

func (e *Error) Error() string { return e.Class + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Options configure a Fetcher.
type Options struct {
	UserAgent string
	Timeout   time.Duration // whole request, body included
	MaxBytes  int64         // body cap; the rest is dropped and Page.Truncated set
	PerHost   int           // concurrent requests to one host
	MaxConns  int           // idle connections kept (to the proxy or to hosts)
	Proxy     func(*http.Request) (*url.URL, error)
	// RobotsCacheSize bounds the robots.txt cache (hosts); old entries are dropped.
	RobotsCacheSize int
	// Allow lists networks the fetcher may reach although they are not
	// public: test fixtures only. Empty in production.
	Allow []netip.Prefix
}

// Page is a fetched document.
type Page struct {
	URL       string // final URL after redirects
	Status    int
	Body      []byte
	Truncated bool
}

// Fetcher is safe for concurrent use; one per worker process.
type Fetcher struct {
	opts   Options
	client *http.Client
	hosts  *hostLimiter
	guard  *netguard.Policy
	// proxies are the addresses of the proxies Options.Proxy chose: dialing
	// them is the operator's choice, not a page's (see guardedDial).
	proxies sync.Map

	mu     sync.Mutex
	robots map[string]*robotsEntry
	// robotsBytes is what the cached rules hold, bounded by robotsCacheBytes.
	robotsBytes int
}

// robotsCacheBytes bounds the memory of the robots.txt cache: 10,000 hosts
// of the largest rules would hold gigabytes.
const robotsCacheBytes = 32 << 20

type robotsEntry struct {
	ready chan struct{}
	r     *Robots
	err   error
}

// New builds a Fetcher.
func New(o Options) *Fetcher {
	if o.PerHost <= 0 {
		o.PerHost = 2
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 256
	}
	if o.RobotsCacheSize <= 0 {
		o.RobotsCacheSize = 10000
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	f := &Fetcher{opts: o, hosts: newHostLimiter(o.PerHost), robots: map[string]*robotsEntry{}, guard: netguard.New(o.Allow)}
	tr := &http.Transport{
		Proxy:                 f.proxyFor,
		DialContext:           f.guardedDial,
		MaxIdleConns:          o.MaxConns,
		MaxIdleConnsPerHost:   o.MaxConns, // all hosts may share one proxy
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		ForceAttemptHTTP2:     true,
	}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return f.guard.CheckURL(req.URL) // the dial checks the address again
		},
	}
	return f
}

// Get fetches an HTML page after checking robots.txt for its host.
func (f *Fetcher) Get(ctx context.Context, pageURL string) (*Page, error) {
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{Class: "fetch_bad_url", Err: fmt.Errorf("%q is not an http(s) URL", pageURL)}
	}
	if err := f.guard.CheckURL(u); err != nil {
		return nil, &Error{Class: ClassBlocked, Err: err}
	}
	rb, err := f.robotsFor(ctx, u)
	if err != nil {
		return nil, err
	}
	if !rb.Allowed(u.RequestURI()) {
		return nil, &Error{Class: "robots_disallowed", Err: fmt.Errorf("robots.txt of %s disallows %s", u.Host, u.RequestURI())}
	}
	p, err := f.get(ctx, u.String(), f.opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	if p.Status >= 400 {
		return nil, statusError(p.Status, u.String())
	}
	return p, nil
}

// robotsFor returns the host's rules, fetching robots.txt once per host
// (concurrent callers wait for the first). A missing robots.txt (4xx)
// allows all; an unreachable one (5xx, network) is a transient error, as
// RFC 9309 asks crawlers to assume complete disallow meanwhile.
func (f *Fetcher) robotsFor(ctx context.Context, u *url.URL) (*Robots, error) {
	key := u.Scheme + "://" + u.Host
	f.mu.Lock()
	e, ok := f.robots[key]
	if !ok {
		if len(f.robots) >= f.opts.RobotsCacheSize {
			f.robots, f.robotsBytes = map[string]*robotsEntry{}, 0 // cheap bound; rows of a batch are near each other
		}
		e = &robotsEntry{ready: make(chan struct{})}
		f.robots[key] = e
	}
	f.mu.Unlock()
	if !ok {
		p, err := f.get(ctx, key+"/robots.txt", robotsMaxBytes)
		switch {
		case err != nil:
			e.err = err
		case p.Status >= 500:
			e.err = statusError(p.Status, key+"/robots.txt")
		case p.Status >= 400:
			e.r = &Robots{}
		default:
			e.r = ParseRobots(p.Body, f.opts.UserAgent)
			f.mu.Lock()
			if f.robotsBytes += e.r.size; f.robotsBytes > robotsCacheBytes {
				f.robots, f.robotsBytes = map[string]*robotsEntry{key: e}, e.r.size
			}
			f.mu.Unlock()
		}
		if e.err != nil { // do not cache failures: the next row may try again
			f.mu.Lock()
			if f.robots[key] == e {
				delete(f.robots, key)
			}
			f.mu.Unlock()
		}
		close(e.ready)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.r, e.err
}

func (f *Fetcher) get(ctx context.Context, pageURL string, max int64) (*Page, error) {
	u, _ := url.Parse(pageURL)
	release, err := f.hosts.acquire(ctx, strings.ToLower(u.Host))
	if err != nil {
		return nil, err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return nil, &Error{Class: "fetch_bad_url", Err: err}
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5,*/*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	p := &Page{URL: resp.Request.URL.String(), Status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return p, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasSuffix(pageURL, "/robots.txt") {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "text/html" && mt != "application/xhtml+xml" && mt != "text/plain" {
			return nil, &Error{Class: "fetch_not_html", Err: fmt.Errorf("%s is %s", pageURL, mt)}
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if int64(len(body)) > max {
		body, p.Truncated = body[:max], true
	}
	p.Body = body
	return p, nil
}

// proxyFor is Options.Proxy, remembering the proxy it picks so that
// guardedDial lets that one address through.
func (f *Fetcher) proxyFor(req *http.Request) (*url.URL, error) {
	u, err := f.opts.Proxy(req)
	if u != nil && err == nil {
		f.proxies.Store(proxyAddr(u), true)
	}
	return u, err
}

// proxyAddr is the host:port the transport dials for proxy u.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// guardedDial connects only to public addresses: the guard runs on the
// address the socket really connects to, after DNS, so neither a name that
// resolves to a private address nor one that rebinds between checks gets
// through. The configured proxy is dialed as is: it was chosen by the
// operator, and it resolves the sites' names itself, so it must apply its
// own egress rules (see README).
func (f *Fetcher) guardedDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if _, ok := f.proxies.Load(strings.ToLower(addr)); !ok {
		d.ControlContext = f.guard.Control
	}
	return d.DialContext(ctx, network, addr)
}

func statusError(code int, u string) error {
	if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
		return &Error{Class: "fetch_http_5xx", Transient: true, Err: fmt.Errorf("%s: HTTP %d", u, code)}
	}
	return &Error{Class: "fetch_http_4xx", Err: fmt.Errorf("%s: HTTP %d", u, code)}
}

func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // cancelled by the caller: not the site's fault
	}
	var refused *netguard.Refused
	if errors.As(err, &refused) {
		return &Error{Class: ClassBlocked, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Class: "fetch_timeout", Transient: true, Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return &Error{Class: "fetch_dns", Err: err} // the domain does not exist
	}
	return &Error{Class: "fetch_network", Transient: true, Err: err}
}

// hostLimiter bounds concurrent requests per host; entries live only while
// in use, so 100k distinct hosts cost nothing after their rows are done.
type hostLimiter struct {
	per int
	mu  sync.Mutex
	m   map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	refs int
}

func newHostLimiter(per int) *hostLimiter {
	return &hostLimiter{per: per, m: map[string]*hostSlot{}}
}

func (h *hostLimiter) acquire(ctx context.Context, host string) (func(), error) {
	h.mu.Lock()
	s, ok := h.m[host]
	if !ok {
		s = &hostSlot{sem: make(chan struct{}, h.per)}
		h.m[host] = s
	}
	s.refs++
	h.mu.Unlock()
	done := func() {
		h.mu.Lock()
		s.refs--
		if s.refs == 0 {
			delete(h.m, host)
		}
		h.mu.Unlock()
	}
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
