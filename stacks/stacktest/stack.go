// Package stacktest renders a stacks.Definition with testcontainers-go: the
// very services Pulumi deploys, started on a private Docker network with
// health-check waits and start order, for integration, fault and load tests.
package stacktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/ampledata/temporal-kit/stacks"
)

// Stack is a running Definition (or the part of it that was asked for).
type Stack struct {
	Def stacks.Definition

	runID    string
	secrets  map[string]string
	networks map[string]string // Definition network -> Docker network name
	nets     []*testcontainers.DockerNetwork
	volumes  map[string]bool

	mu         sync.Mutex
	containers map[string]*testcontainers.DockerContainer
	started    map[string]time.Duration // time from stack start until healthy/complete
	reruns     int
	// asDefined publishes ports as the Definition does (PublishAsDefined).
	asDefined bool
	// tmpfs replaces volumes by size-limited tmpfs mounts (WithTmpfsVolume).
	tmpfs map[string]tmpfsVolume
}

type tmpfsVolume struct{ sizeMB, uid int }

type options struct {
	tmpfs     map[string]tmpfsVolume
	only      []string
	extra     []stacks.Service
	secrets   map[string]string
	asDefined bool
}

// Option adjusts StartStack.
type Option func(*options)

// Only starts the named services and what they depend on.
func Only(services ...string) Option {
	return func(o *options) { o.only = append(o.only, services...) }
}

// With adds test-only services (a fixture server, say) to the Definition
// before rendering; they are plain stacks.Service values like the rest.
func With(services ...stacks.Service) Option {
	return func(o *options) { o.extra = append(o.extra, services...) }
}

// PublishAsDefined publishes the ports the Definition publishes (Port.Host
// set) on the interface it names (Port.HostIP), though on an ephemeral host
// port so that stacks sharing an engine never collide; the other ports stay
// on the loopback, where tests reach them. So the host's non-loopback
// interfaces see what a deploy exposes, and tests of it use this. By
// default every container port is published on the loopback.
func PublishAsDefined() Option {
	return func(o *options) { o.asDefined = true }
}

// WithTmpfsVolume mounts a Definition volume as a tmpfs of sizeMB
// megabytes owned by uid, in every service that mounts it: a disk that
// fills up (and takes no space on the host's disk).
func WithTmpfsVolume(volume string, sizeMB, uid int) Option {
	return func(o *options) {
		if o.tmpfs == nil {
			o.tmpfs = map[string]tmpfsVolume{}
		}
		o.tmpfs[volume] = tmpfsVolume{sizeMB, uid}
	}
}

// WithSecret fixes a secret's value instead of generating one.
func WithSecret(name, value string) Option {
	return func(o *options) {
		if o.secrets == nil {
			o.secrets = map[string]string{}
		}
		o.secrets[name] = value
	}
}

