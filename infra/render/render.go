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

	// ran[job] is the command that ran the job; dependents wait for it.
	ran map[string]pulumi.Resource
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
		ran:        map[string]pulumi.Resource{},
	}
	// Names are fixed (the Definition's), so a replacement must remove the old one first.
	opts := append([]pulumi.ResourceOption{pulumi.DeleteBeforeReplace(true)}, in.Opts...)
	if err := r.createNetworks(ctx, def, opts); err != nil {
		return nil, err
	}
	if err := r.createVolumes(ctx, def, opts); err != nil {
		return nil, err
	}
	for _, name := range order {
		svc, _ := def.Service(name)
		if err := r.createContainer(ctx, def, svc, in, opts); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Rendered) createNetworks(ctx *pulumi.Context, def stacks.Definition, opts []pulumi.ResourceOption) error {
	for _, n := range def.Networks {
		net, err := docker.NewNetwork(ctx, n.Name, &docker.NetworkArgs{
			Name:     pulumi.String(def.Names().Network(n.Name)),
			Internal: pulumi.Bool(n.Internal),
			Labels:   docker.NetworkLabelArray{docker.NetworkLabelArgs{Label: pulumi.String(stacks.LabelStack), Value: pulumi.String(def.Stack)}},
		}, opts...)
		if err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
		r.Networks[n.Name] = net
	}
	return nil
}

// createVolumes: data outlives the stack: `pulumi destroy` leaves the
// volume in the engine (Docker's create adopts it on the next up), so
// destroying and recreating a stack never loses the database by accident.
// Derived data (Discard: the secrets a job writes) goes with the stack.
func (r *Rendered) createVolumes(ctx *pulumi.Context, def stacks.Definition, opts []pulumi.ResourceOption) error {
	for _, v := range def.Volumes {
		if v.HostPath != "" {
			continue // a bind mount of a host directory; nothing to create
		}
		vol, err := docker.NewVolume(ctx, v.Name, &docker.VolumeArgs{
			Name:   pulumi.String(def.Names().Volume(v.Name)),
			Labels: docker.VolumeLabelArray{docker.VolumeLabelArgs{Label: pulumi.String(stacks.LabelStack), Value: pulumi.String(def.Stack)}},
		}, append(slices.Clone(opts), pulumi.RetainOnDelete(!v.Discard))...)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		r.Volumes[v.Name] = vol
	}
	return nil
}

// createContainer registers svc's container after what it depends on; a
// job's container is then run by a command (runJob), whose success its
// dependents wait for too.
func (r *Rendered) createContainer(ctx *pulumi.Context, def stacks.Definition, svc stacks.Service, in Inputs, opts []pulumi.ResourceOption) error {
	c, err := r.containerArgs(def, svc, in)
	if err != nil {
		return err
	}
	if len(c.after) > 0 {
		opts = append(slices.Clone(opts), pulumi.DependsOn(c.after))
	}
	ctr, err := docker.NewContainer(ctx, svc.Name, c.args, opts...)
	if err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	r.Containers[svc.Name] = ctr
	if svc.Kind != stacks.OneShot {
		return nil
	}
	cmd, err := runJob(ctx, svc.Name, def.ContainerName(svc.Name), ctr, in.Docker, in.Opts...)
	if err != nil {
		return err
	}
	r.ran[svc.Name] = cmd
	r.Jobs[svc.Name] = cmd.Stdout.ApplyT(lastLine).(pulumi.StringOutput)
	return nil
}

// rendering is one service on its way to container args. Its steps have
// the names and the order of stacks/stacktest's, so the two renderers read
// side by side.
type rendering struct {
	r    *Rendered
	def  stacks.Definition
	in   Inputs
	svc  stacks.Service
	args *docker.ContainerArgs
	// after are the resources the container is created after.
	after []pulumi.Resource
}

