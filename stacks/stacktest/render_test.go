package stacktest

import (
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/rendertest"
)

const runID = "run1"

// stackOf is def as StartStack would hold it, without Docker: networks
// named as a deploy names them, every secret "value-of-<name>", and every
// service already running in a container whose ID is "<service>-id".
func stackOf(def stacks.Definition, opts ...Option) *Stack {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Stack{Def: def, runID: runID, secrets: map[string]string{}, networks: map[string]string{},
		containers: map[string]*testcontainers.DockerContainer{}, asDefined: o.asDefined, tmpfs: o.tmpfs}
	for _, sec := range def.Secrets {
		s.secrets[sec.Name] = "value-of-" + sec.Name
	}
	for _, n := range def.Networks {
		s.networks[n.Name] = def.Names().Network(n.Name)
	}
	for _, svc := range def.Services {
		s.containers[svc.Name] = &testcontainers.DockerContainer{ID: svc.Name + "-id"}
	}
	return s
}

// applied is a request's container config and host config, its modifiers run.
func applied(req testcontainers.GenericContainerRequest) (*container.Config, *container.HostConfig) {
	cfg, hc := &container.Config{}, &container.HostConfig{}
	req.ConfigModifier(cfg)
	req.HostConfigModifier(hc)
	return cfg, hc
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// readBack reads a request in the shared table's terms, the run id taken
// out of names; the run's own label is checked, then left out.
func readBack(t *testing.T, req testcontainers.GenericContainerRequest) rendertest.Container {
	t.Helper()
	cfg, hc := applied(req)
	deployName := func(n string) string { return strings.Replace(n, "-"+runID+"-", "-", 1) }
	c := rendertest.Container{
		Name:         deployName(req.Name),
		User:         cfg.User,
		Labels:       map[string]string{},
		Networks:     map[string][]string{},
		MemoryMB:     int(hc.Resources.Memory >> 20),
		MemorySwapMB: int(hc.Resources.MemorySwap >> 20),
		Restart:      string(hc.RestartPolicy.Name),
		StopSignal:   cfg.StopSignal,
		CapDrop:      nilIfEmpty(hc.CapDrop),
		CapAdd:       nilIfEmpty(hc.CapAdd),
		SecurityOpts: nilIfEmpty(hc.SecurityOpt),
	}
	for k, v := range req.Labels {
		c.Labels[k] = v
	}
	if c.Labels[stacks.LabelTestRun] != runID {
		t.Errorf("run label = %q, want %q: Close would leave the container", c.Labels[stacks.LabelTestRun], runID)
	}
	delete(c.Labels, stacks.LabelTestRun)
	if h := cfg.Healthcheck; h != nil {
		c.Health = &rendertest.Health{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	switch req.WaitingFor.(type) {
	case *wait.HealthStrategy:
		c.Wait = "healthy"
	case *wait.ExitStrategy:
		c.Wait = "exited"
	}
	for n, aliases := range req.NetworkAliases {
		c.Networks[n] = aliases
	}
	for _, m := range req.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		c.Mounts = append(c.Mounts, "volume "+deployName(m.Source.(testcontainers.GenericVolumeMountSource).Name)+" "+string(m.Target)+" "+mode)
	}
	for _, m := range hc.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		c.Mounts = append(c.Mounts, string(m.Type)+" "+m.Source+" "+m.Target+" "+mode)
	}
	if c.Restart == "" {
		c.Restart = "no"
	}
	if l := hc.LogConfig; l.Type != "" {
		c.Logs = l.Type + " max-size=" + l.Config["max-size"] + " max-file=" + l.Config["max-file"]
	}
	if cfg.StopTimeout != nil {
		c.StopTimeout = time.Duration(*cfg.StopTimeout) * time.Second
	}
	return c
}

// The dev stack's containers look as the shared table says (the same table
// infra/render's output is checked against), but for the health checks'
// interval: tests poll at most every second.
func TestRequestsMatchTheSharedTable(t *testing.T) {
	def := LocalDev(t, rendertest.Config)
	s := stackOf(def)
	for name, want := range rendertest.Dev {
		t.Run(name, func(t *testing.T) {
			svc, ok := def.Service(name)
			if !ok {
				t.Fatal("not in the Definition")
			}
			req, err := s.request(svc, s.containerName(name))
			if err != nil {
				t.Fatal(err)
			}
			if !req.Started {
				t.Error("the request does not start the container")
			}
			if want.Health != nil {
				h := *want.Health
				h.Interval = min(h.Interval, time.Second)
				want.Health = &h
			}
			for _, d := range rendertest.Compare(readBack(t, req), want) {
				t.Error(d)
			}
		})
	}
}

// Files carry their content (a secret's value for a secret file) and mode;
// env gets every variable of the Definition.
func TestRequestFilesAndEnv(t *testing.T) {
	def := LocalDev(t, rendertest.Config)
	s := stackOf(def)
	svc, _ := def.Service(stacks.SecretsJob(stacks.ServiceWorker))
	req, err := s.request(svc, "x")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range req.Files {
		b, _ := io.ReadAll(f.Reader)
		got[f.ContainerFilePath] = fmt.Sprintf("%s %04o", b, f.FileMode)
	}
	want := map[string]string{"/etc/temporal-kit/secrets-in/postgresPassword": "value-of-postgresPassword 0400"}
	if !maps.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	wantEnv := map[string]string{"KIT_SECRETS": "postgresPassword", "KIT_SECRETS_FOR": "worker", "KIT_SECRETS_OWNER": "10001:10001"}
	for k, v := range wantEnv {
		if req.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, req.Env[k], v)
		}
	}
	if len(req.Env) != len(wantEnv) {
		t.Errorf("env = %v, want %v", req.Env, wantEnv)
	}
}

