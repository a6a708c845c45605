package stacks

import (
	"errors"
	"strings"
	"testing"
)

// A bindAddress beyond loopback is refused until publicPorts names the
// ports that may be public; the error names every port it would open, the
// risk of each, and the key that fixes it.
func TestBindAddressBeyondLoopbackNeedsPublicPorts(t *testing.T) {
	for _, bind := range []string{"0.0.0.0", "::", "203.0.113.7", "10.0.0.5"} {
		_, err := LoadConfig("dev", MapSource{"bindAddress": bind})
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("bindAddress %s without publicPorts: want a *ConfigError, got %v", bind, err)
		}
		msg := err.Error()
		for _, want := range []string{"temporal-kit:bindAddress:", "publicPorts", "temporal 7233", "no TLS, no authorizer", "ui 8080", "worker 8000", "job API", "grafana 3000", "stay on 127.0.0.1"} {
			if !strings.Contains(msg, want) {
				t.Errorf("bindAddress %s: error lacks %q:\n%s", bind, want, msg)
			}
		}
		if strings.Contains(msg, "prometheus 9090") || strings.Contains(msg, "postgres ") {
			t.Errorf("bindAddress %s: error names ports it would not open:\n%s", bind, msg)
		}
	}
	// A published PostgreSQL is named too.
	_, err := LoadConfig("dev", MapSource{"bindAddress": "0.0.0.0", "hostPorts": `{"postgres":5432}`})
	if err == nil || !strings.Contains(err.Error(), "postgres 5432 (PostgreSQL") {
		t.Errorf("a published PostgreSQL is not named: %v", err)
	}
}

// Only the ports publicPorts names bind bindAddress; the Temporal
// frontend, the job API and PostgreSQL stay on 127.0.0.1 unless named.
func TestOnlyPublicPortsLeaveLoopback(t *testing.T) {
	d := mustBuild(t, MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["ui","grafana"]`, "hostPorts": `{"postgres":5432}`})
	want := map[string]string{ServiceUI: "0.0.0.0", ServiceGrafana: "0.0.0.0", ServiceTemporal: "127.0.0.1", ServiceWorker: "127.0.0.1", ServicePostgres: "127.0.0.1", ServicePrometheus: "127.0.0.1"}
	seen := map[string]bool{}
	for _, s := range d.Services {
		for _, p := range s.Ports {
			if p.Host == 0 {
				continue
			}
			seen[s.Name] = true
			if w, ok := want[s.Name]; !ok || p.HostIP != w {
				t.Errorf("%s: port %d on %s, want %q", s.Name, p.Host, p.HostIP, w)
			}
		}
	}
	for s := range want {
		if !seen[s] {
			t.Errorf("%s publishes nothing", s)
		}
	}
	if len(publicPortNotes(mustLoad(t, MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["ui"]`}))) != 1 {
		t.Error("a public port gets no note")
	}

	// Named on purpose, the frontend and PostgreSQL open, each with a warning.
	d = mustBuild(t, MapSource{"bindAddress": "10.0.0.5", "publicPorts": `["temporal","postgres"]`, "hostPorts": `{"postgres":5432}`})
	for _, name := range []string{ServiceTemporal, ServicePostgres} {
		s, _ := d.Service(name)
		if s.Ports[0].HostIP != "10.0.0.5" {
			t.Errorf("%s named in publicPorts binds %s", name, s.Ports[0].HostIP)
		}
	}
	notes := strings.Join(d.Notes, "\n")
	if !strings.Contains(notes, "temporal is published on 10.0.0.5:7233") || !strings.Contains(notes, "postgres is published on 10.0.0.5:5432") {
		t.Errorf("notes do not warn about the open frontend and database:\n%s", notes)
	}
	// On loopback, bindAddress applies to every port, as before.
	d = mustBuild(t, MapSource{"bindAddress": "127.0.0.2"})
	if s, _ := d.Service(ServiceTemporal); s.Ports[0].HostIP != "127.0.0.2" {
		t.Errorf("loopback bindAddress not applied: %+v", s.Ports)
	}
}

