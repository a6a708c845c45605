// Package stacks describes what a temporal-kit stack is: its typed, validated
// configuration and the Definition built from it. It is plain data on purpose:
// the Pulumi renderer (infra) and the testcontainers renderer (stacks/stacktest)
// both read the same Definition, so a port or env var changes in one place.
package stacks

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Definition is everything one stack runs: networks, volumes, secrets and
// services, in no particular order. Renderers derive the start order from
// Service.DependsOn.
type Definition struct {
	// Stack is the stack name ("dev", "prod"); renderers prefix resource names with Prefix.
	Stack    string
	Prefix   string
	Networks []Network
	Volumes  []Volume
	Secrets  []Secret
	Services []Service
	// Notes are what the operator should know about this Definition, such
	// as a service left out; the Pulumi program logs each as a warning.
	Notes []string
}

// Network is a user-defined Docker network; services reach each other on it by alias.
type Network struct {
	Name string
	// Internal networks have no route out of the host.
	Internal bool
}

// Volume is a named volume that outlives its containers.
type Volume struct {
	Name string
	// HostPath, when set, bind-mounts a host directory instead (prod: a Hetzner volume).
	HostPath string
	// Discard removes the volume with the stack: it holds derived data
	// (written again by a job on every deploy), not data to keep.
	Discard bool
}

// Secret is a value the stack needs but the Definition never holds. A renderer
// resolves it: from a Pulumi config secret, or by generating one.
type Secret struct {
	Name string
	// ConfigKey is the stack config key holding the value; empty means generated.
	ConfigKey string
	// Length of a generated value.
	Length int
}

// Kind tells a renderer how to wait for a service.
type Kind string

const (
	// LongRunning services run until stopped and report health.
	LongRunning Kind = "service"
	// OneShot jobs must exit 0 before their dependents start; they are safe to run again.
	OneShot Kind = "job"
)

// Condition is what a dependent waits for.
type Condition string

const (
	Healthy   Condition = "healthy"   // the dependency's health check passes
	Completed Condition = "completed" // the one-shot dependency exited 0
)

// Dependency orders two services.
type Dependency struct {
	Service   string
	Condition Condition
	// Recreate makes a renderer recreate the dependent whenever the
	// dependency (a job) is created anew: the dependent reads, at start,
	// what the job writes.
	Recreate bool
}

// EnvVar is one environment variable. Exactly one of Value and Secret is used:
// Secret names a Definition secret whose value the renderer injects.
type EnvVar struct {
	Name   string
	Value  string
	Secret string
}

// Port is a container port, optionally published on the host.
type Port struct {
	Name      string
	Container int
	// Host is the published port; 0 keeps the port on the Docker network only.
	Host int
	// HostIP is the interface a published port binds; "127.0.0.1" unless config opens it.
	HostIP string
}

// Mount attaches a Definition volume.
type Mount struct {
	Volume   string
	Target   string
	ReadOnly bool
}

// File is a config file rendered into the container before it starts.
// Exactly one of Content and Secret is used: Secret names a Definition
// secret whose value the renderer writes as the content.
type File struct {
	Path    string
	Content string
	Secret  string
	Mode    int64
}

// HealthCheck mirrors Docker's HEALTHCHECK; Test is a CMD-SHELL command.
// A container that stays unhealthy is restarted by the stack (docker-gate)
// unless AlertOnly.
type HealthCheck struct {
	Test        string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
	// AlertOnly marks a check that also fails for causes outside the
	// container (a dependency down, a full disk): a restart would not fix
	// them and would drop work in flight, so the stack only alerts.
	AlertOnly bool
}

// Logging caps a container's json-file logs.
type Logging struct {
	Driver  string
	MaxSize string
	MaxFile int
}

// NetworkAttachment joins a network with extra DNS aliases (the service name is always one).
type NetworkAttachment struct {
	Network string
	Aliases []string
}

