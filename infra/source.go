package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/ampledata/temporal-kit/stacks"
)

// secretKeys are the config keys whose values are secrets: they must be
// stored as Pulumi secrets and are only ever read as secret Outputs. The
// loader says which they are; a list kept here by hand once missed half.
var secretKeys = stacks.SecretKeys()

func isSecretKey(key string) bool { return slices.Contains(secretKeys, key) }

// secretShape stands in for a secret's value: stacks.LoadConfig needs to
// know that one is set and its shape (the proxy password must be one line
// of at most bcrypt's 72 bytes), never the value itself, so only the length
// in bytes and the line breaks leave the Pulumi config.
func secretShape(v string) string {
	b := []byte(v)
	for i, c := range b {
		if c != '\n' && c != '\r' {
			b[i] = 'x'
		}
	}
	return string(b)
}

// configSource adapts the stack's Pulumi config to stacks.Source and
// stacks.KeyLister.
type configSource struct {
	cfg  *config.Config
	keys []string
}

func newConfigSource(ctx *pulumi.Context) configSource {
	return configSource{cfg: config.New(ctx, stacks.Namespace), keys: stackKeys(ctx, os.Getenv(pulumi.EnvConfig))}
}

// Keys implements stacks.KeyLister: the temporal-kit keys set in the stack
// config, so LoadConfig can report the ones it does not know.
func (s configSource) Keys() []string { return s.keys }

// stackKeys lists the kit's keys in env, the PULUMI_CONFIG the CLI hands the
// program: a JSON object keyed "project:key", one top-level key per object
// value. pulumi.Context looks keys up but cannot list them, and the SDK
// fills its config from this very variable. Only keys the context has too
// count, should the variable come from elsewhere (an inline program).
// Other namespaces (docker:, hcloud:) belong to their providers.
func stackKeys(ctx *pulumi.Context, env string) []string {
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(env), &all); err != nil {
		return nil
	}
	var keys []string
	for full := range all {
		k, ours := strings.CutPrefix(full, stacks.Namespace+":")
		if _, set := ctx.GetConfig(full); ours && set {
			keys = append(keys, k)
		}
	}
	return keys
}

// Get implements stacks.Source. Structured values (hostPorts, images, ...)
// arrive as JSON, which is what LoadConfig reads.
func (s configSource) Get(key string) (string, bool) {
	v, err := s.cfg.Try(key)
	if err != nil {
		return "", false
	}
	if isSecretKey(key) && v != "" {
		return secretShape(v), true
	}
	return v, true
}

// plaintextSecrets names secret keys that were set without --secret: their
// value then sits in clear text in Pulumi.<stack>.yaml.
func plaintextSecrets(ctx *pulumi.Context) []string {
	var problems []string
	for _, k := range secretKeys {
		full := stacks.Namespace + ":" + k
		if v, ok := ctx.GetConfig(full); ok && v != "" && !ctx.IsConfigSecret(full) {
			problems = append(problems, fmt.Sprintf("%s: is stored in plain text in Pulumi.%s.yaml; remove it with `pulumi config rm %s` and set it again with `pulumi config set --secret %s <value>`",
				full, ctx.Stack(), full, full))
		}
	}
	return problems
}

// loadConfig validates the stack config and reports every problem at once.
func loadConfig(ctx *pulumi.Context) (stacks.Config, error) {
	cfg, err := stacks.LoadConfig(ctx.Stack(), newConfigSource(ctx))
	problems := plaintextSecrets(ctx)
	if err != nil {
		ce, ok := err.(*stacks.ConfigError)
		if !ok {
			return cfg, err
		}
		problems = append(ce.Problems, problems...)
	}
	if len(problems) > 0 {
		return cfg, &stacks.ConfigError{Problems: problems}
	}
	return cfg, nil
}
