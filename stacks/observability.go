package stacks

import (
	_ "embed"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/prometheus/promconfig"
)

// The observability services: Prometheus scrapes every service with
// metrics and evaluates the alert rules of prometheus/; Alertmanager
// delivers the alerts to the stack's receivers; the exporters add host,
// PostgreSQL and per-container metrics.
const (
	ServicePrometheus       = "prometheus"
	ServiceAlertmanager     = "alertmanager"
	ServiceNodeExporter     = "node-exporter"
	ServicePostgresExporter = "postgres-exporter"
	ServiceContainerMetrics = "container-exporter"

	PortPrometheus       = 9090
	PortAlertmanager     = 9093
	PortNodeExporter     = 9100
	PortPostgresExporter = 9187
	PortContainerMetrics = 9338

	VolumePrometheusData   = "prometheus-data"
	VolumeAlertmanagerData = "alertmanager-data"
	// VolumeHostRoot and VolumeDockerSocket bind host paths: the host's
	// filesystems for node-exporter, the engine's API for docker-gate.
	VolumeHostRoot     = "host-root"
	VolumeDockerSocket = "docker-socket"

	// SecretMonitoringPassword is the password of PostgreSQL's read-only
	// monitoring role (always generated).
	SecretMonitoringPassword = "monitoringPassword"
	SecretSMTPPassword       = "alertSmtpPassword"
	SecretSlackWebhookURL    = "alertSlackWebhookUrl"

	// MonitoringRole is the PostgreSQL role postgres-exporter logs in as:
	// pg_monitor, nothing else.
	MonitoringRole = "kit_monitoring"

	prometheusConfigPath   = "/etc/prometheus/prometheus.yml"
	prometheusRulesDir     = "/etc/prometheus/rules"
	alertmanagerConfigPath = "/etc/alertmanager/alertmanager.yml"
)

// Observability is the monitoring part of the stack config.
type Observability struct {
	// RetentionTime and RetentionSize bound Prometheus' data: the first reached wins.
	RetentionTime, RetentionSize string
	Thresholds                   promconfig.Thresholds
	// Receivers, with secret files named where the secret is set.
	Receivers promconfig.Receivers
	// Intervals: the defaults for real stacks; tests shorten them.
	ScrapeInterval, ScrapeTimeout, EvaluationInterval string
	Alerting                                          promconfig.Alerting
}

var retentionSizeRE = regexp.MustCompile(`^[0-9]+(B|KB|MB|GB|TB|PB)$`)

// alertEmailConfig is the alertEmail object of the stack config.
type alertEmailConfig struct {
	To         string `json:"to"`
	From       string `json:"from"`
	Smarthost  string `json:"smarthost"`
	Username   string `json:"username"`
	RequireTLS *bool  `json:"requireTls"`
}

