// Package rendertest holds, written out by hand, what containers of the dev
// stack must look like: one table the tests of both renderers
// (infra/render and stacks/stacktest) check their output against, so the
// twins cannot drift apart, nor both drift from what was meant.
package rendertest

import (
	"fmt"
	"reflect"
	"time"
)

// Container is what a renderer's test reads back from its output, in the
// terms both renderers share. Ports and files are left out: the two
// publish and copy differently by design.
type Container struct {
	// Name is the deploy's container name; stacktest's test drops its run id.
	Name string
	User string
	// Labels hold, per job followed, "<job>-id": the ID both tests give
	// a job's container. stacktest's own run label is left out.
	Labels map[string]string
	// Health is nil for a job.
	Health *Health
	// Wait is "healthy" for a service, "exited" for a job.
	Wait string
	// Networks maps the Docker network name (the deploy's) to the aliases.
	Networks map[string][]string
	// Mounts are "volume|bind <source> <target> rw|ro", sources by the deploy's names.
	Mounts       []string
	MemoryMB     int
	MemorySwapMB int
	// Restart is the Docker restart policy; "no" when none.
	Restart      string
	Logs         string // "<driver> max-size=<size> max-file=<n>"
	StopSignal   string
	StopTimeout  time.Duration
	CapDrop      []string
	CapAdd       []string
	SecurityOpts []string
}

// Health is a container's Docker health check.
type Health struct {
	Test                           []string
	Interval, Timeout, StartPeriod time.Duration
	Retries                        int
}

// Compare returns what differs between got and want, field by field.
func Compare(got, want Container) []string {
	var diffs []string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			f := g.Type().Field(i).Name
			gv, wv := g.Field(i).Interface(), w.Field(i).Interface()
			if f == "Health" && got.Health != nil && want.Health != nil {
				gv, wv = *got.Health, *want.Health
			}
			diffs = append(diffs, fmt.Sprintf("%s = %+v, want %+v", f, gv, wv))
		}
	}
	return diffs
}

// Prefix is the dev stack's container name prefix.
const Prefix = "temporal-kit-dev"

// Config is the dev stack config the table is for: the defaults (any
// image catalog: the table holds no image).
var Config = map[string]string{}

// What many containers share.
var (
	logs       = "json-file max-size=10m max-file=3"
	dropAll    = []string{"ALL"}
	noNewPrivs = []string{"no-new-privileges"}
)

// backend is the attachment to the backend network under alias.
func backend(alias string) map[string][]string {
	return map[string][]string{"temporal-kit-dev-backend": {alias}}
}

// secretsRO is the read-only mount of svc's secrets volume.
func secretsRO(svc string) string {
	return "volume temporal-kit-dev-secrets-" + svc + " /run/temporal-kit/secrets ro"
}

// serviceKeys and jobKeys are the labels every service or job carries.
func serviceKeys(svc, heal string) map[string]string {
	return map[string]string{"temporal-kit.stack": "dev", "temporal-kit.service": svc, "temporal-kit.kind": "service", "temporal-kit.heal": heal}
}

func jobKeys(svc string) map[string]string {
	return map[string]string{"temporal-kit.stack": "dev", "temporal-kit.service": svc, "temporal-kit.kind": "job"}
}

// secretsJob is the container of the job that writes svc's secrets.
func secretsJob(svc string) Container {
	return Container{
		Name: "temporal-kit-dev-secrets-" + svc, User: "root", Labels: jobKeys("secrets-" + svc), Wait: "exited",
		Networks: backend("secrets-" + svc), Mounts: []string{"volume temporal-kit-dev-secrets-" + svc + " /run/temporal-kit/secrets rw"},
		MemoryMB: 64, MemorySwapMB: 64, Restart: "no", Logs: logs,
		CapDrop: dropAll, CapAdd: []string{"CAP_CHOWN", "CAP_FOWNER"}, SecurityOpts: noNewPrivs,
	}
}

// check is a CMD-SHELL health check.
func check(test string, interval, timeout, startPeriod time.Duration, retries int) *Health {
	return &Health{Test: []string{"CMD-SHELL", test}, Interval: interval, Timeout: timeout, StartPeriod: startPeriod, Retries: retries}
}

// follows adds the label a service carries for a job it follows.
func follows(labels map[string]string, job string) map[string]string {
	labels["temporal-kit.follows."+job] = job + "-id"
	return labels
}

