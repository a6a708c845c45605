package stacktest

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/ampledata/temporal-kit/stacks"
)

// LocalDev is the dev stack's Definition with the locally built image
// catalog: what `pulumi up --stack dev` runs, on images this machine has.
func LocalDev(t testing.TB, extraConfig ...map[string]string) stacks.Definition {
	t.Helper()
	return Definition(t, "dev", LocalConfig(extraConfig...))
}

// RequireDocker skips the test, loudly, only when no Docker engine answers;
// under CI (CI set) a missing engine fails the test instead, so CI can never
// go green on skipped integration tests.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err == nil {
		defer p.Close()
		err = p.Health(ctx)
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("Docker engine not reachable under CI: %v", err)
	}
	t.Skipf("DOCKER NOT AVAILABLE: skipping %s (%v). Start dockerd to run it.", t.Name(), err)
}

// Start starts def for a test, closes it in t.Cleanup, and prints every
// container's last log lines when the test failed.
func Start(t testing.TB, def stacks.Definition, opts ...Option) *Stack {
	t.Helper()
	RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	s, err := StartStack(ctx, def, opts...)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Logf("stack %s up in %s", s.runID, time.Since(began).Round(100*time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			s.dumpLogs(ctx, t, 60)
		}
		if err := s.Close(ctx); err != nil {
			t.Logf("stack cleanup: %v", err)
		}
	})
	return s
}

func (s *Stack) dumpLogs(ctx context.Context, t testing.TB, lines int) {
	names := s.Services()
	sort.Strings(names)
	for _, n := range names {
		ls := strings.Split(strings.TrimRight(s.Logs(ctx, n), "\n"), "\n")
		if len(ls) > lines {
			ls = ls[len(ls)-lines:]
		}
		t.Logf("--- %s: last %d log lines ---\n%s", n, len(ls), strings.Join(ls, "\n"))
	}
}