func loadObservability(l *loader) Observability {
	o := Observability{
		RetentionTime:      l.str("prometheusRetention", "15d"),
		RetentionSize:      l.str("prometheusRetentionSize", "4GB"),
		Thresholds:         promconfig.DefaultThresholds(),
		ScrapeInterval:     "15s",
		ScrapeTimeout:      "10s",
		EvaluationInterval: "15s",
	}
	if d, err := promconfig.ParseDuration(o.RetentionTime); err != nil || d < 2*time.Hour {
		l.fail("prometheusRetention", "%q is not a Prometheus duration of at least 2h; write it like 15d (the default) or 4w", o.RetentionTime)
	}
	if !retentionSizeRE.MatchString(o.RetentionSize) {
		l.fail("prometheusRetentionSize", "%q is not a size; write it like 4GB (the default) or 512MB", o.RetentionSize)
	}
	l.object("alertThresholds", &o.Thresholds)
	for _, p := range o.Thresholds.Problems() {
		l.fail("alertThresholds", "%s", p)
	}

	r := &o.Receivers
	r.WebhookURL = l.str("alertWebhookUrl", "")
	if r.WebhookURL != "" {
		if u, err := url.Parse(r.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			l.fail("alertWebhookUrl", "%q is not an absolute http(s) URL; write it like https://hooks.example.com/alerts", r.WebhookURL)
		}
	}
	var email alertEmailConfig
	l.object("alertEmail", &email)
	smtpPW, smtpSet := l.secret(SecretSMTPPassword)
	if email != (alertEmailConfig{}) {
		e := &promconfig.Email{To: email.To, From: email.From, Smarthost: email.Smarthost, Username: email.Username, RequireTLS: email.RequireTLS}
		if _, err := mail.ParseAddress(e.To); err != nil {
			l.fail("alertEmail", "to: %q is not an e-mail address; set it with `pulumi config set --path %s:alertEmail.to ops@example.com`", e.To, Namespace)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			l.fail("alertEmail", "from: %q is not an e-mail address; set it with `pulumi config set --path %s:alertEmail.from alerts@example.com`", e.From, Namespace)
		}
		if h, p, ok := strings.Cut(e.Smarthost, ":"); !ok || h == "" || !validPort(p) {
			l.fail("alertEmail", "smarthost: %q is not host:port; set it with `pulumi config set --path %s:alertEmail.smarthost smtp.example.com:587`", e.Smarthost, Namespace)
		}
		if smtpSet && smtpPW != "" {
			e.PasswordFile = SecretPath(SecretSMTPPassword)
			if e.Username == "" {
				l.fail("alertEmail", "username is empty while alertSmtpPassword is set; set alertEmail.username to the SMTP login")
			}
		}
		r.Email = e
	} else if smtpSet && smtpPW != "" {
		l.fail(SecretSMTPPassword, "is set but alertEmail is not; set alertEmail (to, from, smarthost, username) or remove the password")
	}
	if v, ok := l.secret(SecretSlackWebhookURL); ok && v != "" {
		r.SlackURLFile = SecretPath(SecretSlackWebhookURL)
	}
	o.Alerting = promconfig.DefaultAlerting(o.Receivers)
	return o
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// observabilitySecrets are the secrets the observability services need.
func observabilitySecrets(c Config) []Secret {
	out := []Secret{{Name: SecretMonitoringPassword, Length: 32}}
	if c.Observability.Receivers.Email != nil && c.Observability.Receivers.Email.PasswordFile != "" {
		out = append(out, Secret{Name: SecretSMTPPassword, ConfigKey: SecretSMTPPassword})
	}
	if c.Observability.Receivers.SlackURLFile != "" {
		out = append(out, Secret{Name: SecretSlackWebhookURL, ConfigKey: SecretSlackWebhookURL})
	}
	return out
}

func hostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// scrapeTargets are the jobs Prometheus scrapes; job names are the alert
// rules' job labels. The UI serves no metrics: its health check (a page
// load) reaches Prometheus through container-exporter's health metrics.
func scrapeTargets(c Config, pgExporter bool) []promconfig.Target {
	t := []promconfig.Target{
		{Job: ServicePrometheus, Addresses: []string{hostPort("127.0.0.1", PortPrometheus)}},
		{Job: ServiceAlertmanager, Addresses: []string{hostPort(ServiceAlertmanager, PortAlertmanager)}},
		{Job: ServiceTemporal, Addresses: []string{hostPort(ServiceTemporal, PortTemporalMetrics)}},
		{Job: ServiceWorker, Addresses: []string{hostPort(ServiceWorker, PortWorkerAPI)}},
		{Job: ServiceNodeExporter, Addresses: []string{hostPort(ServiceNodeExporter, PortNodeExporter)}},
		{Job: ServiceContainerMetrics, Addresses: []string{hostPort(ServiceContainerMetrics, PortContainerMetrics)}},
		{Job: ServiceDockerGate, Addresses: []string{hostPort(ServiceDockerGate, PortDockerGate)}},
		{Job: ServiceBackup, Addresses: []string{hostPort(ServiceBackup, PortBackupMetrics)}},
	}
	if c.Proxy.Enabled() {
		t = append(t, promconfig.Target{Job: ServiceProxy, Addresses: []string{hostPort(ServiceProxy, PortProxyMetrics)}})
	}
	if grafanaEnabled(c) {
		t = append(t, promconfig.Target{Job: ServiceGrafana, Addresses: []string{hostPort(ServiceGrafana, PortGrafana)}})
	}
	if pgExporter {
		t = append(t, promconfig.Target{Job: ServicePostgresExporter, Addresses: []string{hostPort(ServicePostgresExporter, PortPostgresExporter)}})
	}
	return t
}

func prometheusService(c Config, pgExporter bool) (Service, error) {
	o := c.Observability
	rules, err := promconfig.RuleFiles(o.Thresholds)
	if err != nil {
		return Service{}, err
	}
	var files []File
	var ruleFiles []string
	for _, name := range sortedKeys(rules) {
		p := prometheusRulesDir + "/" + name
		ruleFiles = append(ruleFiles, p)
		files = append(files, File{Path: p, Content: rules[name], Mode: 0o644})
	}
	cfg, err := promconfig.RenderConfig(promconfig.Config{
		Stack:              c.Stack,
		ScrapeInterval:     o.ScrapeInterval,
		ScrapeTimeout:      o.ScrapeTimeout,
		EvaluationInterval: o.EvaluationInterval,
		RetentionTime:      o.RetentionTime,
		RetentionSize:      o.RetentionSize,
		Alertmanager:       hostPort(ServiceAlertmanager, PortAlertmanager),
		RuleFiles:          ruleFiles,
		Targets:            scrapeTargets(c, pgExporter),
	})
	if err != nil {
		return Service{}, err
	}
	files = append([]File{{Path: prometheusConfigPath, Content: cfg, Mode: 0o644}}, files...)
	return Service{
		Name:  ServicePrometheus,
		Kind:  LongRunning,
		Image: c.Images.Prometheus,
		// The official image's entrypoint (/bin/prometheus) with these arguments.
		Command: []string{
			"--config.file=" + prometheusConfigPath,
			"--storage.tsdb.path=/prometheus",
			"--web.listen-address=:" + strconv.Itoa(PortPrometheus),
		},
		// Loopback whatever bindAddress says: Prometheus has no login. Reach
		// it through the SSH tunnel (or, with a domain, Grafana).
		Ports:       []Port{{Name: "http", Container: PortPrometheus, Host: c.HostPorts.Prometheus, HostIP: "127.0.0.1"}},
		Mounts:      []Mount{{Volume: VolumePrometheusData, Target: "/prometheus"}},
		Files:       files,
		Health:      serviceHealth(PortPrometheus, "/-/ready", 30*time.Second),
		DependsOn:   []Dependency{{Service: ServiceAlertmanager, Condition: Healthy}},
		StopTimeout: 30 * time.Second, // a clean TSDB shutdown skips the WAL replay at the next start
	}, nil
}

func alertmanagerService(c Config) (Service, error) {
	cfg, err := promconfig.RenderAlertmanager(c.Observability.Alerting)
	if err != nil {
		return Service{}, err
	}
	// The config names the secret files; these variables name them too, so
	// the service follows (and is recreated with) their secret jobs.
	var env []EnvVar
	if r := c.Observability.Receivers; r.Email != nil && r.Email.PasswordFile != "" {
		env = append(env, EnvVar{Name: "KIT_SMTP_PASSWORD_FILE", Value: r.Email.PasswordFile})
	}
	if r := c.Observability.Receivers; r.SlackURLFile != "" {
		env = append(env, EnvVar{Name: "KIT_SLACK_WEBHOOK_URL_FILE", Value: r.SlackURLFile})
	}
	return Service{
		Name:  ServiceAlertmanager,
		Env:   env,
		Kind:  LongRunning,
		Image: c.Images.Alertmanager,
		Command: []string{
			"--config.file=" + alertmanagerConfigPath,
			"--storage.path=/alertmanager",
			"--web.listen-address=:" + strconv.Itoa(PortAlertmanager),
			// One instance: no gossip port.
			"--cluster.listen-address=",
		},
		Ports:  []Port{{Name: "http", Container: PortAlertmanager}},
		Mounts: []Mount{{Volume: VolumeAlertmanagerData, Target: "/alertmanager"}},
		Files:  []File{{Path: alertmanagerConfigPath, Content: cfg, Mode: 0o644}},
		Health: serviceHealth(PortAlertmanager, "/-/ready", 20*time.Second),
	}, nil
}

func nodeExporter(c Config) Service {
	return Service{
		Name:  ServiceNodeExporter,
		Kind:  LongRunning,
		Image: c.Images.NodeExporter,
		Command: []string{
			"--path.rootfs=/host",
			"--web.listen-address=:" + strconv.Itoa(PortNodeExporter),
			// Docker's own mounts inside the host's tree say nothing about its disks.
			"--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+|var/lib/containerd/.+)($|/)",
		},
		Ports:  []Port{{Name: "metrics", Container: PortNodeExporter}},
		Mounts: []Mount{{Volume: VolumeHostRoot, Target: "/host", ReadOnly: true}},
		Health: sidecarHealth(PortNodeExporter, "/"),
	}
}

// postgresExporter reads PostgreSQL as the read-only monitoring role, whose
// password the postgresql service's start script sets from its secret.
func postgresExporter(c Config, pgHost string, deps []Dependency) Service {
	return Service{
		Name:  ServicePostgresExporter,
		Kind:  LongRunning,
		Image: c.Images.PostgresExporter,
		Command: []string{
			"--web.listen-address=:" + strconv.Itoa(PortPostgresExporter),
		},
		Env: []EnvVar{
			{Name: "DATA_SOURCE_URI", Value: hostPort(pgHost, c.Postgres.Port) + "/postgres?sslmode=disable"},
			{Name: "DATA_SOURCE_USER", Value: MonitoringRole},
			{Name: "DATA_SOURCE_PASS_FILE", Value: SecretPath(SecretMonitoringPassword)},
		},
		Ports:     []Port{{Name: "metrics", Container: PortPostgresExporter}},
		Health:    sidecarHealth(PortPostgresExporter, "/"),
		DependsOn: deps,
	}
}

// containerExporter reports the stack's containers from the Docker API, as
// the worker's unprivileged user: it reads the engine through
// docker-gate's read-only API, never the socket.
func containerExporter(c Config) Service {
	s := kitDaemon(c, ServiceContainerMetrics, "container-exporter", "metrics", PortContainerMetrics,
		"-engine", "http://"+hostPort(ServiceDockerGate, PortDockerGate))
	s.DependsOn = []Dependency{{Service: ServiceDockerGate, Condition: Healthy}}
	return s
}

// Warning is what `pulumi up` says about the alerts: that they go nowhere
// when the stack sets no receiver; "" otherwise.
func (o Observability) Warning() string {
	if !o.Receivers.None() {
		return ""
	}
	return "alerts go nowhere: no receiver is set, so Alertmanager delivers no alert (they show only in Prometheus at /alerts). " +
		"Set one: `pulumi config set " + Namespace + ":alertWebhookUrl https://hooks.example.com/alerts`, " +
		"alertEmail with `pulumi config set --secret " + Namespace + ":alertSmtpPassword <password>`, " +
		"or `pulumi config set --secret " + Namespace + ":alertSlackWebhookUrl <url>`"
}
