package stacks

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ampledata/temporal-kit/grafana-dashboards/dashboards"
	"github.com/ampledata/temporal-kit/grafana-dashboards/generator"
)

func TestGrafanaService(t *testing.T) {
	d := mustBuild(t, MapSource{})
	g, ok := d.Service(ServiceGrafana)
	if !ok {
		t.Fatal("the official catalog runs no Grafana")
	}
	if len(d.Notes) != 0 {
		t.Errorf("notes with Grafana running: %v", d.Notes)
	}
	if !strings.HasPrefix(g.Image, "grafana/grafana:12.") || imageTag(g.Image) == "latest" {
		t.Errorf("image %s: want the official grafana/grafana, pinned to a 12.x tag", g.Image)
	}
	if g.Kind != LongRunning || g.MemoryMB != 256 || g.Restart != "unless-stopped" {
		t.Errorf("kind %s memory %d restart %s", g.Kind, g.MemoryMB, g.Restart)
	}
	if g.Health == nil || !strings.Contains(g.Health.Test, "http://127.0.0.1:3000/api/health") {
		t.Errorf("health check %+v: want GET /api/health", g.Health)
	}
	if want := []Port{{Name: "http", Container: 3000, Host: 3000, HostIP: "127.0.0.1"}}; !slices.Equal(g.Ports, want) {
		t.Errorf("ports %+v, want %+v", g.Ports, want)
	}
	env := g.PlainEnv()
	for k, v := range map[string]string{
		"GF_AUTH_ANONYMOUS_ENABLED":        "false",
		"GF_USERS_ALLOW_SIGN_UP":           "false",
		"GF_SECURITY_ADMIN_USER":           "admin",
		"GF_SECURITY_ADMIN_PASSWORD__FILE": SecretPath(SecretGrafanaAdminPassword),
		"GF_PATHS_PROVISIONING":            "/etc/grafana/provisioning",
		"GF_SERVER_ROOT_URL":               "http://localhost:3000/",
		"GF_SERVER_SERVE_FROM_SUB_PATH":    "false",
		"GF_PLUGINS_PREINSTALL_DISABLED":   "true",
	} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if _, set := env["GF_SECURITY_ADMIN_PASSWORD"]; set {
		t.Error("the admin password is an env value; it must come from its file")
	}
	// The admin password: generated, a Pulumi secret written by Grafana's own job.
	if sec, ok := d.Secret(SecretGrafanaAdminPassword); !ok || sec.ConfigKey != "" || sec.Length < 16 {
		t.Errorf("admin password secret %+v %v: want a generated one", sec, ok)
	}
	if !slices.Contains(g.DependsOn, Dependency{Service: "secrets-grafana", Condition: Completed, Recreate: true}) {
		t.Errorf("grafana does not follow its password's job: %+v", g.DependsOn)
	}

	// The provisioning files and every dashboard, as files of the Definition.
	files := map[string]File{}
	for _, f := range g.Files {
		files[f.Path] = f
	}
	all, err := generator.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range all {
		f, ok := files["/etc/grafana/dashboards/temporal-kit/"+db.File]
		want, _ := generator.JSON(db)
		if !ok || f.Content != string(want) || f.Mode != 0o644 {
			t.Errorf("dashboard %s is not delivered as generated", db.File)
		}
	}
	var ds struct {
		Datasources []struct {
			UID, URL string
			JSONData struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		}
	}
	if err := yaml.Unmarshal([]byte(files["/etc/grafana/provisioning/datasources/prometheus.yaml"].Content), &ds); err != nil || len(ds.Datasources) != 1 {
		t.Fatalf("datasource provisioning: %v %+v", err, ds)
	}
	prom := "http://" + ServicePrometheus + ":" + strconv.Itoa(PortPrometheus)
	if got := ds.Datasources[0]; got.UID != dashboards.DatasourceUID || got.URL != prom {
		t.Errorf("datasource %+v: want uid %s at the stack's Prometheus, %s", got, dashboards.DatasourceUID, prom)
	}
	// Grafana derives $__rate_interval from the scrape interval it is told.
	c, _ := LoadConfig("dev", MapSource{})
	if got := ds.Datasources[0].JSONData.TimeInterval; got != c.Observability.ScrapeInterval {
		t.Errorf("datasource timeInterval %q, Prometheus scrapes every %q", got, c.Observability.ScrapeInterval)
	}
	if _, ok := files["/etc/grafana/provisioning/dashboards/temporal-kit.yaml"]; !ok {
		t.Error("no dashboards provider file")
	}

	// hostPorts.grafana 0 keeps it on the Docker network; a clash is an error.
	d = mustBuild(t, MapSource{"hostPorts": `{"grafana":0}`})
	if g, _ := d.Service(ServiceGrafana); g.Ports[0].Host != 0 {
		t.Errorf("hostPorts.grafana 0 still publishes: %+v", g.Ports)
	}
	if _, err := LoadConfig("dev", MapSource{"hostPorts": `{"grafana":8080}`}); err == nil || !strings.Contains(err.Error(), "ui and grafana both want host port 8080") {
		t.Errorf("clash with the UI's port: %v", err)
	}
}

