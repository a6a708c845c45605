package stacks

import (
	"fmt"
	"strconv"
	"time"
)

// Service names: also the DNS names services use to reach each other.
const (
	ServicePostgres   = "postgresql"
	ServiceSchema     = "temporal-schema"
	ServiceTemporal   = "temporal"
	ServiceNamespace  = "temporal-namespace"
	ServiceUI         = "temporal-ui"
	ServiceAdminTools = "temporal-admin-tools"
)

// Names of the Definition's networks, volumes and secrets.
const (
	NetworkBackend         = "backend"
	VolumePostgresData     = "postgres-data"
	SecretPostgresPassword = "postgresPassword"
)

// Container ports every renderer and test relies on.
const (
	PortPostgres        = 5432
	PortTemporalGRPC    = 7233
	PortTemporalMetrics = 8000
	// PortTemporalHTTP is the frontend's HTTP API (the server config's
	// default); only the health check uses it, on the container's loopback.
	PortTemporalHTTP = 7243
	// PortTemporalPprof listens on the server container's loopback only.
	PortTemporalPprof = 7936
	PortUI            = 8080
)

// Build turns a validated Config into the stack's Definition.
func Build(c Config) (Definition, error) {
	d := Definition{
		Stack:    c.Stack,
		Prefix:   "temporal-kit-" + c.Stack,
		Networks: []Network{{Name: NetworkBackend}},
		Secrets:  secrets(c),
	}
	if !grafanaEnabled(c) {
		d.Notes = append(d.Notes, NoteNoGrafana)
	}
	d.Notes = append(d.Notes, publicPortNotes(c)...)
	addCore(c, &d)
	if err := addFrontends(c, &d); err != nil {
		return Definition{}, err
	}
	if err := addMonitoring(c, &d); err != nil {
		return Definition{}, err
	}
	if err := finish(c, &d); err != nil {
		return Definition{}, fmt.Errorf("stack definition: %w", err)
	}
	return d, nil
}

// secrets are the stack's secrets: generated, or set in the config.
func secrets(c Config) []Secret {
	pgSecret := Secret{Name: SecretPostgresPassword, Length: 32}
	if c.Postgres.PasswordSet {
		pgSecret.ConfigKey = "postgresPassword"
	}
	out := []Secret{pgSecret}
	if c.Worker.SerpKeySet {
		out = append(out, Secret{Name: SecretSerpAPIKey, ConfigKey: "serpApiKey"})
	}
	if c.Backup.S3 != nil {
		out = append(out,
			Secret{Name: SecretBackupOffsiteAccessKey, ConfigKey: "backupOffsiteAccessKey"},
			Secret{Name: SecretBackupOffsiteSecretKey, ConfigKey: "backupOffsiteSecretKey"})
	}
	if c.Proxy.Enabled() {
		proxySecret := Secret{Name: SecretProxyPassword, Length: 32}
		if c.Proxy.PasswordSet {
			proxySecret.ConfigKey = "proxyPassword"
		}
		out = append(out, proxySecret)
	}
	if grafanaEnabled(c) {
		out = append(out, Secret{Name: SecretGrafanaAdminPassword, Length: 32})
	}
	return append(out, observabilitySecrets(c)...)
}

// database is where the services find PostgreSQL, and what they wait for:
// the stack's own server once healthy, or an existing one as it is.
func database(c Config) (host string, dep []Dependency) {
	if c.Postgres.Existing {
		return c.Postgres.Host, nil
	}
	return ServicePostgres, []Dependency{{Service: ServicePostgres, Condition: Healthy}}
}

// addCore adds PostgreSQL (unless an existing server is used), the
// Temporal core, the worker and the backup service.
func addCore(c Config, d *Definition) {
	pgHost, pgDep := database(c)
	if !c.Postgres.Existing {
		d.Volumes = append(d.Volumes, Volume{Name: VolumePostgresData})
		d.Services = append(d.Services, readsSecrets(postgres(c)))
	}
	d.Services = append(d.Services,
		readsSecrets(schemaJob(c, pgHost, pgDep)),
		readsSecrets(temporalServer(c, pgHost)),
		namespaceJob(c),
		ui(c),
		adminTools(c),
		readsSecrets(worker(c, pgHost, pgDep)),
		readsSecrets(backupService(c, pgHost, pgDep)),
	)
}

