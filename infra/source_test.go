package infra

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

func TestConfigSourceHidesSecretValues(t *testing.T) {
	cfg := map[string]string{"postgresPassword": "hunter2-value", "serpApiKey": "", "logLevel": "debug", "hostPorts": `{"ui":8088}`}
	got := map[string]string{}
	present := map[string]bool{}
	infratest.SetConfig(t, cfg, "postgresPassword", "serpApiKey")
	err := infratest.Run("dev", infratest.NewMocks(), func(ctx *pulumi.Context) error {
		src := newConfigSource(ctx)
		for _, k := range []string{"postgresPassword", "serpApiKey", "logLevel", "hostPorts", "namespace"} {
			got[k], present[k] = src.Get(k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"postgresPassword": "xxxxxxxxxxxxx", "serpApiKey": "", "logLevel": "debug", "hostPorts": `{"ui":8088}`, "namespace": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Get(%q) = %q, want %q", k, got[k], v)
		}
	}
	wantPresent := map[string]bool{"postgresPassword": true, "serpApiKey": true, "logLevel": true, "hostPorts": true, "namespace": false}
	for k, v := range wantPresent {
		if present[k] != v {
			t.Errorf("Get(%q) present = %v, want %v", k, present[k], v)
		}
	}
}

// Every config key the Definition reads a secret from must be handled as one here.
func TestSecretKeysCoverTheDefinition(t *testing.T) {
	c, err := stacks.LoadConfig("dev", stacks.MapSource{"postgresHost": "db", "postgresPassword": "x", "serpApiKey": "y",
		"domain": "kit.example.com", "acmeEmail": "ops@example.com", "proxyPassword": "z"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := stacks.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range def.Secrets {
		if s.ConfigKey == "" {
			continue
		}
		n++
		if !isSecretKey(s.ConfigKey) {
			t.Errorf("secret %s comes from config key %s, which infra does not treat as secret", s.Name, s.ConfigKey)
		}
	}
	if n == 0 {
		t.Error("no secret read from config; the test checks nothing")
	}
}

// The kit's keys come from PULUMI_CONFIG, as the CLI sets it; other
// namespaces belong to their providers.
func TestConfigSourceListsTheKitsKeys(t *testing.T) {
	infratest.SetConfig(t, map[string]string{"logLevel": "debug", "historyShard": "4", "hostPorts": `{"ui":8088}`,
		"docker:host": "unix:///var/run/docker.sock", "hcloud:token": "t"})
	var keys []string
	err := infratest.Run("dev", infratest.NewMocks(), func(ctx *pulumi.Context) error {
		keys = newConfigSource(ctx).Keys()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{"historyShard", "hostPorts", "logLevel"}; !slices.Equal(keys, want) {
		t.Errorf("Keys() = %v, want %v", keys, want)
	}
}

// A PULUMI_CONFIG the context did not get its config from (an inline
// program) names no keys the program cannot see.
func TestConfigSourceListsOnlyKeysTheContextHas(t *testing.T) {
	infratest.SetConfig(t, map[string]string{"historyShard": "4", "logLevel": "debug"})
	var keys []string
	err := infratest.Run("dev", infratest.NewMocks(), func(ctx *pulumi.Context) error {
		keys = newConfigSource(ctx).Keys()
		return nil
	}, func(info *pulumi.RunInfo) { info.Config = map[string]string{stacks.Namespace + ":logLevel": "debug"} })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"logLevel"}; !slices.Equal(keys, want) {
		t.Errorf("Keys() = %v, want %v", keys, want)
	}
}
