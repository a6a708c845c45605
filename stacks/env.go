package stacks

import "fmt"

// EnvValue is one env var of a Service with its value resolved.
type EnvValue[V any] struct {
	Name  string
	Value V
	// Secret tells that Value came from a Definition secret: a renderer keeps
	// it out of plain-text state, diffs and logs.
	Secret bool
}

// ResolveEnv pairs each env var of svc, in Definition order, with its value:
// plain values through plain, secrets looked up by name in secrets. Every
// renderer (Pulumi, testcontainers, the in-process worker harness) resolves
// env through it, so they cannot disagree on what a container gets.
func ResolveEnv[V any](svc Service, plain func(string) V, secrets map[string]V) ([]EnvValue[V], error) {
	out := make([]EnvValue[V], 0, len(svc.Env))
	for _, e := range svc.Env {
		if e.Secret == "" {
			out = append(out, EnvValue[V]{Name: e.Name, Value: plain(e.Value)})
			continue
		}
		v, ok := secrets[e.Secret]
		if !ok {
			return nil, fmt.Errorf("service %s: env %s uses unknown secret %q", svc.Name, e.Name, e.Secret)
		}
		out = append(out, EnvValue[V]{Name: e.Name, Value: v, Secret: true})
	}
	return out, nil
}

// ResolveEnvMap is ResolveEnv for plain string values, as a map.
func ResolveEnvMap(svc Service, secrets map[string]string) (map[string]string, error) {
	vals, err := ResolveEnv(svc, func(s string) string { return s }, secrets)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(vals))
	for _, v := range vals {
		m[v.Name] = v.Value
	}
	return m, nil
}
