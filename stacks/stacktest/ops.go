package stacktest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
)

// checkImages fails early, with the fix, when an image is not in the local
// engine: nothing can be pulled on an offline machine, so a missing image
// would otherwise surface as a confusing pull timeout.
func checkImages(ctx context.Context, def stacks.Definition, names []string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	defer cli.Close()
	var missing []string
	seen := map[string]bool{}
	for _, n := range names {
		svc, _ := def.Service(n)
		if seen[svc.Image] {
			continue
		}
		seen[svc.Image] = true
		if _, err := cli.ImageInspect(ctx, svc.Image); err != nil {
			missing = append(missing, svc.Image)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images not present in the local Docker engine: %v; build them with `go run ./infra/images/cmd/kit-images build`", missing)
	}
	return nil
}

// Kill sends SIGKILL to a service's container, like a crash or an OOM kill.
func (s *Stack) Kill(ctx context.Context, service string) error {
	return s.withClient(ctx, func(cli *testcontainers.DockerClient) error {
		_, err := cli.ContainerKill(ctx, s.Container(service).GetContainerID(), client.ContainerKillOptions{Signal: "SIGKILL"})
		return err
	})
}

// Stop stops a service gracefully (its StopSignal, then SIGKILL after its StopTimeout).
func (s *Stack) Stop(ctx context.Context, service string) error {
	svc, _ := s.Def.Service(service)
	timeout := svc.StopTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	return s.Container(service).Stop(ctx, &timeout)
}

// Start starts a stopped or killed service again and waits until it is healthy.
func (s *Stack) Start(ctx context.Context, service string) error {
	if err := s.Container(service).Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w%s", service, err, tail(ctx, s.Container(service), 40))
	}
	return nil
}

// Replace does what a redeploy does: stop the old container gracefully,
// remove it, and start a new one from the same Definition.
func (s *Stack) Replace(ctx context.Context, service string) error {
	svc, ok := s.Def.Service(service)
	if !ok {
		return fmt.Errorf("unknown service %q", service)
	}
	old := s.Container(service)
	if err := s.Stop(ctx, service); err != nil {
		return fmt.Errorf("stop old %s: %w", service, err)
	}
	if err := old.Terminate(ctx); err != nil {
		return fmt.Errorf("remove old %s: %w", service, err)
	}
	_, err := s.startService(ctx, svc, s.containerName(service))
	return err
}

// RunJob runs a one-shot service again in a fresh container, as a redeploy
// would, and returns its output; an exit code other than 0 is an error.
func (s *Stack) RunJob(ctx context.Context, service string) (string, error) {
	svc, ok := s.Def.Service(service)
	if !ok || svc.Kind != stacks.OneShot {
		return "", fmt.Errorf("%q is not a job of this stack", service)
	}
	s.mu.Lock()
	s.reruns++
	name := s.containerName(service) + "-rerun-" + strconv.Itoa(s.reruns)
	s.mu.Unlock()
	c, err := s.startService(ctx, svc, name)
	out := ""
	if c != nil {
		out = readLogs(ctx, c)
		defer c.Terminate(context.Background())
	}
	return out, err
}

// Exec runs a command in a service's container and returns exit code and output.
func (s *Stack) Exec(ctx context.Context, service string, cmd ...string) (int, string, error) {
	code, r, err := s.Container(service).Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return code, "", err
	}
	out, err := io.ReadAll(r)
	return code, string(out), err
}

// MemoryMB is a container's memory use as `docker stats` shows it (usage
// minus reclaimable page cache).
func (s *Stack) MemoryMB(ctx context.Context, service string) (float64, error) {
	var mb float64
	err := s.withClient(ctx, func(cli *testcontainers.DockerClient) error {
		res, err := cli.ContainerStats(ctx, s.Container(service).GetContainerID(), client.ContainerStatsOptions{Stream: false})
		if err != nil {
			return err
		}
		defer res.Body.Close()
		st, err := dockerengine.DecodeStats(res.Body)
		if err != nil {
			return err
		}
		mb = float64(st.WorkingSet()) / (1 << 20)
		return nil
	})
	return mb, err
}

// Services lists the services running in this stack.
func (s *Stack) Services() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.containers))
	for _, n := range s.Def.Services {
		if _, ok := s.containers[n.Name]; ok {
			out = append(out, n.Name)
		}
	}
	return out
}

func (s *Stack) withClient(ctx context.Context, f func(*testcontainers.DockerClient) error) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return f(cli)
}

