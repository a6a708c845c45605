package hetzner_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/infra/deployring"
	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
)

// fakeAPI answers every request as the Hetzner Cloud API answers a bad
// token, and records what it was asked: the provider never leaves loopback.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"unable to authenticate","details":null}}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.requests)
	slices.Sort(out)
	return out
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func requirePulumiWithHcloud(t *testing.T) {
	t.Helper()
	deployring.RequirePulumi(t, "the Hetzner preview")
	out, err := exec.Command("pulumi", "plugin", "ls").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hcloud") || !strings.Contains(string(out), "1.32.1") {
		t.Fatalf("the hcloud provider plugin 1.32.1 is not installed (shared/pulumi-offline/build.sh installs it): %v\n%s", err, out)
	}
}

// noStackTrace fails when the output holds a Go panic or goroutine dump.
func noStackTrace(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", ".go:0x", "[recovered]"} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows a stack trace (%q):\n%s", what, s, out)
		}
	}
}

// TestPreviewWithTheRealProvider previews hetzner.Provision (the test
// project in testdata/preview) with the real Pulumi CLI and hcloud provider
// plugin and a dummy token, the API endpoint on loopback: it shows what the
// prod stack plans, that a preview asks Hetzner nothing, and where `up`
// stops without Hetzner (the API refusing the token; no route), each with a
// one-line reason and no stack trace.
func TestPreviewWithTheRealProvider(t *testing.T) {
	requirePulumiWithHcloud(t)
	// The repository's own program, as `pulumi preview --stack prod` runs it;
	// the stack's config lives in a file of the test's, not Pulumi.prod.yaml.
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	state := t.TempDir()
	pass := make([]byte, 16)
	_, _ = rand.Read(pass)
	cli := &deployring.CLI{
		// A stack of its own (stack init reads Pulumi.<stack>.yaml beside
		// Pulumi.yaml, which an operator's prod salt may be in), configured
		// from a copy of the committed Pulumi.prod.yaml.
		Dir: dir, Stack: "prod-preview-" + hex.EncodeToString(pass[:4]), ConfigFile: filepath.Join(state, "Pulumi.prod.yaml"),
		Env: []string{
			"PULUMI_BACKEND_URL=file://" + state,
			"PULUMI_CONFIG_PASSPHRASE=" + hex.EncodeToString(pass),
			"PULUMI_SKIP_UPDATE_CHECK=true",
			hetzner.TokenEnv + "=", // only the stack config's token counts here
			sshdeploy.DirEnv + "=" + t.TempDir(),
		},
		Logf: t.Logf,
	}
	run := func(args ...string) deployring.Result {
		t.Helper()
		r, err := cli.Run(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// `stack init` writes the stack's encryption salt beside Pulumi.yaml (it
	// takes no --config-file): a file of this test's alone, gitignored.
	committed, err := os.ReadFile(filepath.Join(dir, "Pulumi.prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(committed), "\n") {
		if !strings.HasPrefix(line, "encryptionsalt:") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(cli.ConfigFile, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	run("stack", "init")
	api := newFakeAPI(t)
	for _, kv := range [][]string{
		{"temporal-kit:target", "hetzner"},
		{"hcloud:endpoint", api.URL + "/v1"},
		{"hcloud:pollInterval", "100ms"},
	} {
		run("config", "set", kv[0], kv[1])
	}
	run("config", "set", "--path", "temporal-kit:adminCidrs[0]", "203.0.113.7/32")
	deployKey := filepath.Join(t.TempDir(), "deploy_key")
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", deployKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	key, err := os.ReadFile(deployKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.RunInput(ctx, string(key), "config", "set", "--secret", "temporal-kit:sshPrivateKey"); err != nil {
		t.Fatal(err)
	}

	// Without a token: our check, before any resource.
	r, err := cli.Run(ctx, "preview")
	t.Logf("preview without hcloud:token (%s):\n%s%s", r.Took.Round(100*time.Millisecond), r.Stdout, r.Stderr)
	if err == nil || !strings.Contains(r.Stdout+r.Stderr, "hcloud:token: no Hetzner Cloud API token") {
		t.Errorf("preview without a token: want our hint, got err=%v", err)
	}
	noStackTrace(t, "preview without a token", r.Stdout+r.Stderr)

	run("config", "set", "--secret", hetzner.TokenKey, strings.Repeat("x", 64))

	// The plan: the human-readable one for the log, the JSON one checked.
	r = run("preview", "--diff")
	t.Logf("pulumi preview --diff (%s):\n%s", r.Took.Round(100*time.Millisecond), r.Stdout)
	plan, err := cli.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The Hetzner resources, then the deploy over SSH onto the server: the
	// generated host key, the provider, the wait for cloud-init, the stack's
	// containers and jobs.
	want := []string{"create data-volume", "create data-volume-attachment", "create firewall", "create primary-ipv4",
		"create primary-ipv6", "create server", "create ssh-key", "create ssh-host-key", "create ssh-docker",
		"create ssh-docker-ready", "create postgresql", "create temporal", "create temporal-schema-run", "create worker"}
	got := plan.Changes()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("the plan lacks %q: %v", w, got)
		}
	}
	t.Logf("FIGURE pulumi preview --stack prod plans %d resources", len(got))
	if strings.Contains(plan.Raw, "#cloud-config") {
		t.Error("the plan shows the user-data in plain text")
	}
	if strings.Contains(plan.Raw, strings.Split(string(key), "\n")[1]) {
		t.Error("the plan shows the deploy key in plain text")
	}
	for _, s := range plan.Steps {
		if s.Name() != hetzner.NameServer || s.NewState == nil {
			continue
		}
		in := s.NewState.Inputs
		if in["location"] != "fsn1" || in["datacenter"] != nil || in["userData"] != "[secret]" ||
			in["deleteProtection"] != true || in["rebuildProtection"] != true || in["backups"] != true {
			t.Errorf("server as planned: %v", in)
		}
	}
	if got := api.seen(); len(got) != 0 {
		t.Errorf("preview asked the API %v; it should plan without it", got)
	}

	// up: the first API calls are refused, nothing is created, the server is
	// not attempted.
	r, err = cli.Run(ctx, "up", "--yes", "--skip-preview")
	out := r.Stdout + r.Stderr
	t.Logf("pulumi up against an API that refuses the dummy token (%s):\n%s", r.Took.Round(100*time.Millisecond), out)
	if err == nil || !strings.Contains(out, "unable to authenticate") {
		t.Errorf("up with a dummy token: want Hetzner's \"unable to authenticate\", got err=%v", err)
	}
	noStackTrace(t, "up with a dummy token", out)
	asked := api.seen()
	t.Logf("requests the provider made: %v", asked)
	for _, req := range asked {
		if strings.Contains(req, "/servers") && strings.HasPrefix(req, "POST") {
			t.Errorf("the server was attempted although its dependencies failed: %v", asked)
		}
	}

	// up with no route: the endpoint is a closed loopback port.
	run("config", "set", "hcloud:endpoint", "http://127.0.0.1:"+strconv.Itoa(closedPort(t))+"/v1")
	r, err = cli.Run(ctx, "up", "--yes", "--skip-preview")
	out = r.Stdout + r.Stderr
	t.Logf("pulumi up with no route to the API (%s):\n%s", r.Took.Round(100*time.Millisecond), out)
	if err == nil || !strings.Contains(out, "connection refused") {
		t.Errorf("up without a route: want \"connection refused\", got err=%v", err)
	}
	noStackTrace(t, "up without a route", out)
	if o, err := cli.Outputs(ctx); err == nil && len(o) > 0 {
		t.Errorf("stack outputs after failed ups: %v", o)
	}
}
