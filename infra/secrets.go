package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/ampledata/temporal-kit/stacks"
)

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
		// The rule of stacks.Secret.Generate: no special characters leaves
		// the provider's letters and digits (upper, lower and numeric are
		// on by default; left unset, so deployed passwords see no new input).
		pw, err := random.NewRandomPassword(ctx, s.Name, &random.RandomPasswordArgs{
			Length:  pulumi.Int(s.GeneratedLength()),
			Special: pulumi.Bool(false),
		})
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		out[s.Name] = pulumi.ToSecret(pw.Result).(pulumi.StringOutput)
	}
	return out, nil
}
