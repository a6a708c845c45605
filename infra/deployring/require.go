package deployring

import (
	"os"
	"os/exec"
	"testing"
)

// RequirePulumi finds the pulumi CLI for a test that drives it (what names
// the test in a skip message). Without it the test skips loudly, except
// under CI, which builds the CLI, or when .ci/run found no toolchain recipe
// and said why in KIT_DEPLOY_RING_SKIP.
func RequirePulumi(t testing.TB, what string) {
	t.Helper()
	if _, err := exec.LookPath("pulumi"); err == nil {
		return
	}
	if why := os.Getenv("KIT_DEPLOY_RING_SKIP"); why != "" {
		t.Skip(what + " SKIPPED: " + why)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the pulumi CLI is not on PATH under CI; .ci/run builds it with shared/pulumi-offline/build.sh")
	}
	t.Skip("PULUMI CLI NOT AVAILABLE: skipping " + what + ". Install the Pulumi CLI, or build it offline: " +
		"eval \"$(bash ../shared/pulumi-offline/build.sh --print-env)\"")
}
