package infra

import (
	"slices"
	"strings"
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

// everySecretKey turns on every feature that brings a secret read from
// config, each secret with a value of its own.
var everySecretKey = map[string]string{
	"postgresPassword": "value-of-postgresPassword", "serpApiKey": "value-of-serpApiKey",
	"domain": "kit.example.com", "acmeEmail": "ops@example.com", "proxyPassword": "value-of-proxyPassword",
	"backupOffsite":          `{"endpoint": "fsn1.your-objectstorage.com", "bucket": "kit-backups"}`,
	"backupOffsiteAccessKey": "value-of-backupOffsiteAccessKey", "backupOffsiteSecretKey": "value-of-backupOffsiteSecretKey",
	"backupAgeRecipients":  "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
	"alertEmail":           `{"to": "ops@example.com", "from": "kit@example.com", "smarthost": "smtp.example.com:587", "username": "kit"}`,
	"alertSmtpPassword":    "value-of-alertSmtpPassword",
	"alertSlackWebhookUrl": "value-of-alertSlackWebhookUrl",
	"target":               "ssh", "sshHost": "203.0.113.7", "sshHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
	"sshPrivateKey": "value-of-sshPrivateKey",
}

// Every config key the Definition (or the SSH target) reads a secret from,
// with every feature that brings one turned on, is handled as a secret
// here: its value never reaches LoadConfig, and one stored in plain text
// is reported.
func TestSecretKeysCoverTheDefinition(t *testing.T) {
	c, err := stacks.LoadConfig("prod", stacks.MapSource(everySecretKey))
	if err != nil {
		t.Fatal(err)
	}
	def, err := stacks.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"sshPrivateKey"} // the SSH target's, not a container's
	for _, s := range def.Secrets {
		if s.ConfigKey != "" {
			keys = append(keys, s.ConfigKey)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !isSecretKey(k) {
			t.Errorf("config key %s holds a secret, which infra does not treat as one", k)
		}
	}
	if want := stacks.SecretKeys(); !slices.Equal(keys, want) {
		t.Errorf("with every feature on, secrets come from %v; the loader reads %v as secrets: turn the missing feature on here", keys, want)
	}

	infratest.SetConfig(t, everySecretKey) // every one in plain text
	got := map[string]string{}
	var problems []string
	err = infratest.Run("prod", infratest.NewMocks(), func(ctx *pulumi.Context) error {
		src := newConfigSource(ctx)
		for _, k := range keys {
			got[k], _ = src.Get(k)
		}
		problems = plaintextSecrets(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if got[k] != secretShape(everySecretKey[k]) {
			t.Errorf("Get(%q) = %q: the value reaches LoadConfig", k, got[k])
		}
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, stacks.Namespace+":"+k+":") }) {
			t.Errorf("%s stored in plain text is not reported; problems: %v", k, problems)
		}
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
