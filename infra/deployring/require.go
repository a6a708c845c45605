package deployring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequirePulumi finds the pulumi CLI for a test that drives it (what names
// the test in a skip message): on PATH, else where Pulumi's installer puts
// it ($PULUMI_HOME/bin, ~/.pulumi/bin), which it then adds to PATH so every
// pulumi the test starts, and the Go language host beside it, is that one.
// Without it the test skips loudly, except under CI, which installs the CLI,
// or when .ci/run found no toolchain recipe and said why in
// KIT_DEPLOY_RING_SKIP.
func RequirePulumi(t testing.TB, what string) {
	t.Helper()
	if findPulumi() {
		// The CLI would otherwise ask the network for a newer version.
		if _, set := os.LookupEnv("PULUMI_SKIP_UPDATE_CHECK"); !set {
			_ = os.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
		}
		return
	}
	if why := os.Getenv("KIT_DEPLOY_RING_SKIP"); why != "" {
		t.Skip(what + " SKIPPED: " + why)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no pulumi CLI on PATH or in ~/.pulumi/bin under CI; .ci/run installs it with shared/pulumi-offline/build.sh")
	}
	t.Skip("PULUMI CLI NOT AVAILABLE: skipping " + what + ". Install the Pulumi CLI, or build it offline: " +
		"bash ../shared/pulumi-offline/build.sh, then link its bin/ into ~/.pulumi/bin as .ci/run does")
}

// findPulumi reports whether pulumi is on PATH, first putting the
// installer's directory in front of PATH when the CLI is only there.
func findPulumi() bool {
	if _, err := exec.LookPath("pulumi"); err == nil {
		return true
	}
	for _, dir := range installDirs() {
		if info, err := os.Stat(filepath.Join(dir, "pulumi")); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			_ = os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			return true
		}
	}
	return false
}

// installDirs are where Pulumi's installer puts the CLI.
func installDirs() []string {
	var dirs []string
	if home := os.Getenv("PULUMI_HOME"); home != "" {
		dirs = append(dirs, filepath.Join(home, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".pulumi", "bin"))
	}
	return dirs
}
