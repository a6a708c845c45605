package stacks

import (
	_ "embed"
	"fmt"
	"strconv"
	"time"
)

// The Temporal core: PostgreSQL, the schema job, the server, the namespace
// job, the UI and the admin tools.

var (
	//go:embed files/dynamicconfig.yaml
	dynamicConfig string
	//go:embed files/setup-schema.sh
	setupSchemaScript string
	//go:embed files/register-namespace.sh
	registerNamespaceScript string
	//go:embed files/postgres-start.sh
	postgresStartScript string
)

const (
	dynamicConfigPath = "/etc/temporal/config/dynamicconfig/temporal-kit.yaml"
	kitScriptsDir     = "/etc/temporal-kit"
)

func postgres(c Config) Service {
	start := script("postgres-start.sh", postgresStartScript)
	return Service{
		Name:  ServicePostgres,
		Kind:  LongRunning,
		Image: c.Images.Postgres,
		// The image's entrypoint, wrapped: it also applies the stack's current
		// password to a database that was initialised with another one.
		Entrypoint: start.run(),
		Command:    postgresCommand(c),
		Env: []EnvVar{
			{Name: "POSTGRES_USER", Value: c.Postgres.User},
			{Name: "POSTGRES_PASSWORD_FILE", Value: SecretPath(SecretPostgresPassword)},
			{Name: "POSTGRES_DB", Value: "postgres"},
			{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
			// postgres-start.sh creates the read-only role postgres-exporter uses.
			{Name: "KIT_MONITORING_ROLE", Value: MonitoringRole},
			{Name: "KIT_MONITORING_PASSWORD_FILE", Value: SecretPath(SecretMonitoringPassword)},
		},
		Ports:  publish(c, "postgres", "postgres", PortPostgres),
		Mounts: []Mount{{Volume: VolumePostgresData, Target: "/var/lib/postgresql/data"}},
		Files:  []File{start.file()},
		// Healthy means what dependents need: a login over the network with
		// the stack's password. Over the container's own address on purpose:
		// the socket and loopback trust every local user, and during
		// first-start init the server listens on the socket only.
		Health: &HealthCheck{
			Test:     `ip=$(hostname -i | cut -d' ' -f1) && [ -n "$ip" ] && PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" psql -h "$ip" -U "$POSTGRES_USER" -d postgres -X -tAc 'select 1' | grep -qx 1`,
			Interval: 5 * time.Second, Timeout: 5 * time.Second, StartPeriod: 60 * time.Second, Retries: 12,
		},
		StopSignal:  "SIGINT", // fast shutdown: aborts sessions, checkpoints, exits cleanly
		StopTimeout: 60 * time.Second,
	}
}

// postgresCommand is the server's command line: settings sized for its
// memory limit (docs/tuning.md), and pg_stat_statements loaded so an
// operator (and the load tool) can see the busiest statements.
func postgresCommand(c Config) []string {
	mem := c.MemoryMB[ServicePostgres]
	settings := []string{
		"shared_preload_libraries=pg_stat_statements",
		"pg_stat_statements.track=top",
		fmt.Sprintf("shared_buffers=%dMB", mem/4),
		fmt.Sprintf("effective_cache_size=%dMB", mem/2),
		"work_mem=4MB",
		fmt.Sprintf("maintenance_work_mem=%dMB", max(16, mem/16)),
		"wal_buffers=16MB",
		"max_wal_size=1GB",
		"random_page_cost=1.1",
	}
	cmd := []string{"postgres"}
	for _, s := range settings {
		cmd = append(cmd, "-c", s)
	}
	return cmd
}

func sqlEnv(c Config, host string) []EnvVar {
	return []EnvVar{
		{Name: "SQL_PLUGIN", Value: "postgres12"},
		{Name: "SQL_HOST", Value: host},
		{Name: "SQL_PORT", Value: strconv.Itoa(c.Postgres.Port)},
		{Name: "SQL_USER", Value: c.Postgres.User},
		// setup-schema.sh exports SQL_PASSWORD from it.
		{Name: "KIT_SQL_PASSWORD_FILE", Value: SecretPath(SecretPostgresPassword)},
	}
}

func schemaJob(c Config, pgHost string, deps []Dependency) Service {
	job := script("setup-schema.sh", setupSchemaScript)
	return Service{
		Name:      ServiceSchema,
		Kind:      OneShot,
		Image:     c.Images.TemporalAdminTools,
		Command:   job.run(),
		Env:       sqlEnv(c, pgHost),
		Files:     []File{job.file()},
		DependsOn: deps,
	}
}

func temporalServer(c Config, pgHost string) Service {
	return Service{
		Name:  ServiceTemporal,
		Kind:  LongRunning,
		Image: c.Images.TemporalServer,
		// The image's own entrypoint, with the password read from its file
		// into the process env only (docker inspect does not show it).
		Entrypoint: []string{"sh", "-c", `POSTGRES_PWD="$(cat "$KIT_POSTGRES_PWD_FILE")" && export POSTGRES_PWD && exec /etc/temporal/entrypoint.sh`},
		Env: []EnvVar{
			{Name: "DB", Value: "postgres12"},
			{Name: "POSTGRES_SEEDS", Value: pgHost},
			{Name: "DB_PORT", Value: strconv.Itoa(c.Postgres.Port)},
			{Name: "POSTGRES_USER", Value: c.Postgres.User},
			// The server's config template reads POSTGRES_PWD from the env:
			// the entrypoint below sets it from this file.
			{Name: "KIT_POSTGRES_PWD_FILE", Value: SecretPath(SecretPostgresPassword)},
			{Name: "NUM_HISTORY_SHARDS", Value: strconv.Itoa(c.HistoryShards)},
			// All four services share one process; keep its pools well under PostgreSQL's 100 connections.
			{Name: "SQL_MAX_CONNS", Value: "10"},
			{Name: "SQL_MAX_IDLE_CONNS", Value: "10"},
			{Name: "SQL_VIS_MAX_CONNS", Value: "5"},
			{Name: "SQL_VIS_MAX_IDLE_CONNS", Value: "5"},
			{Name: "BIND_ON_IP", Value: "0.0.0.0"},
			{Name: "PROMETHEUS_ENDPOINT", Value: "0.0.0.0:" + strconv.Itoa(PortTemporalMetrics)},
			{Name: "DYNAMIC_CONFIG_FILE_PATH", Value: "config/dynamicconfig/temporal-kit.yaml"},
			{Name: "LOG_LEVEL", Value: c.LogLevel},
			// Go's pprof on the container's own loopback only (the server's
			// default host): reachable with docker exec, published nowhere.
			{Name: "PPROF_PORT", Value: strconv.Itoa(PortTemporalPprof)},
		},
		Ports: append(publish(c, "temporal", "grpc", PortTemporalGRPC),
			Port{Name: "metrics", Container: PortTemporalMetrics}),
		Files: []File{{Path: dynamicConfigPath, Content: dynamicConfig, Mode: 0o644}},
		// A real call into the frontend: GetSystemInfo through its HTTP API,
		// which runs the gRPC handler chain in-process and needs no database
		// (a PostgreSQL outage must not get Temporal restarted). A frozen or
		// hung frontend fails it; `nc -z` passed while the port merely
		// accepted. wget and timeout are in the official image (busybox) and
		// the local one; timeout, not wget's own -T, ends it: GNU wget retries.
		// Three failures in a row after the start period mark it unhealthy,
		// then docker-gate restarts it.
		Health: &HealthCheck{
			Test:     "timeout 4 wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(PortTemporalHTTP) + "/api/v1/system-info",
			Interval: 5 * time.Second, Timeout: 5 * time.Second, StartPeriod: 120 * time.Second, Retries: 3,
		},
		DependsOn:   []Dependency{{Service: ServiceSchema, Condition: Completed}},
		StopTimeout: 30 * time.Second,
	}
}

func temporalAddress() string { return ServiceTemporal + ":" + strconv.Itoa(PortTemporalGRPC) }

func namespaceJob(c Config) Service {
	job := script("register-namespace.sh", registerNamespaceScript)
	return Service{
		Name:    ServiceNamespace,
		Kind:    OneShot,
		Image:   c.Images.TemporalAdminTools,
		Command: job.run(),
		Env: []EnvVar{
			{Name: "TEMPORAL_ADDRESS", Value: temporalAddress()},
			{Name: "KIT_NAMESPACE", Value: c.Namespace},
			{Name: "KIT_RETENTION", Value: FormatRetention(c.NamespaceRetention)},
		},
		Files:     []File{job.file()},
		DependsOn: []Dependency{{Service: ServiceTemporal, Condition: Healthy}},
	}
}

func ui(c Config) Service {
	return Service{
		Name:  ServiceUI,
		Kind:  LongRunning,
		Image: c.Images.TemporalUI,
		Env: []EnvVar{
			{Name: "TEMPORAL_ADDRESS", Value: temporalAddress()},
			{Name: "TEMPORAL_UI_PORT", Value: strconv.Itoa(PortUI)},
			{Name: "TEMPORAL_CORS_ORIGINS", Value: uiOrigins(c)},
			{Name: "TEMPORAL_DEFAULT_NAMESPACE", Value: c.Namespace},
		},
		Ports:     publish(c, "ui", "http", PortUI),
		Health:    serviceHealth(PortUI, "/", 30*time.Second),
		DependsOn: []Dependency{{Service: ServiceNamespace, Condition: Completed}},
	}
}

func adminTools(c Config) Service {
	return Service{
		Name:    ServiceAdminTools,
		Kind:    LongRunning,
		Image:   c.Images.TemporalAdminTools,
		Command: []string{"tail", "-f", "/dev/null"},
		Env:     []EnvVar{{Name: "TEMPORAL_ADDRESS", Value: temporalAddress()}},
		// Healthy means an operator who execs in here can reach the cluster:
		// Temporal's health, which a restart of this container does not fix.
		Health: &HealthCheck{
			Test:     "temporal operator cluster health | grep -q SERVING",
			Interval: 30 * time.Second, Timeout: 10 * time.Second, StartPeriod: 30 * time.Second, Retries: 3,
			AlertOnly: true,
		},
		DependsOn: []Dependency{{Service: ServiceTemporal, Condition: Healthy}},
	}
}

// uiOrigins are the origins a browser reaches the UI from: the published
// port (or an SSH tunnel to it) and, with a domain, the proxy.
func uiOrigins(c Config) string {
	origins := "http://localhost:" + strconv.Itoa(hostOr(c.HostPorts.UI, PortUI))
	if c.Proxy.Enabled() {
		origins += ",https://" + c.Proxy.Domain
	}
	return origins
}

func hostOr(host, def int) int {
	if host == 0 {
		return def
	}
	return host
}
