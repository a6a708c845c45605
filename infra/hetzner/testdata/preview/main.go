// Command preview registers the prod stack's Hetzner resources with a fixed
// cloud-init and the operator key from config, for a `pulumi preview` with
// the real hcloud provider (see infra/hetzner/preview_test.go). The config
// is loaded and checked by stacks.LoadConfig first, as the kit's program does.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/stacks"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg, err := stacks.LoadConfig(ctx.Stack(), source{ctx})
		if err != nil {
			return err
		}
		s, err := hetzner.Provision(ctx, cfg, hetzner.Inputs{
			UserData: func(device pulumi.StringOutput) pulumi.StringInput {
				return pulumi.Sprintf("#cloud-config\nmounts:\n  - [%s, /srv/temporal-kit, ext4, \"defaults,nofail\"]\n", device)
			},
			SSHPublicKey: pulumi.String(config.Require(ctx, "previewPublicKey")),
			OpenWeb:      config.GetBool(ctx, "previewOpenWeb"),
		})
		if err != nil {
			return err
		}
		ctx.Export("ipv4", s.IPv4)
		ctx.Export("volumeDevice", s.VolumeDevice)
		return nil
	})
}

// source reads temporal-kit:* keys from the stack config.
type source struct{ ctx *pulumi.Context }

func (s source) Get(key string) (string, bool) { return s.ctx.GetConfig(stacks.Namespace + ":" + key) }
