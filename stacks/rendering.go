package stacks

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
)

// What both renderers (infra/render and stacks/stacktest) take from here
// rather than decide each for itself: Docker names, the generated-secret
// rule and which dependency waits a renderer can offer.

// Names are the Docker names of a stack's containers, volumes and networks:
// the prefix, a dash, the Definition's name.
type Names struct{ Prefix string }

// Names are this Definition's Docker names.
func (d Definition) Names() Names { return Names{Prefix: d.Prefix} }

// Container is the Docker container name of a service.
func (n Names) Container(service string) string { return n.Prefix + "-" + service }

// Volume is the Docker volume name of a Definition volume.
func (n Names) Volume(volume string) string { return n.Prefix + "-" + volume }

// Network is the Docker network name of a Definition network.
func (n Names) Network(network string) string { return n.Prefix + "-" + network }

// Generated secrets are letters and digits only, since the value lands in
// env vars, a YAML template (Temporal's POSTGRES_PWD) and shell scripts
// unquoted, and at least MinSecretLength long even if a Definition asks
// for less.
const (
	SecretAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	MinSecretLength = 16
)

// GeneratedLength is the length of s's value when the renderer generates it.
func (s Secret) GeneratedLength() int { return max(s.Length, MinSecretLength) }

// Generate returns a new random value for s, by the rule above.
func (s Secret) Generate() string {
	b := make([]byte, s.GeneratedLength())
	limit := big.NewInt(int64(len(SecretAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(err) // crypto/rand does not fail on a supported platform
		}
		b[i] = SecretAlphabet[n.Int64()]
	}
	return string(b)
}

// CheckWaits makes sure a renderer can wait for svc and its dependencies
// as the Definition asks (its errors leave the renderer to name svc): a long-running service needs a health check (its
// dependents wait for it), and each dependency is either a health-checked
// service waited for Healthy or a job waited for Completed.
func (d Definition) CheckWaits(svc Service) error {
	if svc.Kind != OneShot && svc.Health == nil {
		return errors.New("no health check; dependents could not wait for it")
	}
	for _, dep := range svc.DependsOn {
		other, ok := d.Service(dep.Service)
		if !ok {
			return fmt.Errorf("depends on unknown service %q", dep.Service)
		}
		switch {
		case dep.Condition == Healthy && other.Kind == LongRunning && other.Health != nil:
		case dep.Condition == Completed && other.Kind == OneShot:
		default:
			return fmt.Errorf("waits for %s to be %s, which a %s service cannot be", other.Name, dep.Condition, other.Kind)
		}
	}
	return nil
}

// Follows names the jobs s follows (Dependency.Recreate): a renderer labels
// s with each one's container ID (FollowsLabel).
func (s Service) Follows() []string {
	var jobs []string
	for _, dep := range s.DependsOn {
		if dep.Recreate {
			jobs = append(jobs, dep.Service)
		}
	}
	return jobs
}
