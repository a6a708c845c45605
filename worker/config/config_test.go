package config

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"SERP_API_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"TEMPORAL_ADDRESS", c.TemporalAddress, "localhost:7233"},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace, "ampledata"},
		{"TEMPORAL_TASK_QUEUE", c.TaskQueue, "enrichment"},
		{"PGDATABASE", c.PGDatabase, "ampledata"},
		{"SERP_API_URL", c.SerpAPIURL, "https://google.serper.dev"},
		{"API_ADDR", c.APIAddr, ":8000"},
		{"SHUTDOWN_TIMEOUT", c.ShutdownTimeout.String(), "30s"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if len(c.FetchAllow) != 0 {
		t.Errorf("FETCH_ALLOW_CIDRS is off by default, got %v", c.FetchAllow)
	}
	if c.BatchSize != 1000 || c.BatchParallelism != 4 || c.FetchMaxBytes != 1<<20 || c.FetchTimeout != 10*time.Second {
		t.Errorf("tuning defaults: %+v", c)
	}
}

func TestErrorsNameTheVariableAndTheFix(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"FETCH_PER_DOMAIN": "0"}, []string{"FETCH_PER_DOMAIN", "1 to 100"}},
		{map[string]string{"HTTP_PROXY": "fixtures 8080"}, []string{"HTTP_PROXY", "http://fixtures:8080"}},
		{map[string]string{"SERP_RATE_LIMIT": "-1"}, []string{"SERP_RATE_LIMIT", ">= 0"}},
		{map[string]string{"SERP_API_KEY": "k", "SERP_API_URL": "ftp://x"}, []string{"SERP_API_URL", "https://google.serper.dev"}},
		{map[string]string{"SERP_API_KEY": "k", "PGPORT": "99999"}, []string{"PGPORT", "1 to 65535"}},
		{map[string]string{"SERP_API_KEY": "k", "SHUTDOWN_TIMEOUT": "soon"}, []string{"SHUTDOWN_TIMEOUT", "duration"}},
		{map[string]string{"SERP_API_KEY": "k", "TEMPORAL_ADDRESS": "temporal"}, []string{"TEMPORAL_ADDRESS", "host:port"}},
		{map[string]string{"SERP_API_KEY": "k", "PGDATABASE": "a;drop"}, []string{"PGDATABASE", "letters, digits"}},
		{map[string]string{"SERP_API_KEY": "k", "BATCH_SIZE": "0"}, []string{"BATCH_SIZE", "1 to 5000"}},
		{map[string]string{"SERP_API_KEY": "k", "LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{map[string]string{"SERP_API_KEY": "k", "API_ADDR": "8000"}, []string{"API_ADDR", ":8000"}},
		{map[string]string{"SERP_API_KEY": "k", "FETCH_ALLOW_CIDRS": "172.28.0.0/16,10.0.0.1"}, []string{"FETCH_ALLOW_CIDRS", `"10.0.0.1" is not a CIDR`, "172.28.0.0/16"}},
		{map[string]string{"SERP_API_KEY": "k", "FETCH_ALLOW_CIDRS": "10.0.0.1/8"}, []string{"FETCH_ALLOW_CIDRS", "10.0.0.0/8"}},
		// every problem is reported at once
		{map[string]string{"PGPORT": "x", "FETCH_TIMEOUT": "1h1s"}, []string{"PGPORT", "FETCH_TIMEOUT"}},
	}
	for _, c := range cases {
		_, err := Load(env(c.env))
		if err == nil {
			t.Errorf("%v: no error", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", c.env, err, w)
			}
		}
	}
}

func TestSerpKeyIsOptional(t *testing.T) {
	// stacks/worker.go sets SERP_API_KEY only when the serpApiKey secret exists.
	c, err := Load(env(map[string]string{}))
	if err != nil {
		t.Fatalf("no SERP_API_KEY must be accepted: %v", err)
	}
	if c.SerpAPIKey != "" || !strings.Contains(c.String(), "serpkey=(unset)") {
		t.Errorf("key %q, String %s", c.SerpAPIKey, c)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c, err := Load(env(map[string]string{"SERP_API_KEY": "sk-very-secret", "PGPASSWORD": "pw-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "sk-very-secret") || strings.Contains(s, "pw-secret") {
		t.Errorf("String() leaks a secret: %s", s)
	}
	if !strings.Contains(c.PostgresURL("ampledata"), "pw-secret") {
		t.Error("PostgresURL must carry the password")
	}
}

func TestProxyFromEnv(t *testing.T) {
	c, err := Load(env(map[string]string{"SERP_API_KEY": "k", "HTTP_PROXY": "http://fixture:8080", "NO_PROXY": "internal.test"}))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"company-00001.example": "http://fixture:8080", "internal.test": ""} {
		req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
		u, err := c.Proxy(req)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != want {
			t.Errorf("proxy for %s = %q, want %q", host, got, want)
		}
	}
}
