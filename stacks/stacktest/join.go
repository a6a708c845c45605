package stacktest

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/ampledata/temporal-kit/stacks"
)

// StartOn starts the named services of def, and what they depend on, on an
// existing Docker network, such as the network of a stack that Pulumi
// deployed: every network of def is that one. Volumes are the run's own.
// secrets resolves the services' secrets. Closing it removes only what it
// started.
func StartOn(ctx context.Context, def stacks.Definition, services []string, dockerNetwork string, secrets map[string]string) (*Stack, error) {
	names, err := def.Closure(services...)
	if err != nil {
		return nil, err
	}
	def.Prefix = "temporal-kit-join"
	s := &Stack{
		Def:        def,
		runID:      randomHex(4),
		secrets:    maps.Clone(secrets),
		networks:   map[string]string{},
		volumes:    map[string]bool{},
		containers: map[string]*testcontainers.DockerContainer{},
		started:    map[string]time.Duration{},
	}
	for _, n := range def.Networks {
		s.networks[n.Name] = dockerNetwork
	}
	for _, svc := range def.Services {
		for _, a := range svc.Networks {
			s.networks[a.Network] = dockerNetwork
		}
	}
	for _, v := range def.Volumes {
		s.volumes[v.Name] = true
	}
	if err := checkImages(ctx, def, names); err != nil {
		return nil, err
	}
	if err := s.startAll(ctx, names); err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("%v on network %s: %w", services, dockerNetwork, err)
	}
	return s, nil
}

// JoinNetwork is StartOn for a test: it skips or fails as RequireDocker
// does and removes what it started in t.Cleanup.
func JoinNetwork(t testing.TB, def stacks.Definition, services []string, dockerNetwork string, secrets map[string]string) *Stack {
	t.Helper()
	RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := StartOn(ctx, def, services, dockerNetwork, secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Logf("cleanup of %v: %v", services, err)
		}
	})
	return s
}
