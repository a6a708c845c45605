package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRobots(t *testing.T) {
	body := []byte(`# comment
User-agent: *
Disallow: /private/
Allow: /private/open
Disallow: /*.pdf$
Disallow: /search

User-agent: ampledata-enrichment
User-agent: otherbot
Disallow: /no-ampledata/
Allow: /search/public
Disallow: /search
`)
	star := ParseRobots(body, "somebot/2.0")
	mine := ParseRobots(body, "ampledata-enrichment/1.0 (+https://ampledata.example/bot)")
	cases := []struct {
		r    *Robots
		path string
		want bool
	}{
		{star, "/", true},
		{star, "/private/x", false},
		{star, "/private/open/a", true}, // longer Allow wins
		{star, "/doc.pdf", false},
		{star, "/doc.pdf?x=1", true}, // $ anchors the end
		{star, "/search?q=1", false},
		{mine, "/private/x", true}, // a group naming the agent replaces "*"
		{mine, "/no-ampledata/x", false},
		{mine, "/search/public/1", true},
		{mine, "/search/other", false},
		{ParseRobots([]byte("User-agent: *\nDisallow:\n"), "x"), "/anything", true},
		{ParseRobots(nil, "x"), "/anything", true},
		{ParseRobots([]byte("User-agent: *\nDisallow: /\n"), "x"), "/", false},
	}
	for _, c := range cases {
		if got := c.r.Allowed(c.path); got != c.want {
			t.Errorf("Allowed(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

// site is a test web server; robots is its robots.txt (404 when empty).
func site(t *testing.T, robots string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		if robots == "" {
			http.NotFound(w, r)
			return
		}
		if robots == "503" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(robots))
	})
	mux.HandleFunc("/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func html(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func class(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	if err == nil {
		return ""
	}
	return "other: " + err.Error()
}

func TestGetClassifiesFailures(t *testing.T) {
	f := New(Options{Allow: loopback, UserAgent: "test", Timeout: 300 * time.Millisecond, MaxBytes: 1024, PerHost: 2})
	ctx := context.Background()
	srv := site(t, "User-agent: *\nDisallow: /secret\n", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/down":
			http.Error(w, "x", http.StatusBadGateway)
		case "/slow":
			time.Sleep(time.Second)
		case "/pdf":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write([]byte("%PDF"))
		case "/big":
			html(strings.Repeat("a", 5000))(w, r)
		default:
			html("<title>ok</title>")(w, r)
		}
	})
	cases := map[string]struct {
		class     string
		transient bool
	}{
		"/":        {"", false},
		"/secret":  {"robots_disallowed", false},
		"/missing": {"fetch_http_4xx", false},
		"/down":    {"fetch_http_5xx", true},
		"/slow":    {"fetch_timeout", true},
		"/pdf":     {"fetch_not_html", false},
	}
	for path, want := range cases {
		_, err := f.Get(ctx, srv.URL+path)
		var fe *Error
		if class(err) != want.class || (err != nil && (!errors.As(err, &fe) || fe.Transient != want.transient)) {
			t.Errorf("%s: %v, want class %q transient %v", path, err, want.class, want.transient)
		}
	}
	p, err := f.Get(ctx, srv.URL+"/big")
	if err != nil || len(p.Body) != 1024 || !p.Truncated {
		t.Errorf("size cap: %v, %d bytes, truncated %v", err, len(p.Body), p != nil && p.Truncated)
	}
	if _, err := f.Get(ctx, "ftp://x.example/"); class(err) != "fetch_bad_url" {
		t.Errorf("ftp: %v", err)
	}
}

func TestRobotsUnavailableIsTransientAndMissingAllowsAll(t *testing.T) {
	f := New(Options{Allow: loopback, UserAgent: "test", Timeout: time.Second, MaxBytes: 1024})
	down := site(t, "503", html("<p>hi</p>"))
	_, err := f.Get(context.Background(), down.URL+"/")
	var fe *Error
	if !errors.As(err, &fe) || !fe.Transient {
		t.Errorf("robots.txt 503: %v, want a transient error (RFC 9309: assume disallow meanwhile)", err)
	}
	none := site(t, "", html("<p>hi</p>"))
	if _, err := f.Get(context.Background(), none.URL+"/"); err != nil {
		t.Errorf("robots.txt 404 allows all: %v", err)
	}
}

func TestPerHostConcurrencyAndRobotsFetchedOnce(t *testing.T) {
	var inFlight, peak, robots atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robots.Add(1)
		_, _ = w.Write([]byte("User-agent: *\nDisallow:\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		html("<p>x</p>")(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := New(Options{Allow: loopback, UserAgent: "test", Timeout: 5 * time.Second, MaxBytes: 1024, PerHost: 3})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Get(context.Background(), srv.URL+"/page"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak concurrent requests to one host %d, want 3", peak.Load())
	}
	if robots.Load() != 1 {
		t.Errorf("robots.txt fetched %d times, want once", robots.Load())
	}
}

func TestCancelIsNotTheSitesFault(t *testing.T) {
	srv := site(t, "", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })
	f := New(Options{Allow: loopback, UserAgent: "test", Timeout: 5 * time.Second, MaxBytes: 1024})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := f.Get(ctx, srv.URL+"/")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want the caller's context error, got %v", err)
	}
}

// A robots.txt is written by anyone: a file of thousands of rules keeps
// the first maxRobotsRules, each pattern at most maxRobotsPattern bytes.
func TestRobotsRulesAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("User-agent: *\nDisallow: /" + strings.Repeat("x", maxRobotsPattern) + "\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "Disallow: /p%d/*.pdf$\n", i)
	}
	r := ParseRobots([]byte(b.String()), "test")
	if len(r.rules) != maxRobotsRules {
		t.Errorf("kept %d rules, want %d", len(r.rules), maxRobotsRules)
	}
	if r.Allowed("/p0/a.pdf") || r.Allowed("/p999/a.pdf") || !r.Allowed("/p1000/a.pdf") {
		t.Errorf("the first %d rules are not the ones kept", maxRobotsRules)
	}
	if r.size > maxRobotsRules*(ruleOverhead+regexpBytes+32) {
		t.Errorf("size %d", r.size)
	}
}

// The robots.txt cache holds at most robotsCacheBytes of rules, however
// many hosts serve the largest files.
func TestRobotsCacheIsBoundedInBytes(t *testing.T) {
	var big strings.Builder
	big.WriteString("User-agent: *\n")
	for i := range maxRobotsRules {
		fmt.Fprintf(&big, "Disallow: /p%d/*.pdf$\n", i)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			_, _ = w.Write([]byte(big.String()))
			return
		}
		html("<p>x</p>")(w, r)
	}))
	defer srv.Close()
	proxy, _ := url.Parse(srv.URL)
	f := New(Options{UserAgent: "test", Timeout: 5 * time.Second, MaxBytes: 1024, Proxy: http.ProxyURL(proxy)})
	hosts := 2 * robotsCacheBytes / (maxRobotsRules * (ruleOverhead + regexpBytes))
	for i := range hosts {
		if _, err := f.Get(context.Background(), fmt.Sprintf("http://h%d.test/", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.robotsBytes > robotsCacheBytes || len(f.robots) >= hosts {
		t.Errorf("after %d hosts the cache holds %d hosts, %d bytes; want at most %d bytes", hosts, len(f.robots), f.robotsBytes, robotsCacheBytes)
	}
}
