// Package render turns a stacks.Definition into pulumi-docker resources on one
// Docker host: networks, volumes and containers, started in dependency order.
// It renders the Definition the way stacks/stacktest does (names, aliases,
// env, files, health checks, jobs), so what the tests start is what deploys.
package render

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/stacks"
)

// Inputs are what a Definition leaves to the renderer.
type Inputs struct {
	// Secrets holds every Definition secret by name, as secret Outputs.
	Secrets map[string]pulumi.StringOutput
	// Images maps an image reference of the Definition to what a container
	// should run (a pulled or built image's ID); references not in the map are
	// used as they are (images already on the host).
	Images map[string]pulumi.StringInput
	// Opts go on every resource, e.g. the docker provider of a remote host.
	Opts []pulumi.ResourceOption
	// Docker is how a shell command reaches the same host's docker CLI;
	// jobs are started through it. The zero value is the local CLI with
	// the environment it inherits.
	Docker DockerCLI
}

// Rendered are the resources of one rendered Definition.
type Rendered struct {
	Networks   map[string]*docker.Network
	Volumes    map[string]*docker.Volume
	Containers map[string]*docker.Container
	// Order is the services in start order.
	Order []string
	// Jobs resolves, per one-shot job, to the last line of its output once it
	// exited 0; a job that did not fails the deploy naming it.
	Jobs map[string]pulumi.StringOutput
}

