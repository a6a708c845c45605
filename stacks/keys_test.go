package stacks

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestUnknownKeysAreReported(t *testing.T) {
	cases := []struct {
		key  string
		want string
	}{
		{"historyShard", "temporal-kit:historyShard: unknown key; did you mean historyShards?"},
		{"HistoryShards", "temporal-kit:HistoryShards: unknown key; did you mean historyShards?"},
		{"postgres_user", "temporal-kit:postgres_user: unknown key; did you mean postgresUser?"},
		{"memory", "temporal-kit:memory: unknown key; did you mean memoryMB?"},
		{"hostPorts.ui", "pulumi config set --path temporal-kit:hostPorts.ui <value>"},
		{"grafanaUrl", "pulumi config rm temporal-kit:grafanaUrl` (known keys: "},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			_, err := LoadConfig("dev", MapSource{tc.key: "4"})
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			if !strings.Contains(ce.Problems[0], tc.want) {
				t.Errorf("problem %q does not contain %q", ce.Problems[0], tc.want)
			}
		})
	}
}

func TestUnknownKeysAreReportedWithTheOtherProblems(t *testing.T) {
	_, err := LoadConfig("dev", MapSource{"historyShard": "4", "logLevl": "debug", "logLevel": "loud"})
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems at once, got %v", err)
	}
	for _, k := range []string{"temporal-kit:historyShard:", "temporal-kit:logLevl:", "temporal-kit:logLevel:"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("no problem names %s:\n%v", k, err)
		}
	}
}

// A Source that cannot list its keys (a plain Source) is not checked.
func TestPlainSourceIsNotCheckedForUnknownKeys(t *testing.T) {
	if _, err := LoadConfig("dev", plainSource{"historyShard": "4"}); err != nil {
		t.Fatalf("plain source: %v", err)
	}
}

type plainSource map[string]string

func (p plainSource) Get(k string) (string, bool) { v, ok := p[k]; return v, ok }

// The known keys are what the loader reads; it must read them all whatever
// the values, or a key read only under some condition would be called
// unknown in every other config.
func TestLoaderReadsEveryKeyWhateverTheValues(t *testing.T) {
	known := KnownKeys()
	if len(known) < 15 || !slices.Contains(known, "historyShards") || !slices.Contains(known, "serpApiKey") {
		t.Fatalf("KnownKeys() = %v: keys are missing", known)
	}
	configs := map[string]MapSource{
		"all valid": {"target": "hetzner", "imageCatalog": "local", "images": `{"worker":"w:1"}`, "postgresHost": "db", "postgresPort": "6432",
			"postgresUser": "kit", "postgresPassword": "x", "historyShards": "8", "namespace": "acme", "namespaceRetention": "30d",
			"logLevel": "debug", "bindAddress": "0.0.0.0", "publicPorts": `["ui"]`, "hostPorts": `{"ui":8088}`, "memoryMB": `{"worker":1024}`,
			"serpApiUrl": "http://serp.internal", "serpApiKey": "k", "workerEnv": `{"A":"b"}`},
		"all garbage": {},
	}
	for _, k := range known {
		configs["all garbage"][k] = "?"
	}
	for name, src := range configs {
		t.Run(name, func(t *testing.T) {
			l := newLoader(src)
			l.load("dev")
			if got := slices.Sorted(maps.Keys(l.read)); !slices.Equal(got, known) {
				t.Errorf("read %v, want %v", got, known)
			}
			l.rejectUnknown(src.Keys())
			if strings.Contains(strings.Join(l.problems, "\n"), "unknown key") {
				t.Errorf("a known key was called unknown: %v", l.problems)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"historyShard", "historyShards", 1}, {"kitten", "sitting", 3}, {"logLevl", "logLevel", 1}, {"ab", "ba", 2}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// The loader marks every secret key it reads as one, and only those.
func TestSecretKeysAreTheLoadersSecrets(t *testing.T) {
	want := []string{"alertSlackWebhookUrl", "alertSmtpPassword", "backupOffsiteAccessKey", "backupOffsiteSecretKey",
		"postgresPassword", "proxyPassword", "serpApiKey", "sshPrivateKey"}
	if got := SecretKeys(); !slices.Equal(got, want) {
		t.Errorf("SecretKeys() = %v, want %v", got, want)
	}
	for _, k := range SecretKeys() {
		if !slices.Contains(KnownKeys(), k) {
			t.Errorf("secret key %s is not a known key", k)
		}
	}
}
