package stacktest

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ampledata/temporal-kit/stacks"
)

// Wait budgets: a cold Temporal server on 2 cores needs well over a minute
// while it creates its shards; a schema job applies ~20 migrations.
const (
	healthTimeout = 4 * time.Minute
	jobTimeout    = 5 * time.Minute
)

// placeholderPort is the container port (discard) a service without ports
// exposes under PublishAsDefined; nothing listens there.
const placeholderPort = 9

// rendering is one service on its way to a testcontainers request. Its
// steps have the names and the order of infra/render's, so the two
// renderers read side by side.
type rendering struct {
	s   *Stack
	svc stacks.Service
	req testcontainers.ContainerRequest
}

// request renders one Service as a testcontainers request named name.
func (s *Stack) request(svc stacks.Service, name string) (testcontainers.GenericContainerRequest, error) {
	c := &rendering{s: s, svc: svc, req: testcontainers.ContainerRequest{Name: name}}
	for _, step := range []func() error{
		c.dependencies, c.process, c.env, c.labels, c.ports, c.files, c.mounts, c.networks,
		c.healthCheck, c.wait, c.logs, c.memory, c.restart, c.stop, c.security,
	} {
		if err := step(); err != nil {
			return testcontainers.GenericContainerRequest{}, err
		}
	}
	return testcontainers.GenericContainerRequest{ContainerRequest: c.req, Started: true}, nil
}

// errorf is an error about the service being rendered, naming it.
func (c *rendering) errorf(format string, a ...any) error {
	return fmt.Errorf("service %s: "+format, append([]any{c.svc.Name}, a...)...)
}

// config and hostConfig add a change to the container's config, after
// those of earlier steps.
func (c *rendering) config(f func(*container.Config)) {
	c.req.ConfigModifier = then(c.req.ConfigModifier, f)
}

func (c *rendering) hostConfig(f func(*container.HostConfig)) {
	c.req.HostConfigModifier = then(c.req.HostConfigModifier, f)
}

// then is prev, if any, followed by f.
func then[T any](prev, f func(*T)) func(*T) {
	if prev == nil {
		return f
	}
	return func(v *T) {
		prev(v)
		f(v)
	}
}

// dependencies: startAll starts a service once its dependencies are up,
// which is what the Definition asks only if these waits are ones a
// renderer can offer; each must be running here (started before).
func (c *rendering) dependencies() error {
	if err := c.s.Def.CheckWaits(c.svc); err != nil {
		return c.errorf("%w", err)
	}
	for _, dep := range c.svc.DependsOn {
		if c.s.Container(dep.Service) == nil {
			return c.errorf("%s has not started", dep.Service)
		}
	}
	return nil
}

func (c *rendering) process() error {
	c.req.Image = c.svc.Image
	c.req.Entrypoint = c.svc.Entrypoint
	c.req.Cmd = c.svc.Command
	c.config(func(cfg *container.Config) {
		cfg.User = c.svc.User
		cfg.WorkingDir = c.svc.WorkingDir
	})
	return nil
}

func (c *rendering) env() error {
	env, err := stacks.ResolveEnvMap(c.svc, c.s.secrets)
	c.req.Env = env
	return err
}

// labels: the Definition's, the run's (Close finds its containers by it)
// and, per job the service follows, that job's container ID. Recreating a
// follower when its job runs again is the test's to do (RunJob, then
// Replace), as it is a redeploy's.
func (c *rendering) labels() error {
	c.req.Labels = maps.Clone(c.svc.Labels)
	if c.req.Labels == nil {
		c.req.Labels = map[string]string{}
	}
	c.req.Labels[stacks.LabelTestRun] = c.s.runID
	for _, job := range c.svc.Follows() {
		c.req.Labels[stacks.FollowsLabel(job)] = c.s.Container(job).GetContainerID()
	}
	return nil
}

// ports: every container port is published on 127.0.0.1 with an ephemeral
// host port, so tests can reach even the ports the Definition keeps on the
// Docker network; with PublishAsDefined the Definition's published ports
// go on their HostIP instead (the host port stays ephemeral).
func (c *rendering) ports() error {
	bindings := network.PortMap{}
	loopback := netip.MustParseAddr("127.0.0.1")
	bind := func(port int, ip netip.Addr) {
		spec := strconv.Itoa(port) + "/tcp"
		c.req.ExposedPorts = append(c.req.ExposedPorts, spec)
		bindings[network.MustParsePort(spec)] = []network.PortBinding{{HostIP: ip, HostPort: "0"}}
	}
	for _, p := range c.svc.Ports {
		hostIP := loopback
		if c.s.asDefined && p.Host != 0 {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return c.errorf("port %s: host IP %q: %w", p.Name, p.HostIP, err)
			}
			hostIP = ip
		}
		bind(p.Container, hostIP)
	}
	if len(c.req.ExposedPorts) == 0 && c.s.asDefined {
		// testcontainers publishes every port the image EXPOSEs, on every
		// interface, when a request exposes none: a placeholder on the
		// loopback keeps the host's interfaces as the Definition has them.
		bind(placeholderPort, loopback)
	}
	c.hostConfig(func(hc *container.HostConfig) { hc.PortBindings = bindings })
	return nil
}

