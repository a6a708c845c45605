package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/harness"
)

// The fixture server (the simulated internet: SERP API and web sites) runs
// in a child process, this same binary with -serve-fixtures, so that this
// process's CPU time (getrusage) is the worker's alone.
var serveFixturesFlag = flag.Bool("serve-fixtures", false, "internal: serve the fixtures on loopback, print the URL, serve until standard input closes, then print the request counts")

// fixtureChild is the fixture server running in the child process.
type fixtureChild struct {
	URL             string
	cmd             *exec.Cmd
	stdin           io.WriteCloser
	out             *bufio.Reader
	done            bool
	searches, pages int64
}

// startFixtures starts the child with the given latency and waits for its URL.
func startFixtures(latency time.Duration) (*fixtureChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("fixture server: this program's path: %w", err)
	}
	cmd := exec.Command(self, "-serve-fixtures", "-latency", latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fixture server: start %s: %w", self, err)
	}
	f := &fixtureChild{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := f.out.ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "url ")
	if err != nil || !ok {
		f.Close()
		return nil, fmt.Errorf("fixture server: child answered %q instead of its URL (%v)", line, err)
	}
	f.URL = url
	return f, nil
}

// Counts stops the child and returns the SERP queries and page requests it
// served; later calls return the same figures.
func (f *fixtureChild) Counts() (searches, pages int64, err error) {
	if f.done {
		return f.searches, f.pages, nil
	}
	f.done = true
	_ = f.stdin.Close()
	line, rerr := f.out.ReadString('\n')
	werr := f.cmd.Wait()
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "searches %d pages %d", &f.searches, &f.pages); err != nil {
		return 0, 0, fmt.Errorf("fixture server: counts line %q: %v (read: %v, exit: %v)", line, err, rerr, werr)
	}
	return f.searches, f.pages, nil
}

// Close stops the child if Counts has not.
func (f *fixtureChild) Close() {
	if !f.done {
		f.done = true
		_ = f.stdin.Close()
		_ = f.cmd.Wait()
	}
}

// serveFixtures is the child's side: it serves until standard input closes.
func serveFixtures(latency time.Duration) error {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM) // the parent stops it by closing stdin
	h := fixture.New(latency, harness.FixtureKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("url http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or exits
	_ = srv.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Printf("searches %d pages %d\n", h.Searches.Load(), h.Pages.Load())
	return nil
}
