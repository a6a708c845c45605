package dockerstats_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/ampledata/temporal-kit/stacks/dockerstats"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// The offline Debian base (go run ./infra/images/cmd/kit-images build debian).
const image = "temporal-kit-local/debian:bookworm"

func TestSampleAndExecOnAContainer(t *testing.T) {
	stacktest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := dockerstats.New()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	name := fmt.Sprintf("kit-dockerstats-test-%d", time.Now().UnixNano())
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{Image: image, Name: name, Cmd: []string{"sleep", "600"}},
		Started:          true,
	})
	if c != nil {
		t.Cleanup(func() { _ = c.Terminate(context.Background(), testcontainers.StopTimeout(0)) }) // sleep as pid 1 ignores SIGTERM
	}
	if err != nil {
		t.Fatalf("start %s (build it with: go run ./infra/images/cmd/kit-images build debian): %v", image, err)
	}

	before, err := d.Sample(ctx, name) // by name, as for a stack started by Pulumi
	if err != nil {
		t.Fatal(err)
	}
	if !before.Running || before.Memory == 0 {
		t.Errorf("sample of a running container: %+v", before)
	}
	// Burn some CPU inside the container's cgroup.
	if _, err := d.Exec(ctx, name, "sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"); err != nil {
		t.Fatal(err)
	}
	after, err := d.Sample(ctx, c.GetContainerID()) // by ID, as for a testcontainers stack
	if err != nil {
		t.Fatal(err)
	}
	if used := after.CPU - before.CPU; used < 20*time.Millisecond {
		t.Errorf("CPU time grew by %s after a busy loop in the container, want at least 20ms (before %s, after %s)", used, before.CPU, after.CPU)
	}

	// Standard output comes back byte for byte (a profile is gzip), apart
	// from standard error.
	out, err := d.Exec(ctx, name, "sh", "-c", `printf 'a\000b\377'; echo noise >&2`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{'a', 0, 'b', 0xff}; !bytes.Equal(out, want) {
		t.Errorf("Exec output = %q, want %q", out, want)
	}
	_, err = d.Exec(ctx, name, "sh", "-c", "echo why >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "exited 3") || !strings.Contains(err.Error(), "why") {
		t.Errorf("Exec of a failing command: err = %v, want the exit code and its standard error", err)
	}
	if _, err := d.Sample(ctx, name+"-missing"); err == nil {
		t.Error("Sample of a missing container: no error")
	}
}
