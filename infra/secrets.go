package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/ampledata/temporal-kit/stacks"
)

// minGeneratedLength keeps generated secrets strong even if a Definition
// asks for less (the testcontainers renderer uses the same floor).
const minGeneratedLength = 16

// resolveSecrets gives every Definition secret a value, always as a secret
// Output: from its config key, read with TrySecret, or generated once by
// random.RandomPassword and kept (encrypted) in the stack state.
func resolveSecrets(ctx *pulumi.Context, def stacks.Definition) (map[string]pulumi.StringOutput, error) {
	cfg := config.New(ctx, stacks.Namespace)
	out := map[string]pulumi.StringOutput{}
	for _, s := range def.Secrets {
		if s.ConfigKey != "" {
			v, err := cfg.TrySecret(s.ConfigKey)
			if err != nil {
				return nil, fmt.Errorf("%s:%s: %v; set it with `pulumi config set --secret %s:%s <value>`",
					stacks.Namespace, s.ConfigKey, err, stacks.Namespace, s.ConfigKey)
			}
			out[s.Name] = v
			continue
		}
		n := s.Length
		if n < minGeneratedLength {
			n = minGeneratedLength
		}
		pw, err := random.NewRandomPassword(ctx, s.Name, &random.RandomPasswordArgs{
			Length: pulumi.Int(n),
			// Letters and digits only: the value lands in env vars, a YAML
			// template (Temporal's POSTGRES_PWD) and shell scripts unquoted.
			Special: pulumi.Bool(false),
		})
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		out[s.Name] = pulumi.ToSecret(pw.Result).(pulumi.StringOutput)
	}
	return out, nil
}