// Render registers def's resources.
func Render(ctx *pulumi.Context, def stacks.Definition, in Inputs) (*Rendered, error) {
	order, err := def.StartOrder()
	if err != nil {
		return nil, err
	}
	r := &Rendered{
		Networks:   map[string]*docker.Network{},
		Volumes:    map[string]*docker.Volume{},
		Containers: map[string]*docker.Container{},
		Order:      order,
		Jobs:       map[string]pulumi.StringOutput{},
	}
	// Names are fixed (the Definition's), so a replacement must remove the old one first.
	opts := append([]pulumi.ResourceOption{pulumi.DeleteBeforeReplace(true)}, in.Opts...)
	labels := map[string]string{"temporal-kit.stack": def.Stack}

	for _, n := range def.Networks {
		net, err := docker.NewNetwork(ctx, n.Name, &docker.NetworkArgs{
			Name:     pulumi.String(def.Prefix + "-" + n.Name),
			Internal: pulumi.Bool(n.Internal),
			Labels:   networkLabels(labels),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
		r.Networks[n.Name] = net
	}
	for _, v := range def.Volumes {
		if v.HostPath != "" {
			continue // a bind mount of a host directory; nothing to create
		}
		// Data outlives the stack: `pulumi destroy` leaves the volume in the
		// engine (Docker's create adopts it on the next up), so destroying and
		// recreating a stack never loses the database by accident. Derived
		// data (Discard: the secrets a job writes) goes with the stack.
		vol, err := docker.NewVolume(ctx, v.Name, &docker.VolumeArgs{
			Name:   pulumi.String(def.Prefix + "-" + v.Name),
			Labels: volumeLabels(labels),
		}, append(append([]pulumi.ResourceOption(nil), opts...), pulumi.RetainOnDelete(!v.Discard))...)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		r.Volumes[v.Name] = vol
	}

	// ran[job] is the command that ran the job; dependents wait for it.
	ran := map[string]pulumi.Resource{}
	for _, name := range order {
		svc, _ := def.Service(name)
		args, err := r.containerArgs(def, svc, in)
		if err != nil {
			return nil, err
		}
		copts := append([]pulumi.ResourceOption(nil), opts...)
		var after []pulumi.Resource
		for _, dep := range svc.DependsOn {
			other, _ := def.Service(dep.Service)
			if err := checkCondition(svc, other, dep.Condition); err != nil {
				return nil, err
			}
			after = append(after, r.Containers[dep.Service])
			if dep.Condition == stacks.Completed {
				// Dependents of a failed job are not created: its run failed.
				after = append(after, ran[dep.Service])
			}
		}
		if len(after) > 0 {
			copts = append(copts, pulumi.DependsOn(after))
		}
		c, err := docker.NewContainer(ctx, svc.Name, args, copts...)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		r.Containers[svc.Name] = c
		if svc.Kind == stacks.OneShot {
			cmd, err := runJob(ctx, svc.Name, def.ContainerName(svc.Name), c, in.Docker, in.Opts...)
			if err != nil {
				return nil, err
			}
			ran[svc.Name] = cmd
			r.Jobs[svc.Name] = cmd.Stdout.ApplyT(lastLine).(pulumi.StringOutput)
		}
	}
	return r, nil
}

// checkCondition makes sure the wait the renderer can offer matches the
// dependency: a health-checked service waited for with Wait, or a job.
func checkCondition(svc, dep stacks.Service, cond stacks.Condition) error {
	switch {
	case cond == stacks.Healthy && dep.Kind == stacks.LongRunning && dep.Health != nil:
	case cond == stacks.Completed && dep.Kind == stacks.OneShot:
	default:
		return fmt.Errorf("service %s waits for %s to be %s, which a %s service cannot be", svc.Name, dep.Name, cond, dep.Kind)
	}
	return nil
}

func (r *Rendered) containerArgs(def stacks.Definition, svc stacks.Service, in Inputs) (*docker.ContainerArgs, error) {
	image := in.Images[svc.Image]
	if image == nil {
		image = pulumi.String(svc.Image)
	}
	env, err := envArray(svc, in.Secrets)
	if err != nil {
		return nil, err
	}
	args := &docker.ContainerArgs{
		Name:    pulumi.String(def.ContainerName(svc.Name)),
		Image:   image,
		Envs:    env,
		Restart: pulumi.String(svc.Restart),
		Labels:  append(containerLabels(svc.Labels), r.followLabels(svc)...),
	}
	if svc.Logging.Driver != "" {
		args.LogDriver = pulumi.String(svc.Logging.Driver)
		args.LogOpts = pulumi.StringMap{
			"max-size": pulumi.String(svc.Logging.MaxSize),
			"max-file": pulumi.String(strconv.Itoa(svc.Logging.MaxFile)),
		}
	}
	if len(svc.Entrypoint) > 0 {
		args.Entrypoints = pulumi.ToStringArray(svc.Entrypoint)
	}
	if len(svc.Command) > 0 {
		args.Command = pulumi.ToStringArray(svc.Command)
	}
	if svc.User != "" {
		args.User = pulumi.String(svc.User)
	}
	if svc.WorkingDir != "" {
		args.WorkingDir = pulumi.String(svc.WorkingDir)
	}
	if svc.MemoryMB > 0 {
		// The provider takes MB. Swap is set equal to memory, i.e. none: a
		// database or a JVM-less Go server paging to disk is worse than an
		// OOM kill Docker restarts, and Docker would otherwise store twice
		// the memory, which every refresh reads back as a change.
		args.Memory = pulumi.Int(svc.MemoryMB)
		args.MemorySwap = pulumi.Int(svc.MemoryMB)
	}
	setPrivileges(args, svc)
	if svc.StopSignal != "" {
		args.StopSignal = pulumi.String(svc.StopSignal)
	}
	if svc.StopTimeout > 0 {
		secs := int(svc.StopTimeout / time.Second)
		args.StopTimeout = pulumi.Int(secs)
		// A redeploy stops the old container with the same grace before removing it.
		args.DestroyGraceSeconds = pulumi.Int(secs)
	}

	var ports docker.ContainerPortArray
	for _, p := range svc.Ports {
		if p.Host == 0 {
			continue // stays on the Docker network
		}
		ports = append(ports, docker.ContainerPortArgs{
			Internal: pulumi.Int(p.Container),
			External: pulumi.Int(p.Host),
			Ip:       pulumi.String(p.HostIP),
			Protocol: pulumi.String("tcp"),
		})
	}
	var uploads docker.ContainerUploadArray
	for _, f := range svc.Files {
		content := pulumi.String(f.Content).ToStringOutput()
		if f.Secret != "" {
			v, ok := in.Secrets[f.Secret]
			if !ok {
				return nil, fmt.Errorf("service %s: file %s uses unknown secret %q", svc.Name, f.Path, f.Secret)
			}
			content = pulumi.ToSecret(v).(pulumi.StringOutput)
		}
		uploads = append(uploads, docker.ContainerUploadArgs{
			File:        pulumi.String(f.Path),
			Content:     content,
			Permissions: pulumi.String(fmt.Sprintf("%04o", f.Mode)),
			Executable:  pulumi.Bool(f.Mode&0o100 != 0),
		})
	}
	var mounts docker.ContainerMountArray
	for _, m := range svc.Mounts {
		mount, err := r.mount(def, m)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		mounts = append(mounts, mount)
	}
	var nets docker.ContainerNetworksAdvancedArray
	for _, a := range svc.Networks {
		net, ok := r.Networks[a.Network]
		if !ok {
			return nil, fmt.Errorf("service %s: unknown network %q", svc.Name, a.Network)
		}
		nets = append(nets, docker.ContainerNetworksAdvancedArgs{
			Name:    net.Name,
			Aliases: pulumi.ToStringArray(a.Aliases),
		})
	}
	if len(ports) > 0 {
		args.Ports = ports
	}
	if len(uploads) > 0 {
		args.Uploads = uploads
	}
	if len(mounts) > 0 {
		args.Mounts = mounts
	}
	if len(nets) > 0 {
		args.NetworksAdvanced = nets
	}

	switch svc.Kind {
	case stacks.OneShot:
		// Created, not started: runJob starts it and checks its exit code.
		// MustRun false keeps an exited job; Rm false keeps its logs.
		args.Start = pulumi.Bool(false)
		args.MustRun = pulumi.Bool(false)
		args.Rm = pulumi.Bool(false)
	default:
		if svc.Health == nil {
			return nil, fmt.Errorf("service %s has no health check; dependents could not wait for it", svc.Name)
		}
		args.MustRun = pulumi.Bool(true)
		// The create returns only once healthy, so dependents start after.
		args.Wait = pulumi.Bool(true)
		args.WaitTimeout = pulumi.Int(WaitTimeoutSeconds(*svc.Health))
	}
	if h := svc.Health; h != nil {
		args.Healthcheck = docker.ContainerHealthcheckArgs{
			Tests:       pulumi.ToStringArray([]string{"CMD-SHELL", h.Test}),
			Interval:    pulumi.String(h.Interval.String()),
			Timeout:     pulumi.String(h.Timeout.String()),
			StartPeriod: pulumi.String(h.StartPeriod.String()),
			Retries:     pulumi.Int(h.Retries),
		}
	}
	return args, nil
}

// setPrivileges renders the service's capabilities and no-new-privileges.
// The engine stores both as the Definition writes them, so a refresh reads
// back no difference (both replace the container when they change).
func setPrivileges(args *docker.ContainerArgs, svc stacks.Service) {
	if len(svc.CapDrop) > 0 || len(svc.CapAdd) > 0 {
		caps := docker.ContainerCapabilitiesArgs{}
		if len(svc.CapDrop) > 0 {
			caps.Drops = pulumi.ToStringArray(svc.CapDrop)
		}
		if len(svc.CapAdd) > 0 {
			caps.Adds = pulumi.ToStringArray(svc.CapAdd)
		}
		args.Capabilities = caps
	}
	if opts := svc.SecurityOpts(); len(opts) > 0 {
		args.SecurityOpts = pulumi.ToStringArray(opts)
	}
}

// WaitTimeoutSeconds is how long a deploy waits for a service to turn
// healthy: until Docker would call it unhealthy (start period, then Retries
// failed checks), plus a minute for the process to start at all.
func WaitTimeoutSeconds(h stacks.HealthCheck) int {
	d := h.StartPeriod + time.Duration(h.Retries+1)*(h.Interval+h.Timeout) + time.Minute
	return int(d / time.Second)
}

func (r *Rendered) mount(def stacks.Definition, m stacks.Mount) (docker.ContainerMountArgs, error) {
	for _, v := range def.Volumes {
		if v.Name != m.Volume {
			continue
		}
		if v.HostPath != "" {
			return docker.ContainerMountArgs{Type: pulumi.String("bind"), Source: pulumi.String(v.HostPath), Target: pulumi.String(m.Target), ReadOnly: pulumi.Bool(m.ReadOnly)}, nil
		}
		return docker.ContainerMountArgs{Type: pulumi.String("volume"), Source: r.Volumes[v.Name].Name, Target: pulumi.String(m.Target), ReadOnly: pulumi.Bool(m.ReadOnly)}, nil
	}
	return docker.ContainerMountArgs{}, fmt.Errorf("unknown volume %q", m.Volume)
}

// envArray renders KEY=VALUE pairs in Definition order, an entry holding a
// secret as a secret Output. The kit's own services take secrets as files
// (stacks: secrets), since the docker provider takes no secrets and Pulumi
// would then hide the whole list; secret env remains for test services.
func envArray(svc stacks.Service, secrets map[string]pulumi.StringOutput) (pulumi.StringArray, error) {
	plain := func(v string) pulumi.StringOutput { return pulumi.String(v).ToStringOutput() }
	vals, err := stacks.ResolveEnv(svc, plain, secrets)
	if err != nil {
		return nil, err
	}
	var env pulumi.StringArray
	for _, v := range vals {
		if v.Secret {
			env = append(env, pulumi.ToSecret(pulumi.Sprintf("%s=%s", v.Name, v.Value)).(pulumi.StringOutput))
			continue
		}
		env = append(env, pulumi.Sprintf("%s=%s", v.Name, v.Value))
	}
	return env, nil
}

// FollowLabel prefixes the label that ties a service to a job it follows
// (Dependency.Recreate): its value is the job container's ID, so a new job
// container replaces the service too, which then reads what the job wrote.
const FollowLabel = "temporal-kit.follows."

func (r *Rendered) followLabels(svc stacks.Service) docker.ContainerLabelArray {
	var out docker.ContainerLabelArray
	for _, dep := range svc.DependsOn {
		if dep.Recreate {
			out = append(out, docker.ContainerLabelArgs{Label: pulumi.String(FollowLabel + dep.Service), Value: r.Containers[dep.Service].ID().ToStringOutput()})
		}
	}
	return out
}

func containerLabels(m map[string]string) docker.ContainerLabelArray {
	var out docker.ContainerLabelArray
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, docker.ContainerLabelArgs{Label: pulumi.String(k), Value: pulumi.String(m[k])})
	}
	return out
}

func networkLabels(m map[string]string) docker.NetworkLabelArray {
	var out docker.NetworkLabelArray
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, docker.NetworkLabelArgs{Label: pulumi.String(k), Value: pulumi.String(m[k])})
	}
	return out
}

func volumeLabels(m map[string]string) docker.VolumeLabelArray {
	var out docker.VolumeLabelArray
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, docker.VolumeLabelArgs{Label: pulumi.String(k), Value: pulumi.String(m[k])})
	}
	return out
}
