package infra

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

func TestConfigSourceHidesSecretValues(t *testing.T) {
	cfg := map[string]string{"postgresPassword": "hunter2-value", "serpApiKey": "", "logLevel": "debug", "hostPorts": `{"ui":8088}`}
	got := map[string]string{}
	present := map[string]bool{}
	err := infratest.Run("dev", infratest.NewMocks(), func(ctx *pulumi.Context) error {
		src := newConfigSource(ctx)
		for _, k := range []string{"postgresPassword", "serpApiKey", "logLevel", "hostPorts", "namespace"} {
			got[k], present[k] = src.Get(k)
		}
		return nil
	}, infratest.Config(cfg, "postgresPassword", "serpApiKey"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"postgresPassword": secretPresent, "serpApiKey": "", "logLevel": "debug", "hostPorts": `{"ui":8088}`, "namespace": ""}
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
	c, err := stacks.LoadConfig("dev", stacks.MapSource{"postgresHost": "db", "postgresPassword": "x", "serpApiKey": "y"})
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
