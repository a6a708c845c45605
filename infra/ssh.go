package infra

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/sshdeploy"
	"github.com/ampledata/temporal-kit/stacks"
)

// SSHResource names the remote docker provider (and "<it>-ready", the wait).
const SSHResource = "ssh-docker"

// connectSSH connects target ssh's server from the stack config.
func connectSSH(ctx *pulumi.Context, cfg stacks.Config) (*sshdeploy.Target, error) {
	key, _, err := deployKey(ctx)
	if err != nil {
		return nil, err
	}
	return sshdeploy.Connect(ctx, SSHResource, sshdeploy.Host{
		Address:    pulumi.String(cfg.SSH.Host),
		Port:       cfg.SSH.Port,
		User:       cfg.SSH.User,
		HostKey:    pulumi.String(cfg.SSH.HostKey),
		PrivateKey: key,
	})
}

// deployKey reads sshPrivateKey, checks it is an unencrypted private key
// before any resource is registered, and returns it as a secret with its
// public key line (what cloud-init installs for the deploy user).
func deployKey(ctx *pulumi.Context) (pulumi.StringOutput, string, error) {
	full := stacks.Namespace + ":sshPrivateKey"
	v, ok := ctx.GetConfig(full)
	if !ok || strings.TrimSpace(v) == "" {
		return pulumi.StringOutput{}, "", fmt.Errorf("%s: not set; make a deploy key with `ssh-keygen -t ed25519 -N '' -f deploy_key` and set it with `pulumi config set --secret %s < deploy_key`", full, full)
	}
	pub, err := sshdeploy.PublicKeyOf(v)
	if err != nil {
		return pulumi.StringOutput{}, "", fmt.Errorf("%s: %w", full, err)
	}
	return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput), pub, nil
}

// tunnelCommand forwards every published port of the server (bound to its
// loopback) to the same port here, with the stack's key and pinned host key.
func tunnelCommand(cfg stacks.Config, host *sshdeploy.Target) pulumi.StringOutput {
	var fw []string
	ports := []int{cfg.HostPorts.Temporal, cfg.HostPorts.UI, cfg.HostPorts.Worker, cfg.HostPorts.Postgres, cfg.HostPorts.Prometheus}
	if cfg.Images.Grafana != "" {
		ports = append(ports, cfg.HostPorts.Grafana)
	}
	for _, p := range ports {
		if p != 0 {
			fw = append(fw, "-L "+strconv.Itoa(p)+":127.0.0.1:"+strconv.Itoa(p))
		}
	}
	// The deploy's own options: the pinned key only (no global known_hosts,
	// no learning of new keys), the stack's key only.
	return pulumi.Sprintf("ssh -N %s -p %d -i %s -o UserKnownHostsFile=%s %s %s",
		strings.Join(fw, " "), host.Port, host.Files.Key, host.Files.KnownHosts, strings.Join(sshdeploy.Options(), " "), host.Dest)
}
