package render

import (
	"fmt"
	"maps"
	"strings"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// A one-shot job is two resources: its container, created but not started,
// and a command that starts it, waits for its exit and fails on a non-zero
// code. The split is what lets a failed job run again by itself: a command
// that failed is not recorded in the state, so the next `pulumi up` runs it
// again (after the operator fixed the cause, say PostgreSQL was down),
// while the container, recorded, is started again as it is. A job whose
// inputs change gets a new container and so a new run.

// jobLogLines is how much of a job's log a failed deploy prints.
const jobLogLines = 20

// DockerCLI is how a command run by Pulumi (command:local:Command) reaches
// the docker CLI of the host the docker provider deploys to.
type DockerCLI struct {
	// Command is the shell words that run the docker CLI against the host,
	// arguments to follow: "docker" with DOCKER_HOST for a local engine;
	// for a remote one reached over SSH, `ssh <options> "$DEST" docker`,
	// since the docker CLI takes no SSH options of its own. It reads values
	// from Env as "$NAME", quoted, so paths and addresses stay one word.
	Command string
	// Env is the environment Command needs (DOCKER_HOST, the SSH key's path).
	Env pulumi.StringMap
}

// LocalDocker is the docker CLI on this machine, with env (DOCKER_HOST).
func LocalDocker(env map[string]string) DockerCLI {
	m := pulumi.StringMap{}
	for k, v := range maps.All(env) {
		m[k] = pulumi.String(v)
	}
	return DockerCLI{Command: "docker", Env: m}
}

func (d DockerCLI) command() string {
	if d.Command == "" {
		return "docker"
	}
	return d.Command
}

// runJobScript starts the job's container attached and passes its exit
// code on; on failure it prints the end of the job's log and what to do. It
// reads names from the environment so the command line in Pulumi's error
// stays short. %s is the DockerCLI's command.
const runJobScript = `out=$(%s start --attach "$KIT_JOB_CONTAINER" 2>&1); code=$?; ` +
	`printf '%%s\n' "$out" | tail -n "$KIT_JOB_LOG_LINES"; ` +
	`[ "$code" -eq 0 ] && exit 0; ` +
	`echo "job $KIT_JOB failed: container $KIT_JOB_CONTAINER exited with code $code (above: the end of its log; all of it: docker logs $KIT_JOB_CONTAINER on the Docker host). ` +
	`Fix the cause, then run pulumi up again: the job runs again by itself."; exit "$code"`

// runJob registers the command that runs the job's container c through
// the docker CLI d (the local engine, or a remote one over SSH).
func runJob(ctx *pulumi.Context, job, container string, c *docker.Container, d DockerCLI, opts ...pulumi.ResourceOption) (*local.Command, error) {
	vars := pulumi.StringMap{
		"KIT_JOB":           pulumi.String(job),
		"KIT_JOB_CONTAINER": pulumi.String(container),
		"KIT_JOB_LOG_LINES": pulumi.String(fmt.Sprint(jobLogLines)),
	}
	for k, v := range maps.All(d.Env) {
		vars[k] = v
	}
	cmd, err := local.NewCommand(ctx, job+"-run", &local.CommandArgs{
		Create:      pulumi.String(fmt.Sprintf(runJobScript, d.command())),
		Interpreter: pulumi.ToStringArray([]string{"/bin/sh", "-c"}),
		Environment: vars,
		// A new container (changed inputs) is a new run.
		Triggers: pulumi.Array{c.ID()},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{c}))...)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", job, err)
	}
	return cmd, nil
}

// lastLine is the job's status output: the last line it printed.
func lastLine(out string) string {
	out = strings.TrimRight(out, "\n")
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if out == "" {
		return "completed (exit 0)"
	}
	return out
}
