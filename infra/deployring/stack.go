package deployring

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// NewStack creates the stack name of the repository's program (the nearest
// folder up from the test's own that holds Pulumi.yaml) in a state backend
// of its own: a directory of t's, a random passphrase, env on top. The
// caller removes the stack.
func NewStack(t testing.TB, ctx context.Context, name string, env ...string) *CLI {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "Pulumi.yaml")); err == nil {
			break
		}
		if parent := filepath.Dir(root); parent != root {
			root = parent
			continue
		}
		t.Fatal("no Pulumi.yaml above the test's folder")
	}
	state := t.TempDir()
	c := &CLI{
		Dir:        root,
		Stack:      name,
		ConfigFile: filepath.Join(state, "Pulumi."+name+".yaml"),
		Env: append([]string{
			"PULUMI_BACKEND_URL=file://" + state,
			"PULUMI_CONFIG_PASSPHRASE=" + rand.Text(),
			"PULUMI_SKIP_UPDATE_CHECK=true",
		}, env...),
		Logf: t.Logf,
	}
	if _, err := c.Run(ctx, "stack", "init"); err != nil {
		t.Fatal(err)
	}
	return c
}

// FreePort is a TCP port free on 127.0.0.1 at the time of asking.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
