package stacks

import (
	"slices"
	"strings"
	"testing"
)

func TestObservabilityDefaults(t *testing.T) {
	d := mustBuild(t, MapSource{})
	prom, ok := d.Service(ServicePrometheus)
	if !ok {
		t.Fatal("no prometheus service")
	}
	var cfg string
	for _, f := range prom.Files {
		if f.Path == prometheusConfigPath {
			cfg = f.Content
		}
	}
	for _, want := range []string{
		"time: 15d", "size: 4GB", `"alertmanager:9093"`, `"/etc/prometheus/rules/temporal-kit.rules.yml"`,
		`job_name: "temporal"`, `"temporal:8000"`, `job_name: "worker"`, `"worker:8000"`, `"node-exporter:9100"`,
		`"postgres-exporter:9187"`, `"container-exporter:9338"`, `job_name: "alertmanager"`, `job_name: "prometheus"`,
		`job_name: "backup"`, `"backup:9630"`, "scrape_interval: 15s", "evaluation_interval: 15s",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("prometheus.yml lacks %s:\n%s", want, cfg)
		}
	}
	if got := prom.Ports; len(got) != 1 || got[0].HostIP != "127.0.0.1" || got[0].Host != PortPrometheus {
		t.Errorf("prometheus ports %+v, want 9090 on 127.0.0.1", got)
	}
	// Even when the stack opens its ports: Prometheus has no login.
	open := mustBuild(t, MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["temporal","ui","worker","grafana"]`})
	if p, _ := open.Service(ServicePrometheus); p.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("bindAddress 0.0.0.0 publishes Prometheus on %s", p.Ports[0].HostIP)
	}
	c, err := LoadConfig("dev", MapSource{})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Observability.Warning(); !strings.Contains(w, "alerts go nowhere") || !strings.Contains(w, "alertWebhookUrl") {
		t.Errorf("no receiver: warning %q", w)
	}
	for _, s := range []string{ServiceAlertmanager, ServiceNodeExporter, ServicePostgresExporter, ServiceContainerMetrics} {
		svc, ok := d.Service(s)
		if !ok || svc.Health == nil || svc.MemoryMB == 0 {
			t.Errorf("%s: missing, or without health check or memory limit", s)
		}
	}
	// An existing PostgreSQL: no monitoring role of ours, no exporter, no scrape job.
	ex := mustBuild(t, MapSource{"postgresHost": "db.internal", "postgresPassword": "x"})
	if _, ok := ex.Service(ServicePostgresExporter); ok {
		t.Error("postgres-exporter runs against an existing PostgreSQL")
	}
	if p, _ := ex.Service(ServicePrometheus); strings.Contains(p.Files[0].Content, "postgres-exporter") {
		t.Error("prometheus scrapes a postgres-exporter that does not run")
	}
	// The backup service runs beside an existing PostgreSQL too: still scraped.
	if p, _ := ex.Service(ServicePrometheus); !strings.Contains(p.Files[0].Content, `"backup:9630"`) {
		t.Error("with an existing PostgreSQL, prometheus does not scrape the backup service")
	}
}

func TestObservabilityConfig(t *testing.T) {
	d := mustBuild(t, MapSource{
		"prometheusRetention": "30d", "prometheusRetentionSize": "10GB",
		"alertThresholds":      `{"failedRowRatio": 0.4, "targetDownFor": "5m"}`,
		"alertWebhookUrl":      "https://hooks.example.com/alerts",
		"alertEmail":           `{"to": "ops@example.com", "from": "kit@example.com", "smarthost": "smtp.example.com:587", "username": "kit"}`,
		"alertSmtpPassword":    "[secret]",
		"alertSlackWebhookUrl": "[secret]",
	})
	prom, _ := d.Service(ServicePrometheus)
	all := ""
	for _, f := range prom.Files {
		all += f.Content
	}
	for _, want := range []string{"time: 30d", "size: 10GB", "> 0.4", "for: 5m"} {
		if !strings.Contains(all, want) {
			t.Errorf("prometheus files lack %q", want)
		}
	}
	am, _ := d.Service(ServiceAlertmanager)
	cfg := am.Files[0].Content
	for _, want := range []string{"https://hooks.example.com/alerts", "auth_password_file: " + SecretPath(SecretSMTPPassword),
		"api_url_file: " + SecretPath(SecretSlackWebhookURL), "ops@example.com", "smtp.example.com:587"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("alertmanager.yml lacks %q:\n%s", want, cfg)
		}
	}
	// The secrets reach Alertmanager as files, and it follows their job.
	var follows []string
	for _, dep := range am.DependsOn {
		if dep.Recreate {
			follows = append(follows, dep.Service)
		}
	}
	if want := []string{SecretsJob(ServiceAlertmanager)}; !slices.Equal(follows, want) {
		t.Errorf("alertmanager follows %v, want %v", follows, want)
	}
	for _, s := range []string{SecretSMTPPassword, SecretSlackWebhookURL} {
		if sec, ok := d.Secret(s); !ok || sec.ConfigKey != s {
			t.Errorf("secret %s: %+v, want from config key %s", s, sec, s)
		}
	}
}

func TestObservabilityConfigErrorsNameTheKey(t *testing.T) {
	for src, want := range map[*MapSource]string{
		{"prometheusRetention": "forever"}:                "prometheusRetention",
		{"prometheusRetentionSize": "4 gigs"}:             "prometheusRetentionSize",
		{"alertThresholds": `{"diskFreeRatio": 20}`}:      "diskFreeRatio",
		{"alertThresholds": `{"targetDownFor": "2 min"}`}: "targetDownFor",
		{"alertThresholds": `{"diskFree": 0.2}`}:          "alertThresholds",
		{"alertThresholds": `{"backupMaxAgeHours": 0}`}:   "backupMaxAgeHours",
		{"alertWebhookUrl": "hooks.example.com"}:          "alertWebhookUrl",
		{"alertEmail": `{"to": "ops"}`}:                   "alertEmail",
		{"alertSmtpPassword": "x"}:                        "alertSmtpPassword",
		{"hostPorts": `{"prometheus": 7233}`}:             "hostPorts",
	} {
		_, err := LoadConfig("dev", *src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one naming %s", *src, err, want)
		}
	}
}
