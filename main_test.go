package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/infratest"
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
	img, ok := m.Find(infratest.TypeImage, "image-worker")
	if !ok {
		t.Fatal("the dev stack does not build the worker image")
	}
	if got := img.Inputs["build"].ObjectValue()["dockerfile"].StringValue(); got != infra.WorkerDockerfile {
		t.Errorf("worker Dockerfile = %q, want %q", got, infra.WorkerDockerfile)
	}
	if n := len(m.Of(infratest.TypeContainer)); n != 8 {
		t.Errorf("dev stack registered %d containers, want 8 (PostgreSQL password job, postgresql, schema job, temporal, namespace job, ui, admin tools, worker)", n)
	}
}

func TestProdStackFileSaysHetznerIsNotImplemented(t *testing.T) {
	cfg := stackConfig(t, "prod")
	cfg["adminCidrs"] = `["203.0.113.7/32"]` // required for target hetzner; the operator's own
	cfg["sshPrivateKey"] = "set as a secret outside the file"
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg, "sshPrivateKey")
	err := infratest.Run("prod", m, infra.Program)
	if !errors.Is(err, infra.ErrHetznerNotImplemented) {
		t.Fatalf("prod stack: err = %v, want ErrHetznerNotImplemented", err)
	}
}
