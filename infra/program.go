// Package infra is the Pulumi program of temporal-kit: it validates the stack
// config, builds the stack's Definition and renders it on the stack's target
// host (target local: this machine's Docker engine via the default docker
// provider).
package infra

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/render"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
	"github.com/ampledata/temporal-kit/stacks"
)

// Options are what the program needs beyond the stack config.
type Options struct {
	// Root is the repository root as the program sees it: the build context
	// of the worker image. Pulumi runs the program in the directory of
	// Pulumi.yaml, which is the root.
	Root string
}

// WorkerDockerfile is the worker image's Dockerfile, relative to Root.
const WorkerDockerfile = "worker/Dockerfile"

// BackupDockerfile is the backup service image's Dockerfile, relative to Root.
const BackupDockerfile = "backup/Dockerfile"

// ProxyDockerfile is the proxy image's (Caddy with the kit's login ban), relative to Root.
const ProxyDockerfile = "infra/proxy/Dockerfile"

// Program is the Pulumi program run by the root main.go.
func Program(ctx *pulumi.Context) error { return NewProgram(Options{Root: "."})(ctx) }

// NewProgram returns the program for the given options.
func NewProgram(o Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		out, err := Deploy(ctx, o)
		if err != nil {
			return err
		}
		out.Export(ctx)
		return nil
	}
}

// Deploy registers the stack's resources and returns its outputs.
func Deploy(ctx *pulumi.Context, o Options) (*Outputs, error) {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	// host is the remote server of an SSH target; nil is the local engine.
	var host *sshdeploy.Target
	// server is the provisioned Hetzner server of target hetzner.
	var server *hetzner.Server
	switch cfg.Target {
	case stacks.TargetLocal:
	case stacks.TargetSSH:
		if host, err = connectSSH(ctx, cfg); err != nil {
			return nil, err
		}
	case stacks.TargetHetzner:
		if host, server, err = connectHetzner(ctx, cfg, cfg.Proxy.Enabled()); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("target %q: no renderer; set %s:target to local, ssh or hetzner", cfg.Target, stacks.Namespace)
	}
	def, err := stacks.Build(cfg)
	if err != nil {
		return nil, err
	}
	if err := warn(ctx, cfg, def); err != nil {
		return nil, err
	}
	secrets, err := resolveSecrets(ctx, def)
	if err != nil {
		return nil, err
	}
	images, err := hostImages(ctx, cfg, def, o, host)
	if err != nil {
		return nil, err
	}
	in := render.Inputs{Secrets: secrets, Images: images, Docker: render.LocalDocker(jobDockerEnv(ctx))}
	if host != nil {
		in.Docker, in.Opts = host.Docker, host.Opts
	}
	r, err := render.Render(ctx, def, in)
	if err != nil {
		return nil, err
	}
	out := newOutputs(cfg, def, r, secrets)
	if host != nil {
		out.overSSH(cfg, host)
	}
	if server != nil {
		out.ServerIPv4, out.ServerIPv6 = server.IPv4, server.IPv6
	}
	return out, nil
}

// warn says, on every run, what the config and the stack leave out
// (Grafana without an image, say).
func warn(ctx *pulumi.Context, cfg stacks.Config, def stacks.Definition) error {
	if w := cfg.Observability.Warning(); w != "" {
		_ = ctx.Log.Warn(w, nil)
	}
	for _, note := range def.Notes {
		if err := ctx.Log.Warn(note, nil); err != nil {
			return err
		}
	}
	return nil
}

// overSSH adds the tunnel to a remote host: the addresses in HowToReach are
// the server's loopback, reachable here through the tunnel, and the docker
// commands run on the server.
func (out *Outputs) overSSH(cfg stacks.Config, host *sshdeploy.Target) {
	out.SSHTunnel = tunnelCommand(cfg, host)
	out.HowToReach = "Over SSH: run the command `pulumi stack output sshTunnel` prints, in a terminal of its own; " +
		"the addresses below then answer on this machine, and the docker commands run on the server (ssh " + cfg.SSH.User + "@<server>).\n" + out.HowToReach
}

// hostImages puts the images on the Docker host. The official catalog pulls
// the pinned upstream images and builds the worker from the repository (on
// a remote host: its engine pulls and builds); the local catalog's images
// were built by kit-images on this machine and are used as they are, or
// sent to a remote host's engine.
func hostImages(ctx *pulumi.Context, cfg stacks.Config, def stacks.Definition, o Options, host *sshdeploy.Target) (map[string]pulumi.StringInput, error) {
	var opts []pulumi.ResourceOption
	if host != nil {
		opts = host.Opts
	}
	if cfg.Catalog != stacks.CatalogOfficial {
		if host == nil {
			return nil, nil
		}
		var refs []string
		for _, svc := range def.Services {
			refs = append(refs, svc.Image)
		}
		return host.Transfer(ctx, refs)
	}
	// The kit's own programs are built from the repository; the rest is pulled.
	builds := []struct{ resource, service, ref, dockerfile string }{
		{"image-worker", stacks.ServiceWorker, cfg.Images.Worker, WorkerDockerfile},
		{"image-backup", stacks.ServiceBackup, cfg.Images.Backup, BackupDockerfile},
		{"image-proxy", stacks.ServiceProxy, cfg.Images.Proxy, ProxyDockerfile},
	}
	built := map[string]bool{}
	for _, b := range builds {
		built[b.ref] = true
	}
	var pulls []string
	for _, svc := range def.Services {
		if !built[svc.Image] {
			pulls = append(pulls, svc.Image)
		}
	}
	images, err := render.Pull(ctx, pulls, opts...)
	if err != nil {
		return nil, err
	}
	for _, b := range builds {
		if _, ok := def.Service(b.service); !ok {
			continue
		}
		dockerfile := filepath.Join(o.Root, b.dockerfile)
		if _, err := os.Stat(dockerfile); err != nil {
			return nil, fmt.Errorf("%s image: %s not found (%v); the official image catalog builds the %s from it. "+
				"Run pulumi from the repository root, or build the offline images with `go run ./infra/images/cmd/kit-images build` "+
				"and set `pulumi config set %s:imageCatalog local`", b.service, b.dockerfile, err, b.service, stacks.Namespace)
		}
		img, err := render.BuildImage(ctx, b.resource, render.Build{
			Ref:        b.ref,
			Context:    o.Root,
			Dockerfile: dockerfile,
		}, opts...)
		if err != nil {
			return nil, err
		}
		images[b.ref] = img
	}
	return images, nil
}

// defaultDockerHost is the docker provider's engine when nothing names one.
const defaultDockerHost = "unix:///var/run/docker.sock"

// jobDockerEnv points the docker CLI that starts one-shot jobs at the engine
// the docker provider deploys to: the stack's docker:host, else DOCKER_HOST,
// else the provider's default socket, never the CLI's current context
// (Colima, Docker Desktop), which may be another engine.
func jobDockerEnv(ctx *pulumi.Context) map[string]string {
	if h, ok := ctx.GetConfig("docker:host"); ok && h != "" {
		return map[string]string{"DOCKER_HOST": h}
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return map[string]string{"DOCKER_HOST": h}
	}
	return map[string]string{"DOCKER_HOST": defaultDockerHost}
}