// Crash kills a service's main process from the host with SIGKILL, as an OOM
// kill or a segfault would. Unlike `docker kill` (which Docker records as a
// manual stop), Docker sees an unexpected exit and applies the service's
// restart policy, which is what this fault is meant to exercise. It needs the
// test to run on the Docker host with the right to signal its processes.
func (s *Stack) Crash(ctx context.Context, service string) error {
	c := s.Container(service)
	if c == nil {
		return fmt.Errorf("crash %s: not running in this stack", service)
	}
	info, err := c.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("crash %s: %w", service, err)
	}
	if info.State == nil || !info.State.Running || info.State.Pid == 0 {
		return fmt.Errorf("crash %s: container is not running", service)
	}
	pid := info.State.Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("crash %s: SIGKILL to host pid %d: %w (the test must run as root on the Docker host)", service, pid, err)
	}
	// Return once Docker has seen the exit, so that a WaitHealthy that
	// follows waits for the restarted process, not the dead one.
	for {
		info, err := c.Inspect(ctx)
		if err == nil && info.State != nil && (info.State.Pid != pid || !info.State.Running) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("crash %s: Docker did not see pid %d exit: %w", service, pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitHealthy waits until a service's container runs again and, if it has a
// health check, reports healthy; it returns how long that took.
func (s *Stack) WaitHealthy(ctx context.Context, service string) (time.Duration, error) {
	began := time.Now()
	c := s.Container(service)
	if c == nil {
		return 0, fmt.Errorf("%s is not running in this stack", service)
	}
	last := "no state yet"
	for {
		info, err := c.Inspect(ctx)
		if err == nil && info.State != nil {
			st := info.State
			last = fmt.Sprintf("status=%s restarting=%v exit=%d", st.Status, st.Restarting, st.ExitCode)
			if st.Running && !st.Restarting && (st.Health == nil || st.Health.Status == "healthy") {
				return time.Since(began), nil
			}
			if st.Health != nil {
				last += " health=" + string(st.Health.Status)
			}
		}
		select {
		case <-ctx.Done():
			return time.Since(began), fmt.Errorf("%s not healthy after %s (%s)%s", service, time.Since(began).Round(time.Second), last, tail(context.Background(), c, 40))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// StartMore starts the named services of the Definition and whatever they
// depend on that this stack has not started yet, in dependency order: the
// rest of a stack started with Only, say after a restore into its database.
func (s *Stack) StartMore(ctx context.Context, services ...string) error {
	names, err := s.Def.Closure(services...)
	if err != nil {
		return err
	}
	var todo []string
	for _, n := range names {
		if s.Container(n) == nil {
			todo = append(todo, n)
		}
	}
	if err := checkImages(ctx, s.Def, todo); err != nil {
		return err
	}
	return s.startAll(ctx, todo)
}

// Freeze stops a service's main process from the host with SIGSTOP: a
// hang. The container stays running with its port open (the kernel still
// accepts connections), so only a check that needs an answer sees it.
// Docker does nothing about it; the stack's docker-gate must. It returns
// the frozen process' host pid. Like Crash, it needs the test to run as
// root on the Docker host.
func (s *Stack) Freeze(ctx context.Context, service string) (int, error) {
	c := s.Container(service)
	if c == nil {
		return 0, fmt.Errorf("freeze %s: not running in this stack", service)
	}
	info, err := c.Inspect(ctx)
	if err != nil {
		return 0, fmt.Errorf("freeze %s: %w", service, err)
	}
	if info.State == nil || !info.State.Running || info.State.Pid == 0 {
		return 0, fmt.Errorf("freeze %s: container is not running", service)
	}
	if err := syscall.Kill(info.State.Pid, syscall.SIGSTOP); err != nil {
		return 0, fmt.Errorf("freeze %s: SIGSTOP to host pid %d: %w (the test must run as root on the Docker host)", service, info.State.Pid, err)
	}
	return info.State.Pid, nil
}

// WaitHealthStatus waits until a service's Docker health status is status
// ("unhealthy", "starting", "healthy") and returns when it saw it.
func (s *Stack) WaitHealthStatus(ctx context.Context, service, status string) (time.Time, error) {
	c := s.Container(service)
	if c == nil {
		return time.Time{}, fmt.Errorf("%s is not running in this stack", service)
	}
	last := "no state yet"
	for {
		info, err := c.Inspect(ctx)
		if err == nil && info.State != nil && info.State.Health != nil {
			last = string(info.State.Health.Status)
			if last == status {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s not %s (last: %s): %w", service, status, last, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// WaitNewProcess waits until a service's container runs another main
// process than pid: it was restarted.
func (s *Stack) WaitNewProcess(ctx context.Context, service string, pid int) (time.Time, error) {
	c := s.Container(service)
	if c == nil {
		return time.Time{}, fmt.Errorf("%s is not running in this stack", service)
	}
	for {
		info, err := c.Inspect(ctx)
		if err == nil && info.State != nil && info.State.Running && info.State.Pid != 0 && info.State.Pid != pid {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s still runs pid %d: %w", service, pid, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
