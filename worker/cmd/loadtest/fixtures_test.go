package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/worker/harness"
)

// TestMain plays the fixture child when startFixtures runs the test binary
// itself with -serve-fixtures (the real binary's main does the same).
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "-serve-fixtures" && os.Args[2] == "-latency" {
		d, err := time.ParseDuration(os.Args[3])
		if err == nil {
			err = serveFixtures(d)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestFixtureChild(t *testing.T) {
	f, err := startFixtures(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !strings.HasPrefix(f.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want a loopback URL", f.URL)
	}
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, f.URL+"/search", strings.NewReader(`{"q":"Company 00001"}`))
		req.Header.Set("X-API-KEY", harness.FixtureKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("search: %s", res.Status)
		}
	}
	proxy, _ := url.Parse(f.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	res, err := c.Get("http://company-00001.example/robots.txt")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	searches, pages, err := f.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if searches != 3 || pages != 1 {
		t.Errorf("Counts = %d searches, %d pages; want 3, 1", searches, pages)
	}
	if s, p, err := f.Counts(); err != nil || s != searches || p != pages {
		t.Errorf("second Counts = %d, %d, %v; want the same figures", s, p, err)
	}
	if f.cmd.ProcessState == nil || !f.cmd.ProcessState.Success() {
		t.Errorf("child did not exit cleanly: %v", f.cmd.ProcessState)
	}
}
