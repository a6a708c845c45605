package sshdeploy

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LocalImageID returns the ID of ref in this machine's Docker engine (the
// docker CLI's, so DOCKER_HOST counts).
func LocalImageID(ref string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if strings.Contains(strings.ToLower(msg), "no such image") {
			return "", fmt.Errorf("image %s is not in this machine's Docker engine, and the local image catalog sends the remote host this machine's images: "+
				"build them with `go run ./infra/images/cmd/kit-images build`", ref)
		}
		return "", fmt.Errorf("docker image inspect %s: %v: %s", ref, err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}

// transferScript sends one local image to the remote engine unless it has
// it already (an image ID names its content), tags it there and checks the
// ID it got. The last line is the image ID, what containers run.
const transferScript = `set -u
if SSH_COMMAND docker image inspect --format '{{.Id}}' "$KIT_IMAGE_ID" >/dev/null 2>&1; then
  echo "$KIT_IMAGE_REF: the remote engine has $KIT_IMAGE_ID already"
else
  began=$(date +%s)
  docker save "$KIT_IMAGE_REF" | SSH_COMMAND docker load || { echo "image $KIT_IMAGE_REF: docker save | ssh $KIT_SSH_DEST docker load failed (above)"; exit 1; }
  echo "$KIT_IMAGE_REF: sent in $(( $(date +%s) - began )) s"
fi
SSH_COMMAND docker tag "$KIT_IMAGE_ID" "$KIT_IMAGE_REF" || exit 1
got=$(SSH_COMMAND docker image inspect --format '{{.Id}}' "$KIT_IMAGE_REF") || exit 1
if [ "$got" != "$KIT_IMAGE_ID" ]; then
  echo "image $KIT_IMAGE_REF: the remote engine has $got, not $KIT_IMAGE_ID (did the local tag move during the deploy? run pulumi up again)"
  exit 1
fi
echo "$KIT_IMAGE_ID"`

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Transfer registers, per distinct image reference, a command that sends
// this machine's image to the host (`docker save | ssh docker load`) and
// returns, per reference, the image ID for containers to run. A command
// runs again when the local image ID changes (a rebuilt worker: only its
// transfer and its container are replaced) or the host does.
func (t *Target) Transfer(ctx *pulumi.Context, refs []string) (map[string]pulumi.StringInput, error) {
	out := map[string]pulumi.StringInput{}
	used := map[string]string{}
	for _, ref := range refs {
		if _, done := out[ref]; done {
			continue
		}
		id, err := LocalImageID(ref)
		if err != nil {
			return nil, err
		}
		name := "transfer-" + strings.Trim(nonName.ReplaceAllString(strings.ToLower(ref), "-"), "-")
		if other, clash := used[name]; clash {
			return nil, fmt.Errorf("images %s and %s map to one resource name %s", other, ref, name)
		}
		used[name] = ref
		env := pulumi.StringMap{
			"KIT_IMAGE_REF": pulumi.String(ref),
			"KIT_IMAGE_ID":  pulumi.String(id),
			// In the environment: a failure's message then shows the output, not the script.
			"KIT_TRANSFER_SCRIPT": pulumi.String(strings.ReplaceAll(transferScript, "SSH_COMMAND", t.SSH)),
		}
		for k, v := range t.Docker.Env {
			env[k] = v
		}
		cmd, err := local.NewCommand(ctx, name, &local.CommandArgs{
			Create:      pulumi.String(`eval "$KIT_TRANSFER_SCRIPT"`),
			Interpreter: pulumi.ToStringArray([]string{"/bin/sh", "-c"}),
			Environment: env,
			Triggers:    pulumi.Array{pulumi.String(id), t.Dest, pulumi.Int(t.Port)},
		}, pulumi.DependsOn([]pulumi.Resource{t.Ready}))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		out[ref] = cmd.Stdout.ApplyT(lastLine).(pulumi.StringOutput)
	}
	return out, nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
