package service

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/worker/config"
)

// The job API server bounds every phase of a request, and gives a whole
// upload the time the largest job file takes on a slow link.
func TestAPIServerBoundsRequests(t *testing.T) {
	for _, c := range []struct {
		maxBytes int64
		read     time.Duration
	}{
		{64 << 20, 256 * time.Second},
		{1 << 20, time.Minute},
		{1 << 30, 4096 * time.Second},
	} {
		srv := APIServer(config.Config{APIAddr: ":8000", JobMaxBytes: c.maxBytes}, http.NotFoundHandler())
		if srv.ReadTimeout != c.read || srv.ReadHeaderTimeout != 10*time.Second || srv.IdleTimeout != 2*time.Minute || srv.MaxHeaderBytes != 64<<10 {
			t.Errorf("JOB_MAX_BYTES %d: read %s, header %s, idle %s, header bytes %d", c.maxBytes, srv.ReadTimeout, srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
		}
	}
}

// A client that sends more header bytes than the limit is answered 431,
// not read on.
func TestAPIServerRefusesHugeHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := APIServer(config.Config{JobMaxBytes: 1 << 20}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB of headers: %d, want 431", resp.StatusCode)
	}
}
