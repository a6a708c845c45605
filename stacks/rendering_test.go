package stacks

import (
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	n := Definition{Prefix: "kit-dev"}.Names()
	for got, want := range map[string]string{
		n.Container("temporal"): "kit-dev-temporal",
		n.Volume("pgdata"):      "kit-dev-pgdata",
		n.Network("backend"):    "kit-dev-backend",
		Definition{Prefix: "kit-dev"}.ContainerName("worker"): "kit-dev-worker",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestGeneratedSecretsAreLettersAndDigits(t *testing.T) {
	for _, c := range []struct{ asked, want int }{{0, 16}, {8, 16}, {16, 16}, {32, 32}, {33, 33}} {
		s := Secret{Name: "x", Length: c.asked}
		if got := s.GeneratedLength(); got != c.want {
			t.Errorf("GeneratedLength(Length %d) = %d, want %d", c.asked, got, c.want)
		}
		v := s.Generate()
		if len(v) != c.want {
			t.Errorf("Generate(Length %d) = %q, %d long, want %d", c.asked, v, len(v), c.want)
		}
		if i := strings.IndexFunc(v, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}); i >= 0 {
			t.Errorf("Generate() = %q: %q is not a letter or digit", v, v[i])
		}
	}
	// 200 values of 16 characters over 62: every kind of character shows,
	// and no value repeats.
	seen := map[string]bool{}
	var all strings.Builder
	for range 200 {
		v := Secret{}.Generate()
		if seen[v] {
			t.Fatalf("Generate() repeated %q", v)
		}
		seen[v] = true
		all.WriteString(v)
	}
	for _, class := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"} {
		if !strings.ContainsAny(all.String(), class) {
			t.Errorf("no character of %q in 200 generated values", class)
		}
	}
}

func TestCheckWaits(t *testing.T) {
	health := &HealthCheck{Test: "true", Interval: time.Second}
	def := Definition{Services: []Service{
		{Name: "db", Kind: LongRunning, Health: health},
		{Name: "job", Kind: OneShot},
		{Name: "bare", Kind: LongRunning},
	}}
	cases := []struct {
		name string
		svc  Service
		err  string // "" when the waits are fine
	}{
		{"healthy service", Service{Name: "a", Kind: LongRunning, Health: health, DependsOn: []Dependency{{Service: "db", Condition: Healthy}}}, ""},
		{"completed job, followed", Service{Name: "a", Kind: OneShot, DependsOn: []Dependency{{Service: "job", Condition: Completed, Recreate: true}}}, ""},
		{"no health check", Service{Name: "a", Kind: LongRunning}, "no health check"},
		{"healthy job", Service{Name: "a", Kind: OneShot, DependsOn: []Dependency{{Service: "job", Condition: Healthy}}}, "waits for job to be healthy, which a job service cannot be"},
		{"completed service", Service{Name: "a", Kind: OneShot, DependsOn: []Dependency{{Service: "db", Condition: Completed}}}, "waits for db to be completed, which a service service cannot be"},
		{"healthy without a check", Service{Name: "a", Kind: OneShot, DependsOn: []Dependency{{Service: "bare", Condition: Healthy}}}, "waits for bare to be healthy"},
		{"unknown", Service{Name: "a", Kind: OneShot, DependsOn: []Dependency{{Service: "nope", Condition: Healthy}}}, `unknown service "nope"`},
	}
	for _, c := range cases {
		err := def.CheckWaits(c.svc)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.err)
		}
	}
}

func TestFollows(t *testing.T) {
	s := Service{DependsOn: []Dependency{
		{Service: "db", Condition: Healthy},
		{Service: "secrets-a", Condition: Completed, Recreate: true},
		{Service: "schema", Condition: Completed},
	}}
	if got := s.Follows(); len(got) != 1 || got[0] != "secrets-a" {
		t.Errorf("Follows() = %v, want [secrets-a]", got)
	}
	if got := FollowsLabel("secrets-a"); got != "temporal-kit.follows.secrets-a" {
		t.Errorf("FollowsLabel = %q", got)
	}
}
