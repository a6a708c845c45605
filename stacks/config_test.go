package stacks

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig("dev", MapSource{})
	if err != nil {
		t.Fatalf("empty config must load with defaults: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"target", c.Target, TargetLocal},
		{"catalog", c.Catalog, CatalogOfficial},
		{"server image", c.Images.TemporalServer, "temporalio/server:1.32.0"},
		{"shards", c.HistoryShards, 4},
		{"namespace", c.Namespace, "ampledata"},
		{"retention", c.NamespaceRetention, 72 * time.Hour},
		{"bind", c.BindAddress, "127.0.0.1"},
		{"temporal port", c.HostPorts.Temporal, 7233},
		{"ui port", c.HostPorts.UI, 8080},
		{"postgres published", c.HostPorts.Postgres, 0},
		{"postgres managed", c.Postgres.Existing, false},
		{"postgres user", c.Postgres.User, "temporal"},
		{"temporal memory", c.MemoryMB[ServiceTemporal], 1024},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	c, err := LoadConfig("prod", MapSource{
		"target":             "hetzner",
		"sshPrivateKey":      "[secret]",
		"imageCatalog":       "local",
		"images":             `{"temporalUI":"registry.example.com:5000/mirror/ui:2.42.1"}`,
		"historyShards":      "512",
		"namespaceRetention": "30d",
		"postgresHost":       "db.internal",
		"postgresPassword":   "s3cret",
		"hostPorts":          `{"temporal":17233,"ui":0}`,
		"memoryMB":           `{"temporal":2048}`,
		"adminCidrs":         `["203.0.113.7/32"]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Images.TemporalUI != "registry.example.com:5000/mirror/ui:2.42.1" || c.Images.TemporalServer != Catalogs[CatalogLocal].TemporalServer {
		t.Errorf("image override not applied on the local catalog: %+v", c.Images)
	}
	if c.HistoryShards != 512 || c.NamespaceRetention != 30*24*time.Hour {
		t.Errorf("shards/retention: %d %s", c.HistoryShards, c.NamespaceRetention)
	}
	if !c.Postgres.Existing || !c.Postgres.PasswordSet || c.Postgres.Host != "db.internal" {
		t.Errorf("existing postgres not read: %+v", c.Postgres)
	}
	if c.HostPorts.Temporal != 17233 || c.HostPorts.UI != 0 || c.MemoryMB[ServiceTemporal] != 2048 || c.MemoryMB[ServicePostgres] != 768 {
		t.Errorf("ports/memory: %+v %v", c.HostPorts, c.MemoryMB)
	}
}

// Every validation error names its key and says how to fix it.
func TestLoadConfigErrors(t *testing.T) {
	cases := []problemCase{
		{"unknown target", MapSource{"target": "aws"}, "temporal-kit:target", `use "local"`},
		{"unknown catalog", MapSource{"imageCatalog": "mine"}, "temporal-kit:imageCatalog", "kit-images build"},
		{"malformed image", MapSource{"images": `{"temporalServer":"Temporal/Server"}`}, "temporal-kit:images", "name:tag"},
		{"untagged image", MapSource{"images": `{"postgresql":"postgres"}`}, "temporal-kit:images", "name:tag"},
		{"unknown image key", MapSource{"images": `{"grafanna":"x:1"}`}, "temporal-kit:images", "YAML map"},
		{"shards not power of two", MapSource{"historyShards": "6"}, "temporal-kit:historyShards", "power of two"},
		{"shards zero", MapSource{"historyShards": "0"}, "temporal-kit:historyShards", "power of two"},
		{"shards not a number", MapSource{"historyShards": "four"}, "temporal-kit:historyShards", "whole number"},
		{"retention not a duration", MapSource{"namespaceRetention": "three days"}, "temporal-kit:namespaceRetention", "72h or 30d"},
		{"retention too short", MapSource{"namespaceRetention": "2h"}, "temporal-kit:namespaceRetention", "at least 24h"},
		{"bad namespace", MapSource{"namespace": "a b"}, "temporal-kit:namespace", "letters, digits"},
		{"existing postgres without password", MapSource{"postgresHost": "db"}, "temporal-kit:postgresPassword", "--secret"},
		{"existing postgres empty host", MapSource{"postgresHost": "", "postgresPassword": "x"}, "temporal-kit:postgresHost", "remove the key"},
		{"postgres port out of range", MapSource{"postgresPort": "70000"}, "temporal-kit:postgresPort", "1-65535"},
		{"port clash", MapSource{"hostPorts": `{"temporal":8080,"ui":8080}`}, "temporal-kit:hostPorts", "another port"},
		{"host port out of range", MapSource{"hostPorts": `{"ui":-1}`}, "temporal-kit:hostPorts", "1-65535"},
		{"bind not an IP", MapSource{"bindAddress": "localhost"}, "temporal-kit:bindAddress", "127.0.0.1"},
		{"bad log level", MapSource{"logLevel": "loud"}, "temporal-kit:logLevel", "debug, info"},
		{"memory unknown service", MapSource{"memoryMB": `{"tempral":512}`}, "temporal-kit:memoryMB", "known services"},
		{"secret in workerEnv", MapSource{"workerEnv": `{"SERP_API_KEY":"k"}`}, "temporal-kit:workerEnv", "--secret"},
		{"job limit in workerEnv", MapSource{"workerEnv": `{"JOB_MAX_ROWS":"5"}`}, "temporal-kit:workerEnv", "temporal-kit:jobMaxRows"},
		{"job rows zero", MapSource{"jobMaxRows": "0"}, "temporal-kit:jobMaxRows", "use 1 to 10000000"},
		{"job bytes too big", MapSource{"jobMaxBytes": "2147483648"}, "temporal-kit:jobMaxBytes", "use 1024 to 1073741824"},
		{"job columns not a number", MapSource{"jobMaxColumns": "many"}, "temporal-kit:jobMaxColumns", "whole number"},
		{"job line too long", MapSource{"jobMaxLineBytes": "100000000"}, "temporal-kit:jobMaxLineBytes", "use 1024 to 16777216"},
		{"worker port clash", MapSource{"hostPorts": `{"worker":7233}`}, "temporal-kit:hostPorts", "another port"},
		{"memory too small", MapSource{"memoryMB": `{"temporal":8}`}, "temporal-kit:memoryMB", "at least 64"},
		{"serp URL without scheme", MapSource{"serpApiUrl": "google.serper.dev"}, "temporal-kit:serpApiUrl", "absolute http(s) URL"},
		{"serp URL not http", MapSource{"serpApiUrl": "ftp://serp.internal"}, "temporal-kit:serpApiUrl", "https://google.serper.dev"},
		{"serp URL relative", MapSource{"serpApiUrl": "/search"}, "temporal-kit:serpApiUrl", "with a host"},
		{"serp URL without host", MapSource{"serpApiUrl": "https://:443"}, "temporal-kit:serpApiUrl", "with a host"},
		{"postgres user upper case", MapSource{"postgresUser": "Temporal"}, "temporal-kit:postgresUser", "lower-case letters, digits or '_'"},
		{"postgres user with a dash", MapSource{"postgresUser": "temporal-kit"}, "temporal-kit:postgresUser", "PostgreSQL identifier"},
		{"postgres user starts with a digit", MapSource{"postgresUser": "1kit"}, "temporal-kit:postgresUser", "not starting with a digit"},
		{"postgres user too long", MapSource{"postgresUser": strings.Repeat("a", 64)}, "temporal-kit:postgresUser", "1-63"},
		{"fetch allow-list not a list", MapSource{"workerFetchAllowCidrs": "10.0.0.0/8"}, "temporal-kit:workerFetchAllowCidrs", "--path"},
		{"fetch allow-list bad CIDR", MapSource{"workerFetchAllowCidrs": `["172.28.0.1"]`}, "temporal-kit:workerFetchAllowCidrs", "172.28.0.0/16"},
		{"fetch allow-list host bits", MapSource{"workerFetchAllowCidrs": `["172.28.0.1/16"]`}, "temporal-kit:workerFetchAllowCidrs", "write the network, 172.28.0.0/16"},
		{"fetch allow-list everything", MapSource{"workerFetchAllowCidrs": `["0.0.0.0/0"]`}, "temporal-kit:workerFetchAllowCidrs", "whole internet"},
		{"fetch allow-list metadata", MapSource{"workerFetchAllowCidrs": `["169.254.0.0/16"]`}, "temporal-kit:workerFetchAllowCidrs", "metadata service"},
		{"fetch allow-list via workerEnv", MapSource{"workerEnv": `{"FETCH_ALLOW_CIDRS":"10.0.0.0/8"}`}, "temporal-kit:workerEnv", "workerFetchAllowCidrs"},
		{"image tagged latest", MapSource{"images": `{"temporalServer":"temporalio/server:latest"}`}, "temporal-kit:images",
			"images.temporalServer \"temporalio/server:latest\" is not a pin"},
		{"latest image names a pin", MapSource{"images": `{"postgresql":"registry.example.com:5000/postgres:latest"}`}, "temporal-kit:images",
			"version tag (like postgres:15.10-bookworm) or a digest"},
	}
	checkProblems(t, "dev", cases)
}

func TestLoadConfigAcceptsGoodValues(t *testing.T) {
	digest := "registry.example.com/temporalio/server@sha256:" + strings.Repeat("a", 64)
	for _, src := range []MapSource{
		{"serpApiUrl": "http://serp.internal:8080/base"},
		{"serpApiUrl": "https://google.serper.dev"},
		{"postgresUser": "_kit_1"},
		{"postgresUser": strings.Repeat("a", 63)},
		{"images": `{"temporalServer":"` + digest + `"}`},
		{"images": `{"temporalUI":"localhost:5000/ui:latest-2.42.1"}`},
	} {
		if _, err := LoadConfig("dev", src); err != nil {
			t.Errorf("%v: %v", src, err)
		}
	}
}

func TestImageTag(t *testing.T) {
	for ref, want := range map[string]string{
		"postgres:15": "15", "registry.example.com:5000/a/b:latest": "latest", "localhost:5000/x:1": "1",
		"x@sha256:" + strings.Repeat("a", 64): "",
	} {
		if got := imageTag(ref); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestLoadConfigReportsAllProblems(t *testing.T) {
	_, err := LoadConfig("dev", MapSource{"historyShards": "6", "imageCatalog": "nope", "target": "x"})
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems at once, got %v", err)
	}
}

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"72h": 72 * time.Hour, "1d": 24 * time.Hour, "90d": 90 * 24 * time.Hour, "36h30m": 36*time.Hour + 30*time.Minute} {
		got, err := ParseRetention(in)
		if err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "3 days", "1w"} {
		if _, err := ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) must fail", in)
		}
	}
}

func TestValidImageRef(t *testing.T) {
	good := []string{"postgres:15.10-bookworm", "temporalio/server:1.32.0", "registry.example.com:5000/a/b:c", "localhost/x@sha256:" + strings.Repeat("a", 64)}
	bad := []string{"postgres", "Temporal/server:1", "a//b:1", "a:b:c", "", "x:"}
	for _, r := range good {
		if !validImageRef(r) {
			t.Errorf("%q must be valid", r)
		}
	}
	for _, r := range bad {
		if validImageRef(r) {
			t.Errorf("%q must be invalid", r)
		}
	}
}

// `pulumi config set --path temporal-kit:workerEnv.BATCH 200` stores a
// number: env values are taken as the text written; nested values refused.
func TestFetchAllowListIsOffByDefaultAndReachesTheWorker(t *testing.T) {
	for src, want := range map[string]string{"": "", `["172.28.0.0/16", "fd00:1::/64"]`: "172.28.0.0/16,fd00:1::/64"} {
		c, err := LoadConfig("dev", MapSource{"workerFetchAllowCidrs": src})
		if err != nil {
			t.Fatal(err)
		}
		d, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		svc, _ := d.Service(ServiceWorker)
		got, set := "", false
		for _, e := range svc.Env {
			if e.Name == "FETCH_ALLOW_CIDRS" {
				got, set = e.Value, true
			}
		}
		if got != want || set != (want != "") {
			t.Errorf("workerFetchAllowCidrs %q: FETCH_ALLOW_CIDRS = %q (set %v), want %q", src, got, set, want)
		}
	}
}

func TestWorkerEnvTakesScalarsAsText(t *testing.T) {
	c, err := LoadConfig("dev", MapSource{"workerEnv": `{"BATCH": 200, "RATE": 2.50, "DEBUG": true, "NAME": "x"}`})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"BATCH": "200", "RATE": "2.50", "DEBUG": "true", "NAME": "x"}
	if !maps.Equal(c.Worker.Env, want) {
		t.Errorf("workerEnv = %v, want %v", c.Worker.Env, want)
	}
	_, err = LoadConfig("dev", MapSource{"workerEnv": `{"NESTED": {"a": 1}}`})
	if err == nil || !strings.Contains(err.Error(), "temporal-kit:workerEnv: NESTED:") {
		t.Errorf("a nested workerEnv value: %v", err)
	}
}
