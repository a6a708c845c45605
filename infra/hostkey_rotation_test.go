package infra_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
)

// The user-data (served by the metadata service for the server's life)
// holds a bootstrap host key only: the deploy trusts it for the wait and to
// install the rotated key, sent over SSH, and pins the rotated key alone
// for everything else. Two runs register the same inputs: a second up
// does not rotate again.
func TestHetznerTargetRotatesTheHostKeyFromTheUserData(t *testing.T) {
	cfg, secret, _ := prodConfig(t)
	r := deploy(t, "prod", cfg, secret, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	boot, rotated := generatedHostKeys(t)
	if boot.Public == rotated.Public {
		t.Fatal("the bootstrap and rotated keys are one key")
	}

	server, _ := r.m.Find(infratest.TypeHcloudServer, hetzner.NameServer)
	userData := server.Inputs["userData"].SecretValue().Element.StringValue()
	if !strings.Contains(userData, "ed25519_public: "+boot.Public) {
		t.Error("the user-data does not install the bootstrap key")
	}
	for what, s := range map[string]string{"public": rotated.Public, "private": privateLine(rotated)} {
		if strings.Contains(userData, s) {
			t.Errorf("the user-data holds the rotated key's %s half", what)
		}
	}

	files, err := sshdeploy.StackFiles("temporal-kit", "prod")
	if err != nil {
		t.Fatal(err)
	}
	requireTrusts(t, files.KnownHosts, infratest.MockIPv4+":22", rotated.Public)
	requireTrusts(t, files.BootstrapKnownHosts, infratest.MockIPv4+":22", boot.Public, rotated.Public)

	ready, _ := r.m.Find(infratest.TypeCommand, infra.SSHResource+"-ready")
	rot, ok := r.m.Find(infratest.TypeCommand, infra.SSHResource+sshdeploy.RotateSuffix)
	if !ok {
		t.Fatal("no command installs the rotated host key")
	}
	if got := envOf(t, ready)["KIT_SSH_KNOWN_HOSTS"]; got != files.BootstrapKnownHosts {
		t.Errorf("the wait pins %q, want the bootstrap known_hosts", got)
	}
	env := envOf(t, rot)
	for k, want := range map[string]string{
		"KIT_SSH_KNOWN_HOSTS": files.BootstrapKnownHosts, "KIT_SSH_FINAL_KNOWN_HOSTS": files.KnownHosts,
		"KIT_HOST_KEY_PUBLIC": rotated.Public, "KIT_HOST_KEY_BOOTSTRAP": boot.Public,
	} {
		if env[k] != want {
			t.Errorf("host key command: %s = %q, want %q", k, env[k], want)
		}
	}
	stdin := rot.Inputs["stdin"]
	if !stdin.IsSecret() || stdin.SecretValue().Element.StringValue() != rotated.Private {
		t.Error("the host key command does not get the rotated private key, secret, on stdin")
	}
	if !slices.Contains(rot.Deps, ready.URN) {
		t.Errorf("the host key is installed before the wait: deps %v", rot.Deps)
	}
	prov, _ := r.m.Find(infratest.TypeDockerProvider, infra.SSHResource)
	if !slices.Contains(prov.Deps, rot.URN) {
		t.Errorf("the docker provider connects before the host key is installed: deps %v", prov.Deps)
	}
	for name, c := range r.m.Of(infratest.TypeContainer) {
		if !slices.Contains(c.Deps, rot.URN) {
			t.Errorf("container %s does not wait for the host key", name)
		}
	}

	// A second run: the same inputs (a second up plans nothing here).
	again := deploy(t, "prod", cfg, secret, nil, "")
	if again.err != nil {
		t.Fatal(again.err)
	}
	for _, typ := range []string{infratest.TypeCommand, infratest.TypeHcloudServer} {
		for name, a := range r.m.Of(typ) {
			b := again.m.Of(typ)[name]
			if !resource.NewObjectProperty(a.Inputs).DeepEquals(resource.NewObjectProperty(b.Inputs)) {
				t.Errorf("%s %s: inputs differ between two runs", typ, name)
			}
		}
	}
}

func envOf(t *testing.T, r infratest.Resource) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range r.Inputs["environment"].ObjectValue() {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if v.IsString() {
			out[string(k)] = v.StringValue()
		}
	}
	return out
}
