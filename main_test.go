package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
	"github.com/ampledata/temporal-kit/stacks"
)

// stackConfig reads Pulumi.<stack>.yaml the way the CLI hands it to the
// program: keys without the project prefix, objects as JSON.
func stackConfig(t *testing.T, stack string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("Pulumi." + stack + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return configValues(t, "Pulumi."+stack+".yaml", raw)
}

// configValues reads the config section of a stack file's YAML.
func configValues(t *testing.T, file string, raw []byte) map[string]string {
	t.Helper()
	var f struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string]string{}
	for k, v := range f.Config {
		key, ok := strings.CutPrefix(k, stacks.Namespace+":")
		if !ok {
			t.Fatalf("%s: key %q is not in the %s namespace", file, k, stacks.Namespace)
		}
		if obj, isObj := v.(map[string]any); isObj && obj["secure"] != nil {
			t.Fatalf("%s holds an encrypted secret (%s); committed stack files hold none", file, k)
		}
		out[key] = configString(v)
	}
	return out
}

// configString is a config value as the CLI passes it: objects as JSON.
func configString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	default:
		return fmt.Sprint(v)
	}
}

func TestProjectFile(t *testing.T) {
	raw, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name    string `yaml:"name"`
		Runtime string `yaml:"runtime"`
		Backend struct {
			URL string `yaml:"url"`
		} `yaml:"backend"`
	}
	if err := yaml.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != stacks.Namespace || p.Runtime != "go" {
		t.Errorf("project %q runtime %q, want %q go (config keys are namespaced by the project name)", p.Name, p.Runtime, stacks.Namespace)
	}
	if !strings.HasPrefix(p.Backend.URL, "file://./.pulumi-state") {
		t.Errorf("backend %q is not the local state directory", p.Backend.URL)
	}
	ignore, err := os.ReadFile(".gitignore")
	if err != nil || !strings.Contains(string(ignore), ".pulumi-state/") {
		t.Error(".pulumi-state/ is not in .gitignore: the state would be committed")
	}
}

func TestDevStackFileDeploys(t *testing.T) {
	cfg := stackConfig(t, "dev")
	if cfg["target"] != "local" {
		t.Fatalf("Pulumi.dev.yaml target = %q, want local", cfg["target"])
	}
	// Exactly what `pulumi up` runs: infra.Program from the repository root,
	// which builds the worker from the real worker/Dockerfile.
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg)
	if err := infratest.Run("dev", m, infra.Program); err != nil {
		t.Fatal(err)
	}
	// The Dockerfiles as they sit in this repository, relative to the root
	// `pulumi up` runs from.
	for name, want := range map[string]string{"image-worker": "worker/Dockerfile", "image-backup": "backup/Dockerfile"} {
		img, ok := m.Find(infratest.TypeImage, name)
		if !ok {
			t.Errorf("the dev stack does not build %s", name)
			continue
		}
		if got := img.Inputs["build"].ObjectValue()["dockerfile"].StringValue(); got != want {
			t.Errorf("%s Dockerfile = %q, want %q", name, got, want)
		}
		if _, err := os.Stat(want); err != nil {
			t.Error(err)
		}
	}
	if n := len(m.Of(infratest.TypeContainer)); n != 22 {
		t.Errorf("dev stack registered %d containers, want 22 (the secrets jobs of postgresql, schema, temporal, worker, backup, grafana and postgres-exporter, postgresql, schema job, temporal, namespace job, ui, admin tools, worker, prometheus, alertmanager, node-exporter, postgres-exporter, docker-gate, container-exporter, grafana, backup)", n)
	}
}

// The committed prod stack file, with the three values an operator adds
// (docs/prod.md: token, deploy key, admin address), deploys under mocks: a
// Hetzner server and the Definition over SSH on it.
func TestProdStackFileDeploys(t *testing.T) {
	cfg := stackConfig(t, "prod")
	cfg["adminCidrs"] = `["203.0.113.7/32"]`
	cfg["sshPrivateKey"] = deployKeyForTest(t)
	cfg[hetzner.TokenKey] = strings.Repeat("x", 64)
	t.Setenv(sshdeploy.DirEnv, t.TempDir())
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg, "sshPrivateKey", hetzner.TokenKey)
	if err := infratest.Run("prod", m, infra.Program); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Find(infratest.TypeHcloudServer, hetzner.NameServer); !ok {
		t.Error("the prod stack provisions no server")
	}
	if n := len(m.Of(infratest.TypeContainer)); n != 22 {
		t.Errorf("prod stack registered %d containers, want 22 (with Grafana, the backup service docker-gate and the secrets jobs of the 7 services that read secrets)", n)
	}
}

// Without the operator's values the prod stack stops before any resource,
// naming each missing key and how to set it.
func TestProdStackFileNamesWhatIsMissing(t *testing.T) {
	cfg := stackConfig(t, "prod")
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg)
	err := infratest.Run("prod", m, infra.Program)
	if err == nil {
		t.Fatal("the prod stack deployed without a deploy key or admin address")
	}
	for _, want := range []string{"temporal-kit:adminCidrs:", "temporal-kit:sshPrivateKey:", "pulumi config set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
	if n := len(m.Resources()); n != 0 {
		t.Errorf("%d resources registered", n)
	}
}

func deployKeyForTest(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}