func (c *rendering) files() error {
	for _, f := range c.svc.Files {
		content := f.Content
		if f.Secret != "" {
			v, ok := c.s.secrets[f.Secret]
			if !ok {
				return c.errorf("file %s uses unknown secret %q", f.Path, f.Secret)
			}
			content = v
		}
		c.req.Files = append(c.req.Files, testcontainers.ContainerFile{
			Reader:            strings.NewReader(content),
			ContainerFilePath: f.Path,
			FileMode:          f.Mode,
		})
	}
	return nil
}

// mounts: a named volume per run, a host directory bound as Pulumi binds it
// (prod: the Hetzner volume), or a small tmpfs that fills up
// (WithTmpfsVolume).
func (c *rendering) mounts() error {
	var binds []mount.Mount
	tmpfs := map[string]string{}
	for _, m := range c.svc.Mounts {
		v, ok := c.s.Def.Volume(m.Volume)
		switch t, small := c.s.tmpfs[m.Volume]; {
		case !ok:
			return c.errorf("unknown volume %q", m.Volume)
		case small:
			// The legacy tmpfs option, since only it passes uid= to the
			// mount: the engine keeps the image's mode on the mount point.
			tmpfs[m.Target] = fmt.Sprintf("size=%dm,uid=%d,gid=%d", t.sizeMB, t.uid, t.uid)
		case v.HostPath != "":
			binds = append(binds, mount.Mount{Type: mount.TypeBind, Source: v.HostPath, Target: m.Target, ReadOnly: m.ReadOnly})
		default:
			c.req.Mounts = append(c.req.Mounts, testcontainers.ContainerMount{
				Source:   testcontainers.GenericVolumeMountSource{Name: c.s.names().Volume(m.Volume)},
				Target:   testcontainers.ContainerMountTarget(m.Target),
				ReadOnly: m.ReadOnly,
			})
		}
	}
	c.hostConfig(func(hc *container.HostConfig) {
		hc.Mounts = append(hc.Mounts, binds...)
		if len(tmpfs) > 0 {
			hc.Tmpfs = tmpfs
		}
	})
	return nil
}

func (c *rendering) networks() error {
	c.req.NetworkAliases = map[string][]string{}
	for _, a := range c.svc.Networks {
		n, ok := c.s.networks[a.Network]
		if !ok {
			return c.errorf("unknown network %q", a.Network)
		}
		c.req.Networks = append(c.req.Networks, n)
		c.req.NetworkAliases[n] = a.Aliases
	}
	return nil
}

// healthCheck: tests poll faster than production so a stack is seen
// healthy sooner; the command, timeout and retries stay the Definition's.
func (c *rendering) healthCheck() error {
	h := c.svc.Health
	if h == nil {
		return nil
	}
	c.config(func(cfg *container.Config) {
		cfg.Healthcheck = &container.HealthConfig{
			Test:        []string{"CMD-SHELL", h.Test},
			Interval:    min(h.Interval, time.Second),
			Timeout:     h.Timeout,
			StartPeriod: h.StartPeriod,
			Retries:     h.Retries,
		}
	})
	return nil
}

// wait: a job is up once it exited (startService checks the code), a
// service once its health check passes.
func (c *rendering) wait() error {
	if c.svc.Kind == stacks.OneShot {
		c.req.WaitingFor = wait.ForExit().WithExitTimeout(jobTimeout)
		return nil
	}
	c.req.WaitingFor = wait.ForHealthCheck().WithStartupTimeout(healthTimeout).WithPollInterval(250 * time.Millisecond)
	return nil
}

func (c *rendering) logs() error {
	l := c.svc.Logging
	c.hostConfig(func(hc *container.HostConfig) {
		hc.LogConfig = container.LogConfig{} // the engine's default driver
		if l.Driver != "" {
			hc.LogConfig = container.LogConfig{Type: l.Driver, Config: map[string]string{
				"max-size": l.MaxSize,
				"max-file": strconv.Itoa(l.MaxFile),
			}}
		}
	})
	return nil
}

// memory: no swap, as Pulumi renders it.
func (c *rendering) memory() error {
	if c.svc.MemoryMB <= 0 {
		return nil
	}
	c.hostConfig(func(hc *container.HostConfig) {
		hc.Resources.Memory = int64(c.svc.MemoryMB) << 20
		hc.Resources.MemorySwap = hc.Resources.Memory
	})
	return nil
}

func (c *rendering) restart() error {
	if r := c.svc.Restart; r != "" && r != "no" {
		c.hostConfig(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(r)}
		})
	}
	return nil
}

func (c *rendering) stop() error {
	c.config(func(cfg *container.Config) {
		cfg.StopSignal = c.svc.StopSignal
		if c.svc.StopTimeout > 0 {
			secs := int(c.svc.StopTimeout / time.Second)
			cfg.StopTimeout = &secs
		}
	})
	return nil
}

// security: privileges as Pulumi renders them (stacks: security.go).
func (c *rendering) security() error {
	c.hostConfig(func(hc *container.HostConfig) {
		hc.CapDrop = c.svc.CapDrop
		hc.CapAdd = c.svc.CapAdd
		hc.SecurityOpt = c.svc.SecurityOpts()
	})
	return nil
}