// Every port is on the loopback by default; with PublishAsDefined a port the
// Definition publishes binds its HostIP, and a service without ports gets
// the placeholder so that testcontainers publishes nothing else.
func TestRequestPorts(t *testing.T) {
	def := LocalDev(t, rendertest.Config)
	for _, c := range []struct {
		name    string
		opts    []Option
		service string
		want    map[string]string // container port -> host IP
	}{
		{"loopback", nil, stacks.ServiceUI, map[string]string{"8080/tcp": "127.0.0.1"}},
		{"as defined", []Option{PublishAsDefined()}, stacks.ServiceUI, map[string]string{"8080/tcp": "127.0.0.1"}},
		{"placeholder", []Option{PublishAsDefined()}, stacks.ServiceSchema, map[string]string{"9/tcp": "127.0.0.1"}},
		{"none", nil, stacks.ServiceSchema, map[string]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, _ := def.Service(c.service)
			req, err := stackOf(def, c.opts...).request(svc, "x")
			if err != nil {
				t.Fatal(err)
			}
			_, hc := applied(req)
			got := map[string]string{}
			for p, b := range hc.PortBindings {
				if len(b) != 1 || b[0].HostPort != "0" {
					t.Errorf("%s bound %v, want one ephemeral host port", p, b)
				}
				got[p.String()] = b[0].HostIP.String()
			}
			if len(got) != len(c.want) || len(req.ExposedPorts) != len(c.want) {
				t.Fatalf("bindings %v, exposed %v, want %v", got, req.ExposedPorts, c.want)
			}
			for p, ip := range c.want {
				if got[p] != ip {
					t.Errorf("%s on %q, want %q", p, got[p], ip)
				}
			}
		})
	}
}

func TestRequestTmpfsVolume(t *testing.T) {
	def := LocalDev(t, rendertest.Config)
	s := stackOf(def, WithTmpfsVolume(stacks.VolumePostgresData, 64, 999))
	svc, _ := def.Service(stacks.ServicePostgres)
	req, err := s.request(svc, "x")
	if err != nil {
		t.Fatal(err)
	}
	_, hc := applied(req)
	if got := hc.Tmpfs["/var/lib/postgresql/data"]; got != "size=64m,uid=999,gid=999" {
		t.Errorf("tmpfs = %v", hc.Tmpfs)
	}
	for _, m := range req.Mounts {
		if string(m.Target) == "/var/lib/postgresql/data" {
			t.Error("the volume is mounted besides the tmpfs")
		}
	}
}

func TestRequestRefusesWhatItCannotRender(t *testing.T) {
	cases := []struct {
		name   string
		change func(s *Stack, svc *stacks.Service)
		want   string
	}{
		{"unknown secret file", func(s *Stack, svc *stacks.Service) { delete(s.secrets, "postgresPassword") }, `service secrets-worker: file /etc/temporal-kit/secrets-in/postgresPassword uses unknown secret "postgresPassword"`},
		{"healthy on a job", func(s *Stack, svc *stacks.Service) {
			svc.DependsOn = []stacks.Dependency{{Service: stacks.ServiceSchema, Condition: stacks.Healthy}}
		}, "service secrets-worker: waits for temporal-schema to be healthy, which a job service cannot be"},
		{"unknown network", func(s *Stack, svc *stacks.Service) { delete(s.networks, "backend") }, `service secrets-worker: unknown network "backend"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := LocalDev(t, rendertest.Config)
			s := stackOf(def)
			svc, _ := def.Service(stacks.SecretsJob(stacks.ServiceWorker))
			c.change(s, &svc)
			_, err := s.request(svc, "x")
			if err == nil || err.Error() != c.want {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	// A service whose job has not run cannot start: it would read no secrets.
	def := LocalDev(t, rendertest.Config)
	s := stackOf(def)
	delete(s.containers, stacks.SecretsJob(stacks.ServiceWorker))
	svc, _ := def.Service(stacks.ServiceWorker)
	if _, err := s.request(svc, "x"); err == nil || err.Error() != "service worker: secrets-worker has not started" {
		t.Errorf("err = %v", err)
	}
}

// Secrets a test fixes keep their value; the others are generated by the
// deploy's rule, each anew.
func TestResolveSecrets(t *testing.T) {
	def := stacks.Definition{Secrets: []stacks.Secret{{Name: "fixed"}, {Name: "short", Length: 4}, {Name: "long", Length: 40}}}
	got := resolveSecrets(def, map[string]string{"fixed": "hunter2"})
	if got["fixed"] != "hunter2" {
		t.Errorf("fixed = %q", got["fixed"])
	}
	for name, n := range map[string]int{"short": 16, "long": 40} {
		if len(got[name]) != n || strings.Trim(got[name], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("%s = %q, want %d letters and digits", name, got[name], n)
		}
	}
	if again := resolveSecrets(def, nil); again["long"] == got["long"] {
		t.Error("a generated secret repeats across runs")
	}
}