// Service is one container: a long-running service or a one-shot job.
type Service struct {
	Name       string
	Kind       Kind
	Image      string
	Entrypoint []string
	Command    []string
	User       string
	WorkingDir string
	Env        []EnvVar
	Ports      []Port
	Mounts     []Mount
	Files      []File
	Networks   []NetworkAttachment
	DependsOn  []Dependency
	// Secrets names the Definition secrets the service reads, each the file
	// SecretPath(name) in a volume of its own (stacks: secrets).
	Secrets []string
	// Health is required for LongRunning services, nil for OneShot jobs.
	Health *HealthCheck
	// Restart is a Docker restart policy: "unless-stopped", "on-failure" or "no".
	Restart  string
	MemoryMB int
	Logging  Logging
	// StopTimeout is how long Docker waits after StopSignal before SIGKILL (graceful shutdown).
	StopTimeout time.Duration
	StopSignal  string
	Labels      map[string]string

	// Privileges (security.go): Linux capabilities as the engine stores
	// them (CAP_CHOWN; "ALL" only in CapDrop), and no-new-privileges, which
	// stops setuid binaries and file capabilities from raising them again.
	CapDrop         []string
	CapAdd          []string
	NoNewPrivileges bool
}

// Service returns the named service, or false.
func (d Definition) Service(name string) (Service, bool) {
	return named(d.Services, func(s Service) string { return s.Name }, name)
}

// Volume returns the named volume, or false.
func (d Definition) Volume(name string) (Volume, bool) {
	return named(d.Volumes, func(v Volume) string { return v.Name }, name)
}

// Secret returns the named secret, or false.
func (d Definition) Secret(name string) (Secret, bool) {
	return named(d.Secrets, func(s Secret) string { return s.Name }, name)
}

// named returns the first item called name, or false.
func named[T any](items []T, nameOf func(T) string, name string) (T, bool) {
	if i := slices.IndexFunc(items, func(it T) bool { return nameOf(it) == name }); i >= 0 {
		return items[i], true
	}
	var zero T
	return zero, false
}

// ContainerName is the Docker container name of a service in this stack.
func (d Definition) ContainerName(service string) string {
	return d.Names().Container(service)
}

// StartOrder returns service names so that every service comes after its
// dependencies; ties keep Definition order. It fails on unknown or cyclic dependencies.
func (d Definition) StartOrder() ([]string, error) {
	index := map[string]int{}
	for i, s := range d.Services {
		index[s.Name] = i
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(d.Services))
	var order []string
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle: %v", append(path, d.Services[i].Name))
		}
		state[i] = visiting
		for _, dep := range d.Services[i].DependsOn {
			j, ok := index[dep.Service]
			if !ok {
				return fmt.Errorf("service %q depends on unknown service %q", d.Services[i].Name, dep.Service)
			}
			if err := visit(j, append(path, d.Services[i].Name)); err != nil {
				return err
			}
		}
		state[i] = done
		order = append(order, d.Services[i].Name)
		return nil
	}
	for i := range d.Services {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Closure returns the named services and everything they depend on, in start order.
func (d Definition) Closure(names ...string) ([]string, error) {
	want := map[string]bool{}
	var add func(n string) error
	add = func(n string) error {
		if want[n] {
			return nil
		}
		s, ok := d.Service(n)
		if !ok {
			return fmt.Errorf("unknown service %q", n)
		}
		want[n] = true
		for _, dep := range s.DependsOn {
			if err := add(dep.Service); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	order, err := d.StartOrder()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range order {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// PlainEnv returns the service's non-secret env vars as a map.
func (s Service) PlainEnv() map[string]string {
	m := map[string]string{}
	for _, e := range s.Env {
		if e.Secret == "" {
			m[e.Name] = e.Value
		}
	}
	return m
}

// sortEnv keeps env order stable so renderers produce no spurious diffs.
func sortEnv(env []EnvVar) []EnvVar {
	sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	return env
}
