package stacks

import (
	"strconv"
	"time"

	"github.com/ampledata/temporal-kit/grafana-dashboards/dashboards"
)

// Grafana: the official image only (it cannot be built offline), with the
// Prometheus datasource and the dashboards of grafana-dashboards/
// provisioned as files of the Definition.
const (
	ServiceGrafana = "grafana"
	// SecretGrafanaAdminPassword is the admin's password, generated.
	SecretGrafanaAdminPassword = "grafanaAdminPassword"
	GrafanaAdminUser           = "admin"
	PortGrafana                = 3000
	// GrafanaPath is Grafana's path prefix behind the proxy.
	GrafanaPath = "/grafana/"
)

// NoteNoGrafana is the Definition's note when the image catalog has no
// Grafana (the local, offline-built set).
const NoteNoGrafana = "Grafana is left out: the image catalog has no Grafana image (Grafana cannot be built offline). " +
	"Prometheus' own UI shows graphs and alerts; to run Grafana, set images.grafana to a Grafana image you can pull " +
	"(the official catalog pins " + grafanaOfficial + ")."

const grafanaOfficial = "grafana/grafana:12.4.0"

// grafanaEnabled tells whether the stack runs Grafana: when it has an image.
func grafanaEnabled(c Config) bool { return c.Images.Grafana != "" }

// grafanaRootURL is the address browsers use for Grafana: behind the
// proxy its sub-path, else the published port.
func grafanaRootURL(c Config) string {
	if c.Proxy.Enabled() {
		return "https://" + c.Proxy.Domain + GrafanaPath
	}
	return "http://localhost:" + strconv.Itoa(hostOr(c.HostPorts.Grafana, PortGrafana)) + "/"
}

func grafana(c Config) (Service, error) {
	files, err := dashboards.Files()
	if err != nil {
		return Service{}, err
	}
	s := Service{
		Name:  ServiceGrafana,
		Kind:  LongRunning,
		Image: c.Images.Grafana,
		Env: []EnvVar{
			{Name: "GF_SECURITY_ADMIN_USER", Value: GrafanaAdminUser},
			// Grafana reads any setting from a file with the __FILE suffix.
			{Name: "GF_SECURITY_ADMIN_PASSWORD__FILE", Value: SecretPath(SecretGrafanaAdminPassword)},
			{Name: "GF_AUTH_ANONYMOUS_ENABLED", Value: "false"},
			{Name: "GF_USERS_ALLOW_SIGN_UP", Value: "false"},
			{Name: "GF_USERS_ALLOW_ORG_CREATE", Value: "false"},
			{Name: "GF_SECURITY_DISABLE_GRAVATAR", Value: "true"},
			{Name: "GF_SECURITY_COOKIE_SECURE", Value: strconv.FormatBool(c.Proxy.Enabled())},
			// No calls home and no plugin downloads at start: the stack
			// must start the same on an air-gapped host.
			{Name: "GF_ANALYTICS_REPORTING_ENABLED", Value: "false"},
			{Name: "GF_ANALYTICS_CHECK_FOR_UPDATES", Value: "false"},
			{Name: "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", Value: "false"},
			{Name: "GF_NEWS_NEWS_FEED_ENABLED", Value: "false"},
			{Name: "GF_PLUGINS_PREINSTALL_DISABLED", Value: "true"},
			{Name: "GF_PATHS_PROVISIONING", Value: dashboards.ProvisioningDir},
			{Name: "GF_SERVER_HTTP_PORT", Value: strconv.Itoa(PortGrafana)},
			{Name: "GF_SERVER_ROOT_URL", Value: grafanaRootURL(c)},
			{Name: "GF_SERVER_SERVE_FROM_SUB_PATH", Value: strconv.FormatBool(c.Proxy.Enabled())},
			{Name: "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", Value: dashboards.DashboardsDir + "/temporal-server.json"},
			{Name: "GF_LOG_MODE", Value: "console"},
		},
		Ports: publish(c, "grafana", "http", PortGrafana),
		// /api/health answers once the database is migrated and the
		// server serves: no login needed.
		Health:      serviceHealth(PortGrafana, "/api/health", 60*time.Second),
		StopTimeout: 15 * time.Second,
	}
	// No data volume on purpose: everything Grafana shows is provisioned,
	// and its database applies the admin password only when it is created,
	// so a fresh one per container keeps the password the stack's secret.
	for _, f := range files {
		s.Files = append(s.Files, File{Path: f.Path, Content: f.Content, Mode: 0o644})
	}
	return s, nil
}