// Dev is, by service name, what some of the dev stack's containers must
// look like: a database with a data volume, a job, the Temporal server,
// the worker, a service on host binds, the engine gate running as root, an
// alert-only service and a secrets job.
var Dev = map[string]Container{
	"postgresql": {
		Name: "temporal-kit-dev-postgresql", Labels: follows(serviceKeys("postgresql", "restart"), "secrets-postgresql"),
		Health: check(`ip=$(hostname -i | cut -d' ' -f1) && [ -n "$ip" ] && PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" psql -h "$ip" -U "$POSTGRES_USER" -d postgres -X -tAc 'select 1' | grep -qx 1`, 5*time.Second, 5*time.Second, time.Minute, 12),
		Wait:   "healthy", Networks: backend("postgresql"),
		Mounts:   []string{"volume temporal-kit-dev-postgres-data /var/lib/postgresql/data rw", secretsRO("postgresql")},
		MemoryMB: 768, MemorySwapMB: 768, Restart: "unless-stopped", Logs: logs, StopSignal: "SIGINT", StopTimeout: time.Minute,
		CapDrop: dropAll, CapAdd: []string{"CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"}, SecurityOpts: noNewPrivs,
	},
	"temporal-schema": {
		Name: "temporal-kit-dev-temporal-schema", Labels: follows(jobKeys("temporal-schema"), "secrets-temporal-schema"),
		Wait: "exited", Networks: backend("temporal-schema"), Mounts: []string{secretsRO("temporal-schema")},
		MemoryMB: 256, MemorySwapMB: 256, Restart: "no", Logs: logs,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"temporal": {
		Name: "temporal-kit-dev-temporal", Labels: follows(serviceKeys("temporal", "restart"), "secrets-temporal"),
		Health: check("timeout 4 wget -q -O /dev/null http://127.0.0.1:7243/api/v1/system-info", 5*time.Second, 5*time.Second, 2*time.Minute, 3),
		Wait:   "healthy", Networks: backend("temporal"), Mounts: []string{secretsRO("temporal")},
		MemoryMB: 1024, MemorySwapMB: 1024, Restart: "unless-stopped", Logs: logs, StopTimeout: 30 * time.Second,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"worker": {
		Name: "temporal-kit-dev-worker", Labels: follows(serviceKeys("worker", "alert"), "secrets-worker"),
		Health: check("wget -q -O /dev/null http://127.0.0.1:8000/readyz", 10*time.Second, 5*time.Second, 30*time.Second, 6),
		Wait:   "healthy", Networks: backend("worker"), Mounts: []string{secretsRO("worker")},
		MemoryMB: 512, MemorySwapMB: 512, Restart: "unless-stopped", Logs: logs, StopSignal: "SIGTERM", StopTimeout: 45 * time.Second,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"node-exporter": {
		Name: "temporal-kit-dev-node-exporter", Labels: serviceKeys("node-exporter", "restart"),
		Health: check("wget -q -O /dev/null http://127.0.0.1:9100/", 30*time.Second, 5*time.Second, 10*time.Second, 3),
		Wait:   "healthy", Networks: backend("node-exporter"), Mounts: []string{"bind / /host ro"},
		MemoryMB: 64, MemorySwapMB: 64, Restart: "unless-stopped", Logs: logs,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"docker-gate": {
		Name: "temporal-kit-dev-docker-gate", User: "root", Labels: serviceKeys("docker-gate", "alert"),
		Health: check("wget -q -O /dev/null http://127.0.0.1:2375/healthz", 30*time.Second, 5*time.Second, 10*time.Second, 3),
		Wait:   "healthy", Networks: backend("docker-gate"), Mounts: []string{"bind /var/run/docker.sock /var/run/docker.sock ro"},
		MemoryMB: 64, MemorySwapMB: 64, Restart: "unless-stopped", Logs: logs,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"temporal-admin-tools": {
		Name: "temporal-kit-dev-temporal-admin-tools", Labels: serviceKeys("temporal-admin-tools", "alert"),
		Health: check("temporal operator cluster health | grep -q SERVING", 30*time.Second, 10*time.Second, 30*time.Second, 3),
		Wait:   "healthy", Networks: backend("temporal-admin-tools"),
		MemoryMB: 256, MemorySwapMB: 256, Restart: "unless-stopped", Logs: logs,
		CapDrop: dropAll, SecurityOpts: noNewPrivs,
	},
	"secrets-worker": secretsJob("worker"),
}
