package stacktest

import (
	"fmt"
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

// request renders one Service as a testcontainers request. Every container
// port is published on 127.0.0.1 with an ephemeral host port, so tests can
// reach even the ports the Definition keeps on the Docker network; with
// PublishAsDefined the Definition's published ports go on their HostIP
// instead (the host port stays ephemeral).
func (s *Stack) request(svc stacks.Service, name string) (testcontainers.GenericContainerRequest, error) {
	env, err := stacks.ResolveEnvMap(svc, s.secrets)
	if err != nil {
		return testcontainers.GenericContainerRequest{}, err
	}

	var exposed []string
	bindings := network.PortMap{}
	loopback := netip.MustParseAddr("127.0.0.1")
	for _, p := range svc.Ports {
		hostIP := loopback
		if s.asDefined && p.Host != 0 {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return testcontainers.GenericContainerRequest{}, fmt.Errorf("service %s: port %s: host IP %q: %w", svc.Name, p.Name, p.HostIP, err)
			}
			hostIP = ip
		}
		spec := strconv.Itoa(p.Container) + "/tcp"
		exposed = append(exposed, spec)
		bindings[network.MustParsePort(spec)] = []network.PortBinding{{HostIP: hostIP, HostPort: "0"}}
	}
	if len(exposed) == 0 && s.asDefined {
		// testcontainers publishes every port the image EXPOSEs, on every
		// interface, when a request exposes none: a placeholder on the
		// loopback keeps the host's interfaces as the Definition has them.
		spec := strconv.Itoa(placeholderPort) + "/tcp"
		exposed = append(exposed, spec)
		bindings[network.MustParsePort(spec)] = []network.PortBinding{{HostIP: loopback, HostPort: "0"}}
	}

	var files []testcontainers.ContainerFile
	for _, f := range svc.Files {
		content := f.Content
		if f.Secret != "" {
			v, ok := s.secrets[f.Secret]
			if !ok {
				return testcontainers.GenericContainerRequest{}, fmt.Errorf("service %s: file %s uses unknown secret %q", svc.Name, f.Path, f.Secret)
			}
			content = v
		}
		files = append(files, testcontainers.ContainerFile{
			Reader:            strings.NewReader(content),
			ContainerFilePath: f.Path,
			FileMode:          f.Mode,
		})
	}

	var mounts testcontainers.ContainerMounts
	var binds []mount.Mount
	tmpfs := map[string]string{}
	for _, m := range svc.Mounts {
		v, ok := s.Def.Volume(m.Volume)
		if !ok {
			return testcontainers.GenericContainerRequest{}, fmt.Errorf("service %s: unknown volume %q", svc.Name, m.Volume)
		}
		if t, ok := s.tmpfs[m.Volume]; ok {
			// A small file system that fills up (WithTmpfsVolume). The
			// legacy tmpfs option, since only it passes uid= to the mount:
			// the engine keeps the image's mode on the mount point.
			tmpfs[m.Target] = fmt.Sprintf("size=%dm,uid=%d,gid=%d", t.sizeMB, t.uid, t.uid)
			continue
		}
		if v.HostPath != "" {
			// A host directory (prod: the Hetzner volume), bound as Pulumi binds it.
			binds = append(binds, mount.Mount{Type: mount.TypeBind, Source: v.HostPath, Target: m.Target, ReadOnly: m.ReadOnly})
			continue
		}
		mounts = append(mounts, testcontainers.ContainerMount{
			Source:   testcontainers.GenericVolumeMountSource{Name: s.volumeName(m.Volume)},
			Target:   testcontainers.ContainerMountTarget(m.Target),
			ReadOnly: m.ReadOnly,
		})
	}

	var networks []string
	aliases := map[string][]string{}
	for _, a := range svc.Networks {
		n, ok := s.networks[a.Network]
		if !ok {
			return testcontainers.GenericContainerRequest{}, fmt.Errorf("service %s: unknown network %q", svc.Name, a.Network)
		}
		networks = append(networks, n)
		aliases[n] = a.Aliases
	}

	labels := map[string]string{"temporal-kit.test-run": s.runID}
	for k, v := range svc.Labels {
		labels[k] = v
	}

	var strategy wait.Strategy
	switch svc.Kind {
	case stacks.OneShot:
		strategy = wait.ForExit().WithExitTimeout(jobTimeout)
	default:
		if svc.Health == nil {
			return testcontainers.GenericContainerRequest{}, fmt.Errorf("service %s has no health check", svc.Name)
		}
		strategy = wait.ForHealthCheck().WithStartupTimeout(healthTimeout).WithPollInterval(250 * time.Millisecond)
	}

	req := testcontainers.ContainerRequest{
		Name:           name,
		Image:          svc.Image,
		Entrypoint:     svc.Entrypoint,
		Cmd:            svc.Command,
		Env:            env,
		ExposedPorts:   exposed,
		Files:          files,
		Mounts:         mounts,
		Networks:       networks,
		NetworkAliases: aliases,
		Labels:         labels,
		WaitingFor:     strategy,
		ConfigModifier: func(c *container.Config) {
			c.User = svc.User
			c.WorkingDir = svc.WorkingDir
			c.StopSignal = svc.StopSignal
			if svc.StopTimeout > 0 {
				secs := int(svc.StopTimeout / time.Second)
				c.StopTimeout = &secs
			}
			if h := svc.Health; h != nil {
				c.Healthcheck = &container.HealthConfig{
					Test:        []string{"CMD-SHELL", h.Test},
					Interval:    h.Interval,
					Timeout:     h.Timeout,
					StartPeriod: h.StartPeriod,
					Retries:     h.Retries,
				}
				// Tests poll faster than production so a stack is seen healthy sooner;
				// the command, timeout and retries stay those of the Definition.
				if c.Healthcheck.Interval > time.Second {
					c.Healthcheck.Interval = time.Second
				}
			}
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = bindings
			hc.Mounts = append(hc.Mounts, binds...)
			if len(tmpfs) > 0 {
				hc.Tmpfs = tmpfs
			}
			if svc.MemoryMB > 0 {
				hc.Resources.Memory = int64(svc.MemoryMB) << 20
				hc.Resources.MemorySwap = hc.Resources.Memory // no swap, as Pulumi renders it
			}
			hc.LogConfig = container.LogConfig{Type: svc.Logging.Driver, Config: map[string]string{
				"max-size": svc.Logging.MaxSize,
				"max-file": strconv.Itoa(svc.Logging.MaxFile),
			}}
			if svc.Logging.Driver == "" {
				hc.LogConfig = container.LogConfig{}
			}
			if svc.Restart != "" && svc.Restart != "no" {
				hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(svc.Restart)}
			}
			// Privileges as Pulumi renders them (stacks: security.go).
			hc.CapDrop = svc.CapDrop
			hc.CapAdd = svc.CapAdd
			hc.SecurityOpt = svc.SecurityOpts()
		},
	}
	return testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true}, nil
}