// StartStack starts def's services in dependency order; services whose
// dependencies are met start together. A long-running service counts as up
// when its Docker health check passes, a job when it exited 0. On error the
// partial stack is closed.
func StartStack(ctx context.Context, def stacks.Definition, opts ...Option) (*Stack, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	def.Services = append(append([]stacks.Service(nil), def.Services...), o.extra...)
	names, err := def.StartOrder()
	if err != nil {
		return nil, err
	}
	if len(o.only) > 0 {
		if names, err = def.Closure(o.only...); err != nil {
			return nil, err
		}
	}
	if err := checkImages(ctx, def, names); err != nil {
		return nil, err
	}

	s := &Stack{
		Def:        def,
		runID:      randomHex(4),
		secrets:    map[string]string{},
		networks:   map[string]string{},
		volumes:    map[string]bool{},
		containers: map[string]*testcontainers.DockerContainer{},
		started:    map[string]time.Duration{},
		asDefined:  o.asDefined,
		tmpfs:      o.tmpfs,
	}
	for _, sec := range def.Secrets {
		if v, ok := o.secrets[sec.Name]; ok {
			s.secrets[sec.Name] = v
			continue
		}
		s.secrets[sec.Name] = sec.Generate()
	}
	for _, n := range def.Networks {
		nopts := []tcnetwork.NetworkCustomizer{tcnetwork.WithLabels(map[string]string{stacks.LabelTestRun: s.runID})}
		if n.Internal {
			nopts = append(nopts, tcnetwork.WithInternal())
		}
		net, err := tcnetwork.New(ctx, nopts...)
		if err != nil {
			s.Close(context.Background())
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
		s.nets = append(s.nets, net)
		s.networks[n.Name] = net.Name
	}
	for _, v := range def.Volumes {
		s.volumes[v.Name] = true
	}

	if err := s.startAll(ctx, names); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// startAll starts each service once all its dependencies are up.
func (s *Stack) startAll(ctx context.Context, names []string) error {
	begin := time.Now()
	done := map[string]chan struct{}{}
	for _, n := range names {
		done[n] = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for _, n := range names {
		svc, _ := s.Def.Service(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, dep := range svc.DependsOn {
				ch, ok := done[dep.Service]
				if !ok {
					continue // started before (StartMore)
				}
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
			if _, err := s.startService(ctx, svc, s.containerName(svc.Name)); err != nil {
				errs <- err
				cancel()
				return
			}
			s.mu.Lock()
			s.started[svc.Name] = time.Since(begin)
			s.mu.Unlock()
			close(done[svc.Name])
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// names are the run's Docker names: a deploy's, under a prefix of the run's own.
func (s *Stack) names() stacks.Names { return stacks.Names{Prefix: s.Def.Prefix + "-" + s.runID} }

func (s *Stack) containerName(service string) string { return s.names().Container(service) }

// startService creates and starts one container and waits until it is up.
func (s *Stack) startService(ctx context.Context, svc stacks.Service, name string) (*testcontainers.DockerContainer, error) {
	req, err := s.request(svc, name)
	if err != nil {
		return nil, err
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	dc, _ := c.(*testcontainers.DockerContainer)
	if dc != nil {
		s.mu.Lock()
		if old, ok := s.containers[svc.Name]; !ok || old == nil || name == s.containerName(svc.Name) {
			s.containers[svc.Name] = dc
		}
		s.mu.Unlock()
	}
	if err != nil {
		return dc, fmt.Errorf("%s did not come up: %w%s", svc.Name, err, tail(ctx, dc, 40))
	}
	if svc.Kind == stacks.OneShot {
		st, err := dc.State(ctx)
		if err != nil {
			return dc, fmt.Errorf("%s: %w", svc.Name, err)
		}
		if st.ExitCode != 0 {
			return dc, fmt.Errorf("job %s exited %d%s", svc.Name, st.ExitCode, tail(ctx, dc, 40))
		}
	}
	return dc, nil
}

// Close removes containers, volumes and networks of the stack.
func (s *Stack) Close(ctx context.Context) error {
	s.mu.Lock()
	var all []*testcontainers.DockerContainer
	for _, c := range s.containers {
		all = append(all, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, c := range all {
		if err := c.Terminate(ctx, testcontainers.RemoveVolumes()); err != nil {
			errs = append(errs, err)
		}
	}
	// Re-run jobs and replaced containers are labelled with the run id too.
	if cli, err := testcontainers.NewDockerClientWithOpts(ctx); err == nil {
		defer cli.Close()
		list, _ := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", stacks.LabelTestRun+"="+s.runID)})
		for _, c := range list.Items {
			_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
		for v := range s.volumes {
			_, _ = cli.VolumeRemove(ctx, s.names().Volume(v), client.VolumeRemoveOptions{Force: true})
		}
	}
	for _, n := range s.nets {
		if err := n.Remove(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Container returns the current container of a service.
func (s *Stack) Container(service string) *testcontainers.DockerContainer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.containers[service]
}

// Secret returns the value a secret got in this stack.
func (s *Stack) Secret(name string) string { return s.secrets[name] }

// Secrets returns a copy of every secret of the running stack, by name.
func (s *Stack) Secrets() map[string]string { return maps.Clone(s.secrets) }

// NetworkName is the Docker name of a Definition network in this stack.
func (s *Stack) NetworkName(network string) string { return s.networks[network] }

// StartTimes reports, per service, the time from stack start until it was up.
func (s *Stack) StartTimes() map[string]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Duration{}
	for k, v := range s.started {
		out[k] = v
	}
	return out
}

// Endpoint is host:port on the loopback where a service's container port answers.
func (s *Stack) Endpoint(service string, port int) string {
	c := s.Container(service)
	if c == nil {
		panic(fmt.Sprintf("stacktest: service %q is not running in this stack", service))
	}
	p, err := c.MappedPort(context.Background(), strconv.Itoa(port)+"/tcp")
	if err != nil {
		panic(fmt.Sprintf("stacktest: %s port %d is not published: %v", service, port, err))
	}
	return "127.0.0.1:" + p.Port()
}

// Logs returns a service's container output so far.
func (s *Stack) Logs(ctx context.Context, service string) string {
	c := s.Container(service)
	if c == nil {
		return ""
	}
	return readLogs(ctx, c)
}

func readLogs(ctx context.Context, c *testcontainers.DockerContainer) string {
	r, err := c.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	defer r.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return b.String()
}

func tail(ctx context.Context, c *testcontainers.DockerContainer, lines int) string {
	if c == nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(readLogs(ctx, c), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return "\n--- last log lines of " + c.GetContainerID()[:12] + " ---\n" + strings.Join(ls, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// SetSecret changes a secret's value for containers started from now on
// (Replace, RunJob), as a changed Pulumi secret does on the next up.
func (s *Stack) SetSecret(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = value
}
