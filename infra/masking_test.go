package infra_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

// TestEverySecretKeyIsMasked turns on every feature, on the Hetzner
// target, with a value of its own in every config key that holds a secret
// (the loader's, stacks.SecretKeys, and the Hetzner token), and checks
// that no value shows in plain in any resource's inputs (what Pulumi
// writes to the state) or in the stack outputs, and that each reaches the
// deploy as a secret. A secret key added to the loader fails it until it
// is given a value here, and then if that value is not masked.
func TestEverySecretKeyIsMasked(t *testing.T) {
	cfg, _, private := prodConfig(t)
	maps.Copy(cfg, map[string]string{
		"domain": "temporal.example.com", "acmeEmail": "ops@example.com",
		"backupOffsite":       `{"endpoint": "fsn1.your-objectstorage.com", "bucket": "kit-backups"}`,
		"backupAgeRecipients": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"alertEmail":          `{"to": "ops@example.com", "from": "kit@example.com", "smarthost": "smtp.example.com:587", "username": "kit"}`,
	})
	values := map[string]string{
		"postgresPassword":       "pg-secret-Qz71",
		"serpApiKey":             "serp-secret-Lk29",
		"proxyPassword":          "proxy-secret-Hw53",
		"backupOffsiteAccessKey": "s3-access-secret-Tn48",
		"backupOffsiteSecretKey": "s3-secret-secret-Rb06",
		"alertSmtpPassword":      "smtp-secret-Jd84",
		"alertSlackWebhookUrl":   "https://hooks.slack.example/T0/B0/slack-secret-Vb8",
		"sshPrivateKey":          private,
		hetzner.TokenKey:         cfg[hetzner.TokenKey],
	}
	for _, k := range append(stacks.SecretKeys(), hetzner.TokenKey) {
		if values[k] == "" {
			t.Fatalf("secret key %s has no value here; give it one (and turn on its feature) so its masking is checked", k)
		}
	}
	maps.Copy(cfg, values)
	r := deploy(t, "prod", cfg, slices.Collect(maps.Keys(values)), nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}

	masked := map[string]bool{}
	for _, res := range r.m.Resources() {
		plain, secret := infratest.Strings(resource.NewProperty(res.Inputs))
		for k, v := range values {
			for _, p := range plain {
				if strings.Contains(p, v) {
					t.Errorf("%s: the value of %s is in a plain input", res.Key(), k)
				}
			}
			if slices.ContainsFunc(secret, func(s string) bool { return strings.Contains(s, v) }) {
				masked[k] = true
			}
		}
	}
	o := r.out
	text := strings.Join(append([]string{o.TemporalAddress, o.UIURL, o.WorkerAPIURL, o.Postgres, o.Namespace, o.HowToReach, r.tunnel}, r.containers...), "\n")
	for k, v := range values {
		if strings.Contains(text, v) {
			t.Errorf("the value of %s is in the stack outputs", k)
		}
	}
	for k := range values {
		if _, elsewhere := readOutsideResources[k]; !masked[k] && !elsewhere {
			t.Errorf("the value of %s reaches no resource as a secret: is its feature on?", k)
		}
	}

	// Each stored in plain text, the deploy stops naming every one (the
	// token is checked once the kit's own config is valid).
	r = deploy(t, "prod", cfg, nil, nil, "")
	for _, k := range stacks.SecretKeys() {
		if r.err == nil || !strings.Contains(r.err.Error(), k+": is stored in plain text") {
			t.Errorf("%s stored in plain text is not refused: %v", k, r.err)
		}
	}
	r = deploy(t, "prod", cfg, stacks.SecretKeys(), nil, "")
	if r.err == nil || !strings.Contains(r.err.Error(), hetzner.TokenKey+": is stored in plain text") {
		t.Errorf("%s stored in plain text is not refused: %v", hetzner.TokenKey, r.err)
	}
}

// readOutsideResources are the secret keys no resource holds, and who reads them.
var readOutsideResources = map[string]string{
	"sshPrivateKey":  "the deploy's SSH connection to the host",
	hetzner.TokenKey: "the hcloud provider, from the stack config",
}