func TestPublicPortsErrors(t *testing.T) {
	for _, tc := range []struct {
		src  MapSource
		want string
	}{
		{MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["prometheus"]`}, "temporal-kit:publicPorts: prometheus stays on 127.0.0.1"},
		{MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["frontend"]`}, `temporal-kit:publicPorts: unknown port "frontend"; name hostPorts keys: temporal, ui, postgres, worker, grafana`},
		{MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["ui","ui"]`}, "temporal-kit:publicPorts: ui is listed twice"},
		{MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["postgres"]`}, "temporal-kit:publicPorts: postgres is not published (hostPorts.postgres is 0)"},
		{MapSource{"publicPorts": `["ui"]`}, "temporal-kit:publicPorts: lists ui, but bindAddress 127.0.0.1 keeps every port on this host"},
		{MapSource{"bindAddress": "0.0.0.0", "publicPorts": `"ui"`}, "temporal-kit:publicPorts: cannot read it"},
	} {
		_, err := LoadConfig("dev", tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}

// The loader caps the namespace retention and refuses bucket names S3 would.
func TestRetentionAndBucketLimits(t *testing.T) {
	for _, tc := range []struct {
		src  MapSource
		want string
	}{
		{MapSource{"namespaceRetention": "10000d"}, "temporal-kit:namespaceRetention: 10000d is longer than the kit allows (365d)"},
		{MapSource{"namespaceRetention": "366d"}, "use at most 365d"},
		{MapSource{"namespaceRetention": "9000h"}, "longer than the kit allows"},
		// Too many days for a duration: refused as too long, not wrapped around.
		{MapSource{"namespaceRetention": "200000d"}, "longer than the kit allows"},
		{MapSource{"namespaceRetention": "99999999999999d"}, "longer than the kit allows"},
	} {
		_, err := LoadConfig("dev", tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
	if c := mustLoad(t, MapSource{"namespaceRetention": "365d"}); c.NamespaceRetention != MaxNamespaceRetention {
		t.Errorf("365d: %v", c.NamespaceRetention)
	}

	for bucket, why := range map[string]string{
		"My Backups":            "only lower-case letters",
		"Kit-Backups":           "only lower-case letters",
		"kit_backups":           "only lower-case letters",
		"kit-bäckups":           "only lower-case letters",
		"ab":                    "2 characters",
		strings.Repeat("a", 64): "64 characters",
		"-kit":                  "it must start and end with a letter or digit",
		"kit.":                  "it must start and end with a letter or digit",
		"kit..backups":          "two dots in a row",
		"192.168.5.4":           "it reads as an IP address",
		"xn--kit":               "the prefix xn-- is reserved",
		"kit-backups-s3alias":   "the suffix -s3alias is reserved",
	} {
		_, err := LoadConfig("dev", MapSource{"backupOffsite": `{"endpoint":"s3.example.com","bucket":"` + bucket + `"}`, "backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s", "backupAgeRecipients": testRecipient})
		if err == nil || !strings.Contains(err.Error(), "temporal-kit:backupOffsite: bucket \""+bucket+"\" is not an S3 bucket name: "+why) {
			t.Errorf("bucket %q: got %v, want an error saying %q", bucket, err, why)
		}
	}
	for _, bucket := range []string{"kit-backups", "kit.backups.example", "abc", strings.Repeat("a", 63), "2026-backups"} {
		if _, err := LoadConfig("dev", MapSource{"backupOffsite": `{"endpoint":"s3.example.com","bucket":"` + bucket + `"}`, "backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s", "backupAgeRecipients": testRecipient}); err != nil {
			t.Errorf("bucket %q refused: %v", bucket, err)
		}
	}
}

func mustLoad(t *testing.T, src MapSource) Config {
	t.Helper()
	c, err := LoadConfig("dev", src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