// containerArgs runs the steps for svc: the result holds its container's
// args and what the container must be created after.
func (r *Rendered) containerArgs(def stacks.Definition, svc stacks.Service, in Inputs) (*rendering, error) {
	c := &rendering{r: r, def: def, in: in, svc: svc, args: &docker.ContainerArgs{Name: pulumi.String(def.ContainerName(svc.Name))}}
	for _, step := range []func() error{
		c.dependencies, c.process, c.env, c.labels, c.ports, c.files, c.mounts, c.networks,
		c.healthCheck, c.wait, c.logs, c.memory, c.restart, c.stop, c.security,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// errorf is an error about the service being rendered, naming it.
func (c *rendering) errorf(format string, a ...any) error {
	return fmt.Errorf("service %s: "+format, append([]any{c.svc.Name}, a...)...)
}

// dependencies: the container is created after each dependency's; after a
// job's run too, so dependents of a failed job are not created.
func (c *rendering) dependencies() error {
	if err := c.def.CheckWaits(c.svc); err != nil {
		return c.errorf("%w", err)
	}
	for _, dep := range c.svc.DependsOn {
		c.after = append(c.after, c.r.Containers[dep.Service])
		if dep.Condition == stacks.Completed {
			c.after = append(c.after, c.r.ran[dep.Service])
		}
	}
	return nil
}

func (c *rendering) process() error {
	c.args.Image = c.in.Images[c.svc.Image]
	if c.args.Image == nil {
		c.args.Image = pulumi.String(c.svc.Image)
	}
	if len(c.svc.Entrypoint) > 0 {
		c.args.Entrypoints = pulumi.ToStringArray(c.svc.Entrypoint)
	}
	if len(c.svc.Command) > 0 {
		c.args.Command = pulumi.ToStringArray(c.svc.Command)
	}
	if c.svc.User != "" {
		c.args.User = pulumi.String(c.svc.User)
	}
	if c.svc.WorkingDir != "" {
		c.args.WorkingDir = pulumi.String(c.svc.WorkingDir)
	}
	return nil
}

// env renders KEY=VALUE pairs in Definition order, an entry holding a
// secret as a secret Output. The kit's own services take secrets as files
// (stacks: secrets), since the docker provider takes no secrets and Pulumi
// would then hide the whole list; secret env remains for test services.
func (c *rendering) env() error {
	plain := func(v string) pulumi.StringOutput { return pulumi.String(v).ToStringOutput() }
	vals, err := stacks.ResolveEnv(c.svc, plain, c.in.Secrets)
	if err != nil {
		return err
	}
	var env pulumi.StringArray
	for _, v := range vals {
		kv := pulumi.Sprintf("%s=%s", v.Name, v.Value)
		if v.Secret {
			kv = pulumi.ToSecret(kv).(pulumi.StringOutput)
		}
		env = append(env, kv)
	}
	c.args.Envs = env
	return nil
}

// labels: the Definition's, sorted, and per job the service follows, that
// job's container ID: a new job container replaces the service too, which
// then reads what the job wrote.
func (c *rendering) labels() error {
	var out docker.ContainerLabelArray
	for _, k := range slices.Sorted(maps.Keys(c.svc.Labels)) {
		out = append(out, docker.ContainerLabelArgs{Label: pulumi.String(k), Value: pulumi.String(c.svc.Labels[k])})
	}
	for _, job := range c.svc.Follows() {
		out = append(out, docker.ContainerLabelArgs{Label: pulumi.String(stacks.FollowsLabel(job)), Value: c.r.Containers[job].ID().ToStringOutput()})
	}
	c.args.Labels = out
	return nil
}

func (c *rendering) ports() error {
	var ports docker.ContainerPortArray
	for _, p := range c.svc.Ports {
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
	if len(ports) > 0 {
		c.args.Ports = ports
	}
	return nil
}

func (c *rendering) files() error {
	if len(c.svc.Files) == 0 {
		return nil
	}
	uploads := make(docker.ContainerUploadArray, 0, len(c.svc.Files))
	for _, f := range c.svc.Files {
		content := pulumi.String(f.Content).ToStringOutput()
		if f.Secret != "" {
			v, ok := c.in.Secrets[f.Secret]
			if !ok {
				return c.errorf("file %s uses unknown secret %q", f.Path, f.Secret)
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
	c.args.Uploads = uploads
	return nil
}

// mounts: a named volume of the stack, or a host directory bound (prod:
// the Hetzner volume).
func (c *rendering) mounts() error {
	if len(c.svc.Mounts) == 0 {
		return nil
	}
	mounts := make(docker.ContainerMountArray, len(c.svc.Mounts))
	for i, m := range c.svc.Mounts {
		v, ok := c.def.Volume(m.Volume)
		if !ok {
			return c.errorf("unknown volume %q", m.Volume)
		}
		mount := docker.ContainerMountArgs{Type: pulumi.String("volume"), Target: pulumi.String(m.Target), ReadOnly: pulumi.Bool(m.ReadOnly)}
		if v.HostPath != "" {
			mount.Type, mount.Source = pulumi.String("bind"), pulumi.String(v.HostPath)
		} else {
			mount.Source = c.r.Volumes[v.Name].Name
		}
		mounts[i] = mount
	}
	c.args.Mounts = mounts
	return nil
}

// networks: each attachment by the network's resource, so the container
// is created after it.
func (c *rendering) networks() error {
	var nets docker.ContainerNetworksAdvancedArray
	for _, a := range c.svc.Networks {
		net, ok := c.r.Networks[a.Network]
		if !ok {
			return c.errorf("unknown network %q", a.Network)
		}
		nets = append(nets, docker.ContainerNetworksAdvancedArgs{Name: net.Name, Aliases: pulumi.ToStringArray(a.Aliases)})
	}
	if nets != nil {
		c.args.NetworksAdvanced = nets
	}
	return nil
}

func (c *rendering) healthCheck() error {
	h := c.svc.Health
	if h == nil {
		return nil
	}
	c.args.Healthcheck = docker.ContainerHealthcheckArgs{
		Tests:       pulumi.ToStringArray([]string{"CMD-SHELL", h.Test}),
		Interval:    pulumi.String(h.Interval.String()),
		Timeout:     pulumi.String(h.Timeout.String()),
		StartPeriod: pulumi.String(h.StartPeriod.String()),
		Retries:     pulumi.Int(h.Retries),
	}
	return nil
}

// wait: a job's container is created, not started: runJob starts it and
// checks its exit code (MustRun false keeps an exited job; Rm false keeps
// its logs). A service's create returns only once it is healthy, so
// dependents start after.
func (c *rendering) wait() error {
	if c.svc.Kind == stacks.OneShot {
		c.args.Start = pulumi.Bool(false)
		c.args.MustRun = pulumi.Bool(false)
		c.args.Rm = pulumi.Bool(false)
		return nil
	}
	c.args.MustRun = pulumi.Bool(true)
	c.args.Wait = pulumi.Bool(true)
	c.args.WaitTimeout = pulumi.Int(WaitTimeoutSeconds(*c.svc.Health))
	return nil
}

func (c *rendering) logs() error {
	l := c.svc.Logging
	if l.Driver == "" {
		return nil
	}
	c.args.LogDriver = pulumi.String(l.Driver)
	c.args.LogOpts = pulumi.StringMap{
		"max-size": pulumi.String(l.MaxSize),
		"max-file": pulumi.String(strconv.Itoa(l.MaxFile)),
	}
	return nil
}

// memory: the provider takes MB. Swap is set equal to memory, i.e. none: a
// database or a JVM-less Go server paging to disk is worse than an OOM
// kill Docker restarts, and Docker would otherwise store twice the memory,
// which every refresh reads back as a change.
func (c *rendering) memory() error {
	if c.svc.MemoryMB <= 0 {
		return nil
	}
	c.args.Memory = pulumi.Int(c.svc.MemoryMB)
	c.args.MemorySwap = pulumi.Int(c.svc.MemoryMB)
	return nil
}

func (c *rendering) restart() error {
	c.args.Restart = pulumi.String(c.svc.Restart)
	return nil
}

// stop: a redeploy stops the old container with the same grace before
// removing it.
func (c *rendering) stop() error {
	if c.svc.StopSignal != "" {
		c.args.StopSignal = pulumi.String(c.svc.StopSignal)
	}
	if c.svc.StopTimeout > 0 {
		secs := int(c.svc.StopTimeout / time.Second)
		c.args.StopTimeout = pulumi.Int(secs)
		c.args.DestroyGraceSeconds = pulumi.Int(secs)
	}
	return nil
}

// security renders the service's capabilities and no-new-privileges.
// The engine stores both as the Definition writes them, so a refresh reads
// back no difference (both replace the container when they change).
func (c *rendering) security() error {
	svc := c.svc
	if len(svc.CapDrop) > 0 || len(svc.CapAdd) > 0 {
		caps := docker.ContainerCapabilitiesArgs{}
		if len(svc.CapDrop) > 0 {
			caps.Drops = pulumi.ToStringArray(svc.CapDrop)
		}
		if len(svc.CapAdd) > 0 {
			caps.Adds = pulumi.ToStringArray(svc.CapAdd)
		}
		c.args.Capabilities = caps
	}
	if opts := svc.SecurityOpts(); len(opts) > 0 {
		c.args.SecurityOpts = pulumi.ToStringArray(opts)
	}
	return nil
}

// WaitTimeoutSeconds is how long a deploy waits for a service to turn
// healthy: until Docker would call it unhealthy (start period, then Retries
// failed checks), plus a minute for the process to start at all.
func WaitTimeoutSeconds(h stacks.HealthCheck) int {
	d := h.StartPeriod + time.Duration(h.Retries+1)*(h.Interval+h.Timeout) + time.Minute
	return int(d / time.Second)
}
