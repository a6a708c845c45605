package stacks

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
)

// everyFeature turns on every feature that brings a secret: an existing
// PostgreSQL's password aside (that one replaces the stack's own
// PostgreSQL), the SERP key, the proxy with a configured password,
// off-site backups, e-mail and Slack alerts, and Grafana (official images).
func everyFeature(t *testing.T) MapSource {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return MapSource{
		"postgresPassword": "[secret]",
		"serpApiKey":       "[secret]",
		"domain":           "kit.example.com", "acmeEmail": "ops@example.com", "proxyPassword": "[secret]",
		"backupOffsite":          `{"endpoint": "fsn1.your-objectstorage.com", "bucket": "kit-backups"}`,
		"backupOffsiteAccessKey": "[secret]", "backupOffsiteSecretKey": "[secret]",
		"backupAgeRecipients":  id.Recipient().String(),
		"alertEmail":           `{"to": "ops@example.com", "from": "kit@example.com", "smarthost": "smtp.example.com:587", "username": "kit"}`,
		"alertSmtpPassword":    "[secret]",
		"alertSlackWebhookUrl": "[secret]",
	}
}

// readableSecrets is, per service, the secrets in the volumes it mounts:
// those the jobs that write a volume (mount it read-write and upload
// secrets) put there. Derived from mounts and files alone, not from the
// Secrets field the Build sets.
func readableSecrets(d Definition) map[string][]string {
	written := map[string][]string{} // volume -> secrets written into it
	for _, s := range d.Services {
		var secrets []string
		for _, f := range s.Files {
			if f.Secret != "" {
				secrets = append(secrets, f.Secret)
			}
		}
		for _, m := range s.Mounts {
			if !m.ReadOnly && len(secrets) > 0 {
				written[m.Volume] = append(written[m.Volume], secrets...)
			}
		}
	}
	out := map[string][]string{}
	for _, s := range d.Services {
		var got []string
		for _, m := range s.Mounts {
			got = append(got, written[m.Volume]...)
		}
		slices.Sort(got)
		out[s.Name] = slices.Compact(got)
	}
	return out
}

// TestEachServiceGetsOnlyItsOwnSecrets: with every secret the kit knows,
// each service mounts exactly the secrets its config names, the proxy its
// password only, the worker no off-site key; no secrets volume is shared.
func TestEachServiceGetsOnlyItsOwnSecrets(t *testing.T) {
	d := mustBuild(t, everyFeature(t))
	want := map[string][]string{
		ServicePostgres:         {SecretMonitoringPassword, SecretPostgresPassword},
		ServicePostgresExporter: {SecretMonitoringPassword},
		ServiceSchema:           {SecretPostgresPassword},
		ServiceTemporal:         {SecretPostgresPassword},
		ServiceWorker:           {SecretPostgresPassword, SecretSerpAPIKey},
		ServiceBackup:           {SecretBackupOffsiteAccessKey, SecretBackupOffsiteSecretKey, SecretPostgresPassword},
		ServiceGrafana:          {SecretGrafanaAdminPassword},
		ServiceProxy:            {SecretProxyPassword},
		ServiceAlertmanager:     {SecretSlackWebhookURL, SecretSMTPPassword},
	}
	got := readableSecrets(d)
	for _, s := range d.Services {
		if strings.HasPrefix(s.Name, "secrets-") {
			continue // the jobs that write them
		}
		t.Logf("%-20s mounts secrets [%s]", s.Name, strings.Join(got[s.Name], " "))
		if !slices.Equal(got[s.Name], want[s.Name]) {
			t.Errorf("%s mounts secrets %v, want %v", s.Name, got[s.Name], want[s.Name])
		}
		if !slices.Equal(s.Secrets, want[s.Name]) {
			t.Errorf("%s declares secrets %v, want %v", s.Name, s.Secrets, want[s.Name])
		}
		if names := slices.Compact(slices.Sorted(maps.Values(s.SecretFileEnv()))); !slices.Equal(names, s.Secrets) {
			t.Errorf("%s: its env names secret files %v, it declares %v", s.Name, names, s.Secrets)
		}
	}
	for name := range want {
		if _, ok := d.Service(name); !ok {
			t.Errorf("no service %s: the config does not turn on every feature", name)
		}
	}
	// Every secret of the Definition reaches some service: none left out.
	var all []string
	for _, v := range want {
		all = append(all, v...)
	}
	for _, sec := range d.Secrets {
		if !slices.Contains(all, sec.Name) {
			t.Errorf("secret %s is read by no service", sec.Name)
		}
	}
	// Each secrets volume is mounted by its job and one service, read-only.
	mounted := map[string][]string{}
	for _, s := range d.Services {
		for _, m := range s.Mounts {
			if v, _ := d.Volume(m.Volume); strings.HasPrefix(v.Name, "secrets-") {
				mounted[m.Volume] = append(mounted[m.Volume], s.Name)
				if !m.ReadOnly && s.Name != "secrets-"+strings.TrimPrefix(m.Volume, "secrets-") {
					t.Errorf("%s mounts %s writable", s.Name, m.Volume)
				}
			}
		}
	}
	for v, by := range mounted {
		if len(by) != 2 {
			t.Errorf("volume %s is mounted by %v, want its job and its service", v, by)
		}
	}
}

// TestSecretFilesBelongToTheirReader: each job makes its files the reading
// user's (the image's user, or the service's numeric User), mode 0440.
func TestSecretFilesBelongToTheirReader(t *testing.T) {
	d := mustBuild(t, everyFeature(t))
	want := map[string]string{
		ServicePostgres: "0:0", ServicePostgresExporter: "65534:65534", ServiceSchema: "1000:1000",
		ServiceTemporal: "1000:1000", ServiceWorker: "10001:10001", ServiceBackup: "10002:10002",
		ServiceGrafana: "472:0", ServiceProxy: "0:0", ServiceAlertmanager: "65534:65534",
	}
	for svc, owner := range want {
		job, ok := d.Service(SecretsJob(svc))
		if !ok {
			t.Errorf("no secrets job for %s", svc)
			continue
		}
		if got := job.PlainEnv()["KIT_SECRETS_OWNER"]; got != owner {
			t.Errorf("%s writes files for %s, want %s", job.Name, got, owner)
		}
		if job.User != "root" || !strings.Contains(job.Command[2], `chmod 0440 "$tmp"`) || !strings.Contains(job.Command[2], `chown "$KIT_SECRETS_OWNER" "$tmp"`) {
			t.Errorf("%s: user %q, script:\n%s", job.Name, job.User, job.Command[2])
		}
	}
	for _, tc := range []struct {
		user string
		want Owner
		ok   bool
	}{
		{"", Owner{10001, 10001}, true},
		{"root", Owner{0, 0}, true},
		{"2000", Owner{2000, 2000}, true},
		{"2000:3000", Owner{2000, 3000}, true},
		{"2000:staff", Owner{}, false},
	} {
		got, ok := SecretOwner(Service{Name: ServiceWorker, User: tc.user})
		if got != tc.want || ok != tc.ok {
			t.Errorf("SecretOwner(User %q) = %v %v, want %v %v", tc.user, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := SecretOwner(Service{Name: "unknown"}); ok {
		t.Error("an unknown service's image user is known")
	}
}
