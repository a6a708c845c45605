package hetzner

import (
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TokenKey is the hcloud provider's token config key; TokenEnv the
// environment variable the provider reads when the key is unset.
const (
	TokenKey = "hcloud:token"
	TokenEnv = "HCLOUD_TOKEN"
)

const tokenHowTo = "create an API token with Read & Write permission in the Hetzner Console (your project → Security → API tokens) " +
	"and set it with `pulumi config set --secret " + TokenKey + " <token>`, or export " + TokenEnv

// CheckToken tells, before any resource is registered, what the provider
// would otherwise say later and less plainly: the Hetzner API token is
// missing, malformed (Hetzner tokens are 64 characters), or stored in plain
// text in the stack's config file. It does not reach Hetzner.
func CheckToken(ctx *pulumi.Context) error {
	v, inConfig := ctx.GetConfig(TokenKey)
	source := TokenKey
	if !inConfig || v == "" {
		v, source = os.Getenv(TokenEnv), TokenEnv
	}
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return fmt.Errorf("%s: no Hetzner Cloud API token: %s", TokenKey, tokenHowTo)
	case inConfig && !ctx.IsConfigSecret(TokenKey):
		return fmt.Errorf("%s: is stored in plain text in Pulumi.%s.yaml; remove it with `pulumi config rm %s` and set it again with `pulumi config set --secret %s <token>`",
			TokenKey, ctx.Stack(), TokenKey, TokenKey)
	case len(v) != 64:
		return fmt.Errorf("%s: the token from %s has %d characters, a Hetzner Cloud API token has 64: %s", TokenKey, source, len(v), tokenHowTo)
	}
	return nil
}
