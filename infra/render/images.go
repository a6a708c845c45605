package render

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Pull registers one docker.RemoteImage per distinct reference and returns,
// per reference, the pulled image's ID for containers to run: a new pull of a
// moved tag then replaces the containers that use it.
func Pull(ctx *pulumi.Context, refs []string, opts ...pulumi.ResourceOption) (map[string]pulumi.StringInput, error) {
	out := map[string]pulumi.StringInput{}
	used := map[string]string{}
	for _, ref := range refs {
		if _, done := out[ref]; done {
			continue
		}
		name := imageResourceName(ref, used)
		img, err := docker.NewRemoteImage(ctx, name, &docker.RemoteImageArgs{
			Name: pulumi.String(ref),
			// Other stacks and tests on the host use the same images.
			KeepLocally: pulumi.Bool(true),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		out[ref] = img.ImageId
	}
	return out, nil
}

// Build describes an image built from a Dockerfile on the Docker host.
type Build struct {
	// Ref is the image name and tag to build.
	Ref string
	// Context and Dockerfile are paths as the Pulumi program sees them.
	Context    string
	Dockerfile string
}

// BuildImage registers a local build (never pushed) and returns its image ID,
// which changes with every rebuilt image, so containers follow the build.
func BuildImage(ctx *pulumi.Context, name string, b Build, opts ...pulumi.ResourceOption) (pulumi.StringInput, error) {
	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: pulumi.String(b.Ref),
		Build: docker.DockerBuildArgs{
			Context:    pulumi.String(b.Context),
			Dockerfile: pulumi.String(b.Dockerfile),
		},
		SkipPush: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", b.Ref, err)
	}
	// For an image that is not pushed, repoDigest is its local image ID.
	return img.RepoDigest, nil
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// imageResourceName names a pulled image's resource after its repository, so
// a new tag updates the same resource rather than adding one.
func imageResourceName(ref string, used map[string]string) string {
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	name := "image-" + strings.Trim(nonName.ReplaceAllString(strings.ToLower(repo), "-"), "-")
	if other, clash := used[name]; clash && other != ref {
		name += "-" + strings.Trim(nonName.ReplaceAllString(strings.ToLower(ref[len(repo):]), "-"), "-")
	}
	used[name] = ref
	return name
}
