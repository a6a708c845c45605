package stacks

import (
	"strings"
	"testing"
)

// Only docker-gate holds the engine's socket; the exporter reads the engine
// through the gate, as an unprivileged user.
func TestOnlyDockerGateMountsTheEngine(t *testing.T) {
	d := mustBuild(t, MapSource{})
	for _, s := range d.Services {
		for _, m := range s.Mounts {
			if m.Volume == VolumeDockerSocket && s.Name != ServiceDockerGate {
				t.Errorf("%s mounts the Docker socket; only %s may", s.Name, ServiceDockerGate)
			}
		}
	}
	gate, ok := d.Service(ServiceDockerGate)
	if !ok {
		t.Fatal("no docker-gate service")
	}
	if len(gate.Ports) != 1 || gate.Ports[0].Host != 0 {
		t.Errorf("docker-gate ports %+v: its API must stay on the Docker network", gate.Ports)
	}
	exp, _ := d.Service(ServiceContainerMetrics)
	if exp.User == "root" {
		t.Error("container-exporter runs as root")
	}
	if cmd := strings.Join(exp.Command, " "); !strings.Contains(cmd, "-engine http://docker-gate:2375") {
		t.Errorf("container-exporter does not read the engine through docker-gate: %s", cmd)
	}
	if !strings.Contains(strings.Join(gate.Command, " "), "-reader "+ServiceContainerMetrics) {
		t.Errorf("docker-gate does not name container-exporter as its reader: %v", gate.Command)
	}
}

// Every container says what it is and what the gate does when it is
// unhealthy: restart it, or only alert when a restart cannot help.
func TestHealLabels(t *testing.T) {
	d := mustBuild(t, MapSource{"domain": "kit.example.com", "acmeEmail": "ops@example.com"})
	want := map[string]string{
		ServicePostgres: HealRestart, ServiceTemporal: HealRestart, ServiceUI: HealRestart, ServiceGrafana: HealRestart,
		ServicePrometheus: HealRestart, ServiceProxy: HealRestart, ServiceContainerMetrics: HealRestart,
		// Their checks fail while a dependency is down or the disk is full.
		ServiceWorker: HealAlert, ServiceAdminTools: HealAlert, ServiceBackup: HealAlert,
		// The gate does not restart itself.
		ServiceDockerGate: HealAlert,
	}
	for _, s := range d.Services {
		if s.Labels[LabelKind] != string(s.Kind) {
			t.Errorf("%s: kind label %q, want %q", s.Name, s.Labels[LabelKind], s.Kind)
		}
		h, set := s.Labels[LabelHeal]
		if s.Kind == OneShot {
			if set {
				t.Errorf("job %s has heal label %q", s.Name, h)
			}
			continue
		}
		if h != HealRestart && h != HealAlert {
			t.Errorf("%s: heal label %q, want restart or alert", s.Name, h)
		}
		if w, ok := want[s.Name]; ok && h != w {
			t.Errorf("%s: heal label %q, want %q", s.Name, h, w)
		}
	}
}

// Temporal's check is a call the frontend must answer, not a port that a
// frozen process still accepts connections on (the fault test freezes it).
func TestTemporalHealthCheckCallsTheFrontend(t *testing.T) {
	d := mustBuild(t, MapSource{})
	s, _ := d.Service(ServiceTemporal)
	if strings.Contains(s.Health.Test, "nc -z") || !strings.Contains(s.Health.Test, "/api/v1/system-info") {
		t.Errorf("temporal health check %q does not call the frontend", s.Health.Test)
	}
	if s.Health.Retries > 5 {
		t.Errorf("temporal: %d retries of %s: a frozen frontend would stay 'healthy' for minutes", s.Health.Retries, s.Health.Interval)
	}
}

// Prometheus scrapes the gate and, where they run, Grafana and the proxy.
func TestScrapesGateAndGrafana(t *testing.T) {
	for _, tc := range []struct {
		src     MapSource
		grafana bool
	}{{MapSource{}, true}, {MapSource{"imageCatalog": "local"}, false}} {
		d := mustBuild(t, tc.src)
		prom, _ := d.Service(ServicePrometheus)
		cfg := prom.Files[0].Content
		if !strings.Contains(cfg, `"docker-gate:2375"`) {
			t.Errorf("%v: prometheus.yml does not scrape docker-gate", tc.src)
		}
		_, runs := d.Service(ServiceGrafana)
		if scraped := strings.Contains(cfg, `"grafana:3000"`); scraped != runs || runs != tc.grafana {
			t.Errorf("%v: grafana runs=%v, scraped=%v", tc.src, runs, scraped)
		}
	}
}

func TestScrapesTheProxyWithADomain(t *testing.T) {
	for _, tc := range []struct {
		src   MapSource
		proxy bool
	}{{MapSource{}, false}, {prodProxy(nil), true}} {
		d := mustBuild(t, tc.src)
		prom, _ := d.Service(ServicePrometheus)
		if scraped := strings.Contains(prom.Files[0].Content, `"proxy:2021"`); scraped != tc.proxy {
			t.Errorf("%v: proxy scraped=%v, want %v", tc.src, scraped, tc.proxy)
		}
		if p, ok := d.Service(ServiceProxy); ok {
			for _, port := range p.Ports {
				if port.Container == PortProxyMetrics {
					t.Errorf("proxy publishes its metrics port: %+v", port)
				}
			}
		}
	}
}
