package fetch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// internal is a service the worker must never reach (Prometheus, the
// metadata service, its own API): it counts the requests it gets.
func internal(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		html("<title>internal secrets</title>")(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// withNames makes the fetcher's dials of host:80 go to the test servers:
// "public.test" stands for a public web site (dialed without the guard, as
// a real public address would pass it), every other host is dialed through
// the guard as the name "localhost" on the internal server's port: a name
// that DNS resolves to a loopback address.
func withNames(f *Fetcher, public, internal *httptest.Server) {
	tr := f.client.Transport.(*http.Transport)
	_, internalPort, _ := net.SplitHostPort(internal.Listener.Addr().String())
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if host == "public.test" && public != nil {
			return (&net.Dialer{}).DialContext(ctx, network, public.Listener.Addr().String())
		}
		return f.guardedDial(ctx, network, net.JoinHostPort("localhost", internalPort))
	}
}

// TestDialRefusesANameThatResolvesToAPrivateAddress: "localhost" is a DNS
// name, not a literal, so only the dial-time check sees that it leads to
// 127.0.0.1 (the same path a rebinding DNS answer takes).
func TestDialRefusesANameThatResolvesToAPrivateAddress(t *testing.T) {
	srv, hits := internal(t)
	f := New(Options{UserAgent: "test", Timeout: 2 * time.Second, MaxBytes: 1024})
	withNames(f, nil, srv)
	_, err := f.Get(context.Background(), "http://localhost/")
	if class(err) != ClassBlocked {
		t.Errorf("http://localhost/: %v, want class %s", err, ClassBlocked)
	}
	if hits.Load() != 0 {
		t.Errorf("the internal server got %d requests", hits.Load())
	}

	// The same request with loopback allow-listed reaches it: the refusal
	// above is the guard's, not a broken test setup.
	open := New(Options{UserAgent: "test", Timeout: 2 * time.Second, MaxBytes: 1024, Allow: loopback})
	withNames(open, nil, srv)
	if _, err := open.Get(context.Background(), "http://localhost/"); err != nil || hits.Load() == 0 {
		t.Fatalf("allow-listed: %v, %d requests", err, hits.Load())
	}
}

func TestRedirectsToInternalAddressesAreRefused(t *testing.T) {
	srv, hits := internal(t)
	targets := map[string]string{
		"/to-literal":   srv.URL + "/",                                  // http://127.0.0.1:<port>/
		"/to-metadata":  "http://169.254.169.254/latest/meta-data/",     // cloud metadata service
		"/to-mapped":    "http://[::ffff:127.0.0.1]/",                   // IPv4-mapped loopback
		"/to-port":      "http://public.test:9090/api/v1/status/config", // Prometheus' port
		"/to-name":      "http://internal.test/",                        // a name that resolves to loopback
		"/to-localhost": "http://localhost/",                            // ditto, via the system resolver
		"/to-file":      "file:///etc/passwd",
	}
	public := site(t, "", func(w http.ResponseWriter, r *http.Request) {
		if to, ok := targets[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		html("<title>public</title>")(w, r)
	})
	f := New(Options{UserAgent: "test", Timeout: 2 * time.Second, MaxBytes: 1024})
	withNames(f, public, srv)
	if _, err := f.Get(context.Background(), "http://public.test/"); err != nil {
		t.Fatalf("the public site itself: %v", err)
	}
	for path, to := range targets {
		_, err := f.Get(context.Background(), "http://public.test"+path)
		if class(err) != ClassBlocked {
			t.Errorf("redirect to %s: %v, want class %s", to, err, ClassBlocked)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the internal server got %d requests through redirects", hits.Load())
	}
}

func TestPageURLsAreCheckedBeforeAnyRequest(t *testing.T) {
	srv, hits := internal(t)
	f := New(Options{UserAgent: "test", Timeout: 2 * time.Second, MaxBytes: 1024})
	for _, u := range []string{srv.URL + "/", "http://169.254.169.254/latest/user-data", "http://[::1]/", "http://acme.test:8000/"} {
		if _, err := f.Get(context.Background(), u); class(err) != ClassBlocked {
			t.Errorf("%s: %v, want class %s", u, err, ClassBlocked)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the internal server got %d requests", hits.Load())
	}
}

// TestTheConfiguredProxyIsDialed: the operator's proxy may live on a
// private address (the test fixtures do); the URLs sent through it are
// still checked.
func TestTheConfiguredProxyIsDialed(t *testing.T) {
	proxy, hits := internal(t)
	pu, _ := url.Parse(proxy.URL)
	f := New(Options{UserAgent: "test", Timeout: 2 * time.Second, MaxBytes: 1024, Proxy: http.ProxyURL(pu)})
	if _, err := f.Get(context.Background(), "http://acme.example/"); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	seen := hits.Load()
	for _, u := range []string{"http://127.0.0.1/", "http://acme.example:8080/", "http://[fd00::1]/"} {
		if _, err := f.Get(context.Background(), u); class(err) != ClassBlocked {
			t.Errorf("%s through the proxy: %v, want class %s", u, err, ClassBlocked)
		}
	}
	if hits.Load() != seen {
		t.Errorf("the proxy got %d requests for refused URLs", hits.Load()-seen)
	}
}
