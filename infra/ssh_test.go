package infra_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
)

func newKey(t *testing.T, passphrase string) (private, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p)))
}

func sshConfig(t *testing.T, port string) (cfg map[string]string, private, hostKey string) {
	t.Helper()
	private, _ = newKey(t, "")
	_, hostKey = newKey(t, "")
	t.Setenv(sshdeploy.DirEnv, t.TempDir())
	cfg = map[string]string{"target": "ssh", "sshHost": "203.0.113.10", "sshHostKey": hostKey, "sshPrivateKey": private}
	if port != "" {
		cfg["sshPort"] = port
	}
	return cfg, private, hostKey
}

// Target ssh: one explicit docker provider over ssh:// with the pinned host
// key; every docker resource uses it and waits for the server; jobs start
// over the same ssh; the key never shows in a resource's inputs.
func TestSSHTargetDeploysThroughThePinnedHost(t *testing.T) {
	cfg, private, hostKey := sshConfig(t, "")
	r := deploy(t, "vps", cfg, []string{"sshPrivateKey"}, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	provs := r.m.Of(infratest.TypeDockerProvider)
	prov, ok := provs[infra.SSHResource]
	if len(provs) != 1 || !ok {
		t.Fatalf("docker providers %v, want one named %s", provs, infra.SSHResource)
	}
	if got := prov.Inputs["host"].StringValue(); got != "ssh://deploy@203.0.113.10:22" {
		t.Errorf("provider host %q", got)
	}
	var opts []string
	for _, v := range prov.Inputs["sshOpts"].ArrayValue() {
		opts = append(opts, v.StringValue())
	}
	joined := strings.Join(opts, " ")
	files, err := sshdeploy.StackFiles("temporal-kit", "vps")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-i " + files.Key, "UserKnownHostsFile=" + files.KnownHosts, "StrictHostKeyChecking=yes", "IdentitiesOnly=yes", "BatchMode=yes", "GlobalKnownHostsFile=/dev/null", "ConnectTimeout="} {
		if !strings.Contains(joined, want) {
			t.Errorf("sshOpts %v lack %q", opts, want)
		}
	}
	ready, ok := r.m.Find(infratest.TypeCommand, infra.SSHResource+"-ready")
	if !ok {
		t.Fatal("no wait for the server")
	}
	if !strings.Contains(ready.Inputs["environment"].ObjectValue()["KIT_SSH_WAIT_SCRIPT"].StringValue(), "cloud-init status --wait") {
		t.Error("the wait does not wait for cloud-init")
	}
	for _, res := range r.m.Resources() {
		inputs := fmt.Sprint(res.Inputs.Mappable())
		for _, m := range regexp.MustCompile(`StrictHostKeyChecking=(\w+)`).FindAllStringSubmatch(inputs, -1) {
			if m[1] != "yes" {
				t.Errorf("%s sets %s: host key checking must stay strict", res.Key(), m[0])
			}
		}
		if strings.Contains(inputs, strings.Split(private, "\n")[1]) {
			t.Errorf("%s holds the private key in its inputs", res.Key())
		}
		if !strings.HasPrefix(res.Type, "docker:") {
			continue
		}
		if !strings.Contains(res.Provider, infra.SSHResource) {
			t.Errorf("%s is deployed by provider %q, not the ssh one", res.Key(), res.Provider)
		}
		if !slices.Contains(res.Deps, ready.URN) {
			t.Errorf("%s does not wait for the server (deps %v)", res.Key(), res.Deps)
		}
	}
	runs := 0
	for name, c := range r.m.Of(infratest.TypeCommand) {
		if !strings.HasSuffix(name, infratest.JobRunSuffix) {
			continue
		}
		runs++
		script := c.Inputs["create"].StringValue()
		if !strings.Contains(script, `ssh -i "$KIT_SSH_KEY"`) || !strings.Contains(script, `"$KIT_SSH_DEST" docker start --attach "$KIT_JOB_CONTAINER"`) {
			t.Errorf("job %s does not start over ssh:\n%s", name, script)
		}
		if env := c.Inputs["environment"].ObjectValue(); env["KIT_SSH_DEST"].StringValue() != "deploy@203.0.113.10" {
			t.Errorf("job %s: KIT_SSH_DEST %v", name, env["KIT_SSH_DEST"])
		}
	}
	if runs == 0 {
		t.Error("no job runs")
	}

	// The files: the key as given, known_hosts with the pinned key only.
	st, err := os.Stat(files.Dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v, want a 0700 directory", files.Dir, st, err)
	}
	if b, err := os.ReadFile(files.Key); err != nil || string(b) != private {
		t.Errorf("%s = %q (%v), want the key as given", filepath.Base(files.Key), b, err)
	}
	requireTrusts(t, files.KnownHosts, "203.0.113.10:22", hostKey)
	for _, path := range []string{files.Key, files.KnownHosts} {
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", path, st.Mode())
		}
	}
	if r.out == nil || r.out.SSHTunnel == nil {
		t.Error("no sshTunnel output")
	}
	// The tunnel an operator opens trusts what the deploy trusts: the pinned
	// key in the stack's known_hosts and nothing else.
	for _, want := range append([]string{"-i " + files.Key, "-o UserKnownHostsFile=" + files.KnownHosts}, sshdeploy.Options()...) {
		if !strings.Contains(r.tunnel, want) {
			t.Errorf("sshTunnel %q lacks %q", r.tunnel, want)
		}
	}
}

func TestSSHTargetOtherPort(t *testing.T) {
	cfg, _, hostKey := sshConfig(t, "2222")
	r := deploy(t, "vps", cfg, []string{"sshPrivateKey"}, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	prov, _ := r.m.Find(infratest.TypeDockerProvider, infra.SSHResource)
	if got := prov.Inputs["host"].StringValue(); got != "ssh://deploy@203.0.113.10:2222" {
		t.Errorf("provider host %q", got)
	}
	files, _ := sshdeploy.StackFiles("temporal-kit", "vps")
	requireTrusts(t, files.KnownHosts, "203.0.113.10:2222", hostKey)
}

// A passphrase-protected or malformed key stops the deploy before any
// resource, naming the key and the fix.
func TestSSHTargetRefusesUnusableKeys(t *testing.T) {
	locked, _ := newKey(t, "a passphrase")
	for name, key := range map[string]string{"passphrase": locked, "garbage": "not a key"} {
		t.Run(name, func(t *testing.T) {
			cfg, _, _ := sshConfig(t, "")
			cfg["sshPrivateKey"] = key
			r := deploy(t, "vps", cfg, []string{"sshPrivateKey"}, nil, "")
			if r.err == nil {
				t.Fatal("deployed")
			}
			for _, want := range []string{"temporal-kit:sshPrivateKey", "pulumi config set --secret temporal-kit:sshPrivateKey"} {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, r.err)
				}
			}
			if name == "passphrase" && !strings.Contains(r.err.Error(), "ssh-keygen -t ed25519 -N ''") {
				t.Errorf("error does not say how to make a deploy key: %v", r.err)
			}
			if n := len(r.m.Resources()); n != 0 {
				t.Errorf("%d resources registered", n)
			}
		})
	}
}
