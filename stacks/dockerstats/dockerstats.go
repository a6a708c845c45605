// Package dockerstats reads a container's cumulative CPU time and memory
// from the Docker engine's stats API (through stacks/dockerengine), and runs
// a command in a container, both by container ID or name: the load tool
// accounts the containers of a stack it started (testcontainers) or of one
// started elsewhere (Pulumi, containers named like
// temporal-kit-dev-temporal) the same way. Exec goes through the moby
// client: it attaches to the exec's multiplexed stream, which moby's
// stdcopy reads.
package dockerstats

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// Sample is one reading of a container's counters.
type Sample struct {
	// CPU is the container's cumulative CPU time (user and system, every
	// process of its cgroup) since it started.
	CPU time.Duration
	// Memory is the memory use as `docker stats` shows it: usage minus the
	// reclaimable (inactive) page cache, in bytes.
	Memory uint64
	// Running is false for a stopped container (its counters are zero).
	Running bool
}

// FromStats reads a Sample from the engine's stats answer.
func FromStats(st dockerengine.Stats) Sample {
	return Sample{
		CPU:     st.CPU(),
		Memory:  st.WorkingSet(),
		Running: st.PidsStats.Current > 0 || st.CPUStats.CPUUsage.TotalUsage > 0,
	}
}

// Decode reads one stats answer (a non-streaming stats request's body).
func Decode(r io.Reader) (Sample, error) {
	st, err := dockerengine.DecodeStats(r)
	if err != nil {
		return Sample{}, err
	}
	return FromStats(st), nil
}

// Client talks to the Docker engine of the environment (DOCKER_HOST or the
// default socket).
type Client struct {
	engine *dockerengine.Engine
	cli    *client.Client // for Exec
}

// New connects to the engine; Close it when done.
func New() (*Client, error) {
	engine, err := dockerengine.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("docker engine: %w", err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker engine: %w", err)
	}
	return &Client{engine: engine, cli: cli}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.cli.Close() }

// Sample reads a container's counters now.
func (c *Client) Sample(ctx context.Context, container string) (Sample, error) {
	st, err := c.engine.Stats(ctx, container)
	if err != nil {
		return Sample{}, fmt.Errorf("stats of container %s: %w", container, err)
	}
	return FromStats(st), nil
}

// Exec runs cmd in the container (as `docker exec` does) and returns its
// standard output; a non-zero exit is an error that carries its standard
// error.
func (c *Client) Exec(ctx context.Context, container string, cmd ...string) ([]byte, error) {
	ex, err := c.cli.ExecCreate(ctx, container, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", container, err)
	}
	att, err := c.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", container, err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	copied := make(chan error, 1)
	go func() { _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); copied <- err }()
	select {
	case err = <-copied:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: output: %w", container, err)
	}
	in, err := c.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", container, err)
	}
	if in.ExitCode != 0 {
		return stdout.Bytes(), fmt.Errorf("%v in container %s exited %d: %s", cmd, container, in.ExitCode, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}
