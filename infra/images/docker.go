package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// The builder drives the docker CLI: it is what an operator would type,
// works against old engines (20.10 here), and shows familiar errors.

// ImageInfo is what the builder needs to know of a local image.
type ImageInfo struct {
	ID     string
	Labels map[string]string
}

// ErrNoDocker means no Docker engine answered.
var ErrNoDocker = errors.New("no Docker engine answers (start dockerd, or check DOCKER_HOST)")

// Inspect returns a local image's ID and labels; ok is false when the
// engine has no such image.
func Inspect(ctx context.Context, ref string) (info ImageInfo, ok bool, err error) {
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{json .Id}}\t{{json .Config.Labels}}", ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if strings.Contains(strings.ToLower(msg), "no such image") {
			return ImageInfo{}, false, nil
		}
		if strings.Contains(msg, "Cannot connect to the Docker daemon") || errors.Is(err, exec.ErrNotFound) {
			return ImageInfo{}, false, fmt.Errorf("%w: %s", ErrNoDocker, strings.TrimSpace(msg))
		}
		return ImageInfo{}, false, fmt.Errorf("docker image inspect %s: %v: %s", ref, err, strings.TrimSpace(msg))
	}
	id, labels, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if err := json.Unmarshal([]byte(id), &info.ID); err != nil {
		return ImageInfo{}, false, fmt.Errorf("docker image inspect %s: %w", ref, err)
	}
	if err := json.Unmarshal([]byte(labels), &info.Labels); err != nil {
		return ImageInfo{}, false, fmt.Errorf("docker image inspect %s: %w", ref, err)
	}
	return info, true, nil
}

// dockerEnv selects the classic builder unless the caller chose: there is
// no buildx plugin on Debian 12, and the recipes need nothing newer.
func dockerEnv() []string {
	if _, set := os.LookupEnv("DOCKER_BUILDKIT"); set {
		return nil
	}
	return []string{"DOCKER_BUILDKIT=0"}
}

// dockerBuild builds contextDir's Dockerfile as tag, labelled with the inputs hash.
func (b *Builder) dockerBuild(ctx context.Context, im Image, contextDir, inputs string) error {
	args := []string{"build", "--force-rm", "--label", InputsLabel + "=" + inputs, "-t", im.Tag}
	if b.Force {
		args = append(args, "--no-cache") // else apt-get upgrade would come from the layer cache
	}
	return b.run(ctx, im.Name, "docker build", command{dir: contextDir, env: dockerEnv(), name: "docker", args: append(args, ".")})
}

// pruneReplaced drops the kit's images that a rebuild untagged and no
// container uses, so they do not pile up; images of others are never
// touched (the label filter). Best effort: an image in use stays for later.
func (b *Builder) pruneReplaced(ctx context.Context) {
	_ = exec.CommandContext(ctx, "docker", "image", "prune", "-f", "--filter", "label="+InputsLabel).Run()
}