// addFrontends adds Grafana and the proxy when enabled, and the backups'
// volume between them (the order of the Definition is kept).
func addFrontends(c Config, d *Definition) error {
	if grafanaEnabled(c) {
		g, err := grafana(c)
		if err != nil {
			return fmt.Errorf("grafana: %w", err)
		}
		d.Services = append(d.Services, readsSecrets(g))
	}
	d.Volumes = append(d.Volumes, Volume{Name: VolumeBackups})
	if c.Proxy.Enabled() {
		d.Volumes = append(d.Volumes, Volume{Name: VolumeProxyData})
		d.Services = append(d.Services, readsSecrets(proxy(c)))
	}
	return nil
}

// addMonitoring adds Prometheus, Alertmanager, the exporters and
// docker-gate with their volumes.
func addMonitoring(c Config, d *Definition) error {
	prom, err := prometheusService(c, !c.Postgres.Existing)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	am, err := alertmanagerService(c)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	d.Volumes = append(d.Volumes,
		Volume{Name: VolumePrometheusData},
		Volume{Name: VolumeAlertmanagerData},
		Volume{Name: VolumeHostRoot, HostPath: "/"},
		Volume{Name: VolumeDockerSocket, HostPath: "/var/run/docker.sock"},
	)
	d.Services = append(d.Services, readsSecrets(am), prom, nodeExporter(c), dockerGate(c), containerExporter(c))
	// The monitoring role exists only in the stack's own PostgreSQL; an
	// existing server is watched by whoever runs it.
	if !c.Postgres.Existing {
		pgHost, pgDep := database(c)
		d.Services = append(d.Services, readsSecrets(postgresExporter(c, pgHost, pgDep)))
	}
	return nil
}

// finish puts the services on the proxy's network, gives each the
// defaults and its secrets, and checks the start order.
func finish(c Config, d *Definition) error {
	if c.Proxy.Enabled() {
		joinProxyNetwork(c, d)
	}
	for i := range d.Services {
		applyDefaults(c, &d.Services[i])
	}
	if err := giveSecrets(c, d); err != nil {
		return err
	}
	_, err := d.StartOrder()
	return err
}

// applyDefaults gives every container the kit's baseline: a network,
// capped logs, a memory limit, a restart policy, dropped privileges.
func applyDefaults(c Config, s *Service) {
	if len(s.Networks) == 0 {
		s.Networks = []NetworkAttachment{{Network: NetworkBackend, Aliases: []string{s.Name}}}
	}
	s.Logging = Logging{Driver: "json-file", MaxSize: "10m", MaxFile: 3}
	if s.MemoryMB == 0 {
		s.MemoryMB = c.MemoryMB[s.Name]
	}
	if s.Restart == "" {
		if s.Kind == OneShot {
			s.Restart = "no" // a deploy runs jobs again; a crash-looping job would hide the error
		} else {
			s.Restart = "unless-stopped"
		}
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[LabelStack] = c.Stack
	s.Labels[LabelService] = s.Name
	s.Labels[LabelKind] = string(s.Kind)
	if h := healLabel(*s); h != "" {
		s.Labels[LabelHeal] = h
	}
	withGoMemLimit(s)
	s.Env = sortEnv(s.Env)
	dropPrivileges(s)
}

// publish publishes a container port on the host port under hostPorts
// key (0: not published), on the interface the config gives that key
// (Config.HostIP).
func publish(c Config, key, name string, container int) []Port {
	return []Port{{Name: name, Container: container, Host: c.HostPorts.byKey(key), HostIP: c.HostIP(key)}}
}

// FormatRetention renders a retention the way the temporal CLI takes it.
func FormatRetention(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
}
