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

// StartOn starts svc alone on an existing Docker network, such as the
// network of a stack that Pulumi deployed: every network svc attaches to is
// that one. secrets resolves svc's secret env. Closing it removes only
// svc's container.
func StartOn(ctx context.Context, svc stacks.Service, dockerNetwork string, secrets map[string]string) (*Stack, error) {
	s := &Stack{
		Def:        stacks.Definition{Stack: "join", Prefix: "temporal-kit-join", Services: []stacks.Service{svc}},
		runID:      randomHex(4),
		secrets:    maps.Clone(secrets),
		networks:   map[string]string{},
		volumes:    map[string]bool{},
		containers: map[string]*testcontainers.DockerContainer{},
		started:    map[string]time.Duration{},
	}
	for _, a := range svc.Networks {
		s.networks[a.Network] = dockerNetwork
	}
	for _, m := range svc.Mounts {
		// A volume of its own, removed by Close.
		s.Def.Volumes = append(s.Def.Volumes, stacks.Volume{Name: m.Volume})
		s.volumes[m.Volume] = true
	}
	if err := checkImages(ctx, s.Def, []string{svc.Name}); err != nil {
		return nil, err
	}
	if err := s.startAll(ctx, []string{svc.Name}); err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("%s on network %s: %w", svc.Name, dockerNetwork, err)
	}
	return s, nil
}

// JoinNetwork is StartOn for a test: it skips or fails as RequireDocker
// does and removes the container in t.Cleanup.
func JoinNetwork(t testing.TB, svc stacks.Service, dockerNetwork string, secrets map[string]string) *Stack {
	t.Helper()
	RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := StartOn(ctx, svc, dockerNetwork, secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Logf("cleanup of %s: %v", svc.Name, err)
		}
	})
	return s
}
