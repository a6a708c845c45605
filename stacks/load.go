package stacks

import (
	"errors"
	"maps"
	"net"
	"regexp"
	"strings"
	"time"
)

// load reads every key and records the problems of their values.
func (l *loader) load(stack string) Config {
	c := Config{Stack: stack}
	c.Target = loadTarget(l)
	c.Catalog, c.Images = loadImages(l)
	c.Postgres = loadPostgres(l)
	c.HistoryShards = loadHistoryShards(l)
	c.Namespace, c.NamespaceRetention = loadNamespace(l)
	c.LogLevel = loadLogLevel(l)
	c.BindAddress = loadBindAddress(l)

	c.HostPorts = HostPorts{Temporal: 7233, UI: 8080, Worker: PortWorkerAPI, Prometheus: PortPrometheus, Grafana: PortGrafana}
	l.object("hostPorts", &c.HostPorts)
	checkHostPorts(l, c.HostPorts)
	c.PublicPorts = loadPublicPorts(l, c.BindAddress, c.HostPorts)
	c.Proxy = loadProxy(l, c.HostPorts)

	c.Worker = loadWorker(l)
	c.Observability = loadObservability(l)
	c.Backup = loadBackup(l)
	c.Hetzner = loadHetzner(l, c.Target)
	c.SSH = loadSSH(l, c.Target)
	c.MemoryMB = loadMemoryMB(l)
	return c
}

func loadTarget(l *loader) Target {
	t := Target(l.str("target", string(TargetLocal)))
	switch t {
	case TargetLocal, TargetHetzner, TargetSSH:
	default:
		l.fail("target", "unknown target %q; use %q (local Docker engine), %q (Hetzner VPS) or %q (your server's Docker engine over SSH)", t, TargetLocal, TargetHetzner, TargetSSH)
	}
	return t
}

// loadImages reads the catalog and the per-image overrides on top of it.
func loadImages(l *loader) (catalog string, images Images) {
	catalog = l.str("imageCatalog", CatalogOfficial)
	cat, ok := Catalogs[catalog]
	if !ok {
		l.fail("imageCatalog", "unknown image catalog %q; use %q (pinned upstream images) or %q (built offline by `go run ./infra/images/cmd/kit-images build`)", catalog, CatalogOfficial, CatalogLocal)
		cat = Catalogs[CatalogOfficial]
	}
	var override Images
	l.object("images", &override)
	images = cat.With(override)
	checkImages(l, images, cat)
	return catalog, images
}

// loadPostgres reads the database keys: a postgresHost, even blank, means
// an existing server, which needs its password.
func loadPostgres(l *loader) Postgres {
	pg := Postgres{
		Host: l.str("postgresHost", ServicePostgres),
		Port: l.integer("postgresPort", 5432),
		User: l.str("postgresUser", "temporal"),
	}
	rawHost, existing := l.get("postgresHost")
	pg.Existing = existing
	if existing {
		pg.Host = strings.TrimSpace(rawHost)
	}
	pw, pwSet := l.secret("postgresPassword")
	pg.PasswordSet = pwSet && pw != ""
	if pg.Existing && !pg.PasswordSet {
		l.fail("postgresPassword", "required when postgresHost is set (an existing PostgreSQL); set it with `pulumi config set --secret %s:postgresPassword <password>`", Namespace)
	}
	if pg.Existing && pg.Host == "" {
		l.fail("postgresHost", "is empty; remove the key to run PostgreSQL in the stack, or set the existing server's host name")
	}
	checkPort(l, "postgresPort", pg.Port)
	if !postgresUserRE.MatchString(pg.User) {
		l.fail("postgresUser", "%q is not a PostgreSQL identifier the kit accepts (it goes unquoted into SQL and URLs): "+
			"use 1-63 lower-case letters, digits or '_', not starting with a digit (default temporal)", pg.User)
	}
	return pg
}

func loadHistoryShards(l *loader) int {
	n := l.integer("historyShards", 4)
	if n < 1 || n > 16384 || n&(n-1) != 0 {
		l.fail("historyShards", "%d is not a power of two between 1 and 16384; pick one (default 4; 512 for heavy production) and never change it once the cluster exists", n)
	}
	return n
}

// loadNamespace reads the Temporal namespace and its retention.
func loadNamespace(l *loader) (name string, retention time.Duration) {
	name = l.str("namespace", "ampledata")
	if !namespaceRE.MatchString(name) {
		l.fail("namespace", "%q is not a valid Temporal namespace; use 2-255 letters, digits, '-', '_' or '.'", name)
	}
	raw := l.str("namespaceRetention", "72h")
	d, err := ParseRetention(raw)
	switch {
	case errors.Is(err, errRetentionTooLong):
		fallthrough
	case err == nil && d > MaxNamespaceRetention:
		l.fail("namespaceRetention", "%s is longer than the kit allows (%s): Temporal keeps every closed workflow's history in PostgreSQL that long; "+
			"use at most %s (default 72h), and keep results longer in the pipeline's own database or the backups", raw, FormatRetentionDays(MaxNamespaceRetention), FormatRetentionDays(MaxNamespaceRetention))
	case err != nil:
		l.fail("namespaceRetention", "%q is not a duration; write it like 72h or 30d", raw)
	case d < 24*time.Hour:
		l.fail("namespaceRetention", "%s is below Temporal's minimum of 24h; use at least 24h (default 72h)", raw)
	}
	return name, d
}

func loadLogLevel(l *loader) string {
	level := l.str("logLevel", "info")
	switch level {
	case "debug", "info", "warn", "error":
	default:
		l.fail("logLevel", "unknown log level %q; use debug, info, warn or error", level)
	}
	return level
}

func loadBindAddress(l *loader) string {
	addr := l.str("bindAddress", "127.0.0.1")
	if net.ParseIP(addr) == nil {
		l.fail("bindAddress", "%q is not an IP address; use 127.0.0.1 (default, this host only) or the address of the interface to open", addr)
	}
	return addr
}

// loadMemoryMB is the default memory limits with the configured ones over them.
func loadMemoryMB(l *loader) map[string]int {
	limits := maps.Clone(defaultMemoryMB)
	var mem map[string]int
	l.object("memoryMB", &mem)
	for k, v := range mem {
		if _, known := defaultMemoryMB[k]; !known {
			l.fail("memoryMB", "unknown service %q; known services: %s", k, strings.Join(sortedKeys(defaultMemoryMB), ", "))
			continue
		}
		if v < 64 {
			l.fail("memoryMB", "%s: %d MB is too small; give at least 64", k, v)
			continue
		}
		limits[k] = v
	}
	return limits
}

// postgresUserRE is a conservative PostgreSQL identifier: one that needs no
// quoting anywhere and keeps its case.
var postgresUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