// The local catalog has no Grafana: the stack runs without it and says so;
// an image set in the config brings it back.
func TestGrafanaLeftOutWithoutImage(t *testing.T) {
	d := mustBuild(t, MapSource{"imageCatalog": CatalogLocal})
	if _, ok := d.Service(ServiceGrafana); ok {
		t.Error("Grafana runs in the local catalog, which has no Grafana image")
	}
	if _, ok := d.Secret(SecretGrafanaAdminPassword); ok {
		t.Error("a Grafana password without Grafana")
	}
	if !slices.Contains(d.Notes, NoteNoGrafana) {
		t.Errorf("notes %v: want the no-Grafana note", d.Notes)
	}
	d = mustBuild(t, MapSource{"imageCatalog": CatalogLocal, "images": `{"grafana":"mirror.example.com/grafana/grafana:12.4.0"}`})
	if g, ok := d.Service(ServiceGrafana); !ok || g.Image != "mirror.example.com/grafana/grafana:12.4.0" || len(d.Notes) != 0 {
		t.Errorf("images.grafana set: grafana %v %s, notes %v", ok, g.Image, d.Notes)
	}
	if _, err := LoadConfig("dev", MapSource{"images": `{"grafana":"grafana/grafana:latest"}`}); err == nil || !strings.Contains(err.Error(), "images.grafana") {
		t.Errorf("grafana:latest accepted: %v", err)
	}
}

// Behind the proxy Grafana serves under /grafana/ of the domain.
func TestGrafanaBehindProxy(t *testing.T) {
	d := mustBuild(t, prodProxy(nil))
	g, _ := d.Service(ServiceGrafana)
	env := g.PlainEnv()
	if env["GF_SERVER_ROOT_URL"] != "https://kit.example.com/grafana/" || env["GF_SERVER_SERVE_FROM_SUB_PATH"] != "true" || env["GF_SECURITY_COOKIE_SECURE"] != "true" {
		t.Errorf("root url %q sub path %q secure cookie %q", env["GF_SERVER_ROOT_URL"], env["GF_SERVER_SERVE_FROM_SUB_PATH"], env["GF_SECURITY_COOKIE_SECURE"])
	}
	p, _ := d.Service(ServiceProxy)
	var caddy string
	for _, f := range p.Files {
		if f.Path == CaddyfilePath {
			caddy = f.Content
		}
	}
	if !strings.Contains(caddy, "handle /grafana/* {\n\t\treverse_proxy grafana:3000 {\n") {
		t.Errorf("the proxy does not serve Grafana:\n%s", caddy)
	}
	// Grafana stays bound to the loopback: the proxy is the way in from outside.
	if g.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("grafana bound to %s", g.Ports[0].HostIP)
	}
}
