package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// These tests check, against the built images, the contract each one
// promises: quickly, all in parallel. PostgreSQL runs as the Definition
// renders it (stacktest); the other checks start single containers on
// purpose, because they test what the Definition never renders: default
// commands and entrypoints, a bad configuration, Prometheus (not in the
// Definition yet), the fixture server alone. The UI and the rest of the
// Definition run for real in stacks/integration.

const buildHint = "run go run ./infra/images/cmd/kit-images build"

// requireImages skips loudly without a Docker engine (fails under CI) and
// fails when an image of the set is missing.
func requireImages(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var missing []string
	for _, im := range Set() {
		_, ok, err := Inspect(ctx, im.Tag)
		if errors.Is(err, ErrNoDocker) || errors.Is(err, exec.ErrNotFound) {
			if os.Getenv("CI") != "" {
				t.Fatalf("Docker engine not reachable under CI: %v", err)
			}
			t.Skipf("DOCKER NOT AVAILABLE: skipping the image contract tests (%v). Start dockerd to run them.", err)
		}
		if err != nil {
			t.Fatalf("inspect %s: %v", im.Tag, err)
		}
		if !ok {
			missing = append(missing, im.Tag)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("images not built: %s; %s", strings.Join(missing, ", "), buildHint)
	}
}

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// runOnce runs a command in a throwaway container and returns its output.
func runOnce(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := docker(ctx, append([]string{"run", "--rm", "--label", "temporal-kit.images-test=1"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// start runs a detached container removed (with its volumes) after the test.
func start(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := docker(ctx, append([]string{"run", "-d", "--label", "temporal-kit.images-test=1"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := docker(context.Background(), "logs", "--tail", "40", id)
			t.Logf("last log lines of %s:\n%s", id[:12], logs)
		}
		_, _ = docker(context.Background(), "rm", "-f", "-v", id)
	})
	return id
}

// hostPort is the 127.0.0.1 address a published container port answers on.
func hostPort(t *testing.T, ctx context.Context, id string, port int) string {
	t.Helper()
	out, err := docker(ctx, "port", id, fmt.Sprintf("%d/tcp", port))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			return line
		}
	}
	t.Fatalf("port %d of %s is not published on 127.0.0.1: %q", port, id, out)
	return ""
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

func userOf(t *testing.T, ctx context.Context, image string) string {
	t.Helper()
	return strings.TrimSpace(runOnce(t, ctx, "--entrypoint", "id", image, "-un"))
}

func tagOf(name string) string {
	for _, im := range Set() {
		if im.Name == name {
			return im.Tag
		}
	}
	panic("no image " + name)
}

func TestImageContracts(t *testing.T) {
	requireImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	def := stacktest.LocalDev(t)

	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		testPostgres(t, ctx, def)
	})
	t.Run("temporal-server", func(t *testing.T) {
		t.Parallel()
		testTemporalServer(t, ctx)
	})
	t.Run("temporal-admin-tools", func(t *testing.T) {
		t.Parallel()
		testAdminTools(t, ctx)
	})
	t.Run("prometheus", func(t *testing.T) {
		t.Parallel()
		testPrometheus(t, ctx)
	})
	t.Run("worker", func(t *testing.T) {
		t.Parallel()
		testWorker(t, ctx, def)
	})
	t.Run("fixture-server", func(t *testing.T) {
		t.Parallel()
		testFixtureServer(t, ctx)
	})
	t.Run("caddy", func(t *testing.T) {
		t.Parallel()
		testCaddy(t, ctx)
	})
	t.Run("node-exporter", func(t *testing.T) {
		t.Parallel()
		testNodeExporter(t, ctx)
	})
	t.Run("postgres-exporter", func(t *testing.T) {
		t.Parallel()
		testPostgresExporter(t, ctx)
	})
	t.Run("alertmanager", func(t *testing.T) {
		t.Parallel()
		testAlertmanager(t, ctx)
	})
	t.Run("container-exporter", func(t *testing.T) {
		t.Parallel()
		testContainerExporter(t, ctx)
	})
	t.Run("docker-gate", func(t *testing.T) {
		t.Parallel()
		testDockerGate(t, ctx)
	})
	t.Run("backup", func(t *testing.T) {
		t.Parallel()
		testBackup(t, ctx)
	})
	t.Run("versitygw", func(t *testing.T) {
		t.Parallel()
		testVersityGW(t, ctx)
	})
}

// metricsOf starts image with args, waits for its /metrics on port, and
// returns the body.
func metricsOf(t *testing.T, ctx context.Context, port int, want string, args ...string) string {
	t.Helper()
	id := start(t, ctx, append([]string{"-p", fmt.Sprintf("127.0.0.1::%d", port)}, args...)...)
	addr := hostPort(t, ctx, id, port)
	var body string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, b, err := httpGet("http://" + addr + "/metrics")
		if err != nil || code != 200 || !strings.Contains(b, want) {
			c.Errorf("%d %v %.200s", code, err, b)
			return
		}
		body = b
	}, 30*time.Second, 300*time.Millisecond, want+" on /metrics")
	return body
}

// node-exporter: the binary as entrypoint, user nobody, port 9100, its
// version stamped, the host's filesystems read through --path.rootfs.
func testNodeExporter(t *testing.T, ctx context.Context) {
	image := tagOf("node-exporter")
	if u := userOf(t, ctx, image); u != "nobody" {
		t.Errorf("runs as %q, want nobody", u)
	}
	if out := runOnce(t, ctx, image, "--version"); !strings.Contains(out, "version "+strings.TrimPrefix(NodeExporterVersion, "v")) {
		t.Errorf("--version: %s", out)
	}
	body := metricsOf(t, ctx, 9100, "node_filesystem_avail_bytes", "-v", "/:/host:ro", image, "--path.rootfs=/host")
	for _, m := range []string{`node_filesystem_size_bytes{device=`, "node_memory_MemAvailable_bytes", "node_load1"} {
		if !strings.Contains(body, m) {
			t.Errorf("no %s in node-exporter's metrics", m)
		}
	}
}

// postgres-exporter: the binary as entrypoint, user nobody, port 9187, the
// DATA_SOURCE_* env with the password from a file; pg_up says 0 when the
// database does not answer (the Definition's run against PostgreSQL is in
// stacks/integration).
func testPostgresExporter(t *testing.T, ctx context.Context) {
	image := tagOf("postgres-exporter")
	if u := userOf(t, ctx, image); u != "nobody" {
		t.Errorf("runs as %q, want nobody", u)
	}
	if out := runOnce(t, ctx, image, "--version"); !strings.Contains(out, "version "+strings.TrimPrefix(PostgresExporterVersion, "v")) {
		t.Errorf("--version: %s", out)
	}
	body := metricsOf(t, ctx, 9187, "pg_up 0",
		"-e", "DATA_SOURCE_URI=127.0.0.1:1/postgres?sslmode=disable", "-e", "DATA_SOURCE_USER=kit_monitoring",
		"-e", "DATA_SOURCE_PASS_FILE=/etc/hostname", image)
	if !strings.Contains(body, "postgres_exporter_build_info") {
		t.Errorf("no build info in postgres-exporter's metrics")
	}
}

// alertmanager: /bin/alertmanager with the official default arguments and
// a default config, amtool beside it, port 9093, user nobody, the API and
// the placeholder page of the UI that is not built in.
func testAlertmanager(t *testing.T, ctx context.Context) {
	image := tagOf("alertmanager")
	if u := userOf(t, ctx, image); u != "nobody" {
		t.Errorf("runs as %q, want nobody", u)
	}
	if out := runOnce(t, ctx, "--entrypoint", "amtool", image, "check-config", "/etc/alertmanager/alertmanager.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("amtool check-config of the default config: %s", out)
	}
	id := start(t, ctx, "-p", "127.0.0.1::9093", image)
	addr := hostPort(t, ctx, id, 9093)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := httpGet("http://" + addr + "/-/ready")
		if err != nil || code != 200 {
			c.Errorf("%d %v %s", code, err, body)
		}
	}, 30*time.Second, 300*time.Millisecond, "alertmanager /-/ready")
	code, body, err := httpGet("http://" + addr + "/api/v2/status")
	if err != nil || code != 200 || !strings.Contains(body, `"version":"`+strings.TrimPrefix(AlertmanagerVersion, "v")+`"`) {
		t.Errorf("status: %d %v %.300s", code, err, body)
	}
	if code, body, _ := httpGet("http://" + addr + "/"); code != 200 || !strings.Contains(body, "without its web UI") {
		t.Errorf("UI placeholder: %d %.200s", code, body)
	}
}

// container-exporter (in the worker image): reads the engine's socket and
// reports the containers of its stack on its networks, itself included,
// with memory against the limit.
func testContainerExporter(t *testing.T, ctx context.Context) {
	image := tagOf("worker")
	stack := "contract-" + randomHex(t, 4)
	body := metricsOf(t, ctx, 9338, "container_memory_working_set_bytes{",
		"--label", stacks.LabelStack+"="+stack, "--label", stacks.LabelService+"=exporter", "--memory", "64m",
		"-e", "KIT_STACK="+stack, "--user", "root", "-v", "/var/run/docker.sock:/var/run/docker.sock:ro",
		"--entrypoint", "/usr/local/bin/container-exporter", image)
	for _, m := range []string{
		`container_spec_memory_limit_bytes{name="`, `service="exporter"} 6.7108864e+07`, "container_exporter_engine_up 1",
		`container_restarts_total{`, `container_running{`,
	} {
		if !strings.Contains(body, m) {
			t.Errorf("no %s in container-exporter's metrics:\n%s", m, body)
		}
	}
}

// docker-gate (in the worker image): reads the engine's socket, counts its
// look in its metrics, and refuses the engine API to anyone but its reader.
func testDockerGate(t *testing.T, ctx context.Context) {
	image := tagOf("worker")
	stack := "contract-" + randomHex(t, 4)
	id := start(t, ctx, "-p", "127.0.0.1::2375", "--label", stacks.LabelStack+"="+stack, "--label", stacks.LabelService+"=gate",
		"-e", "KIT_STACK="+stack, "--user", "root", "-v", "/var/run/docker.sock:/var/run/docker.sock:ro",
		"--entrypoint", "/usr/local/bin/docker-gate", image, "-reader", "container-exporter")
	addr := hostPort(t, ctx, id, 2375)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, b, err := httpGet("http://" + addr + "/metrics")
		if err != nil || code != 200 || !strings.Contains(b, "kit_docker_gate_engine_up 1") {
			c.Errorf("%d %v %.200s", code, err, b)
		}
	}, 30*time.Second, 300*time.Millisecond, "kit_docker_gate_engine_up 1 on /metrics")
	for _, path := range []string{"/containers/json", "/containers/" + id + "/json", "/version"} {
		if code, body, err := httpGet("http://" + addr + path); err != nil || code != http.StatusForbidden {
			t.Errorf("GET %s from the host (not the reader): %d %v %.200s, want 403", path, code, err, body)
		}
	}
	resp, err := http.Post("http://"+addr+"/containers/"+id+"/stop", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /containers/<id>/stop: %d, want 403", resp.StatusCode)
	}
	if out, err := docker(ctx, "inspect", "--format", "{{.State.Running}}", id); err != nil || strings.TrimSpace(out) != "true" {
		t.Errorf("the gate is not running after a refused stop: %q %v", out, err)
	}
}

// PostgreSQL as the Definition runs it (stacktest: its env, volume, health
// check and stop signal): password auth for other hosts, a fast shutdown on
// the stop signal, and a restart on the existing volume without re-init.
func testPostgres(t *testing.T, ctx context.Context, def stacks.Definition) {
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServicePostgres))
	password := st.Secret(stacks.SecretPostgresPassword)
	svc, _ := def.Service(stacks.ServicePostgres)
	user := svc.PlainEnv()["POSTGRES_USER"]
	query := func(pw, sql string) (string, error) {
		// The endpoint is looked up on every call: a restart publishes another port.
		url := "postgres://" + user + ":" + pw + "@" + st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres) + "/postgres?sslmode=disable&connect_timeout=10"
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return "", err
		}
		defer conn.Close(context.Background())
		if !strings.HasPrefix(sql, "SELECT") {
			_, err = conn.Exec(ctx, sql)
			return "", err
		}
		var out string
		err = conn.QueryRow(ctx, sql).Scan(&out)
		return out, err
	}
	if _, err := query(password, "CREATE TABLE kept AS SELECT 'before restart'::text AS v"); err != nil {
		t.Fatalf("connection from another host with the password: %v", err)
	}
	if _, err := query("wrong-"+password, "SELECT 'x'"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("a wrong password from another host must be refused, got %v", err)
	}

	// The stop signal (SIGINT) ends in PostgreSQL's fast shutdown, not in
	// Docker's SIGKILL; initdb's own restart logs one fast shutdown already.
	const fast = "received fast shutdown request"
	before := strings.Count(st.Logs(ctx, stacks.ServicePostgres), fast)
	if err := st.Stop(ctx, stacks.ServicePostgres); err != nil {
		t.Fatal(err)
	}
	if logs := st.Logs(ctx, stacks.ServicePostgres); strings.Count(logs, fast) != before+1 {
		t.Errorf("stop did not end in PostgreSQL's fast shutdown (SIGINT):\n%s", logs)
	}
	if err := st.Start(ctx, stacks.ServicePostgres); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WaitHealthy(ctx, stacks.ServicePostgres); err != nil {
		t.Fatal(err)
	}
	if out, err := query(password, "SELECT v FROM kept"); err != nil || out != "before restart" {
		t.Fatalf("data after restart: %q %v", out, err)
	}
	logs := st.Logs(ctx, stacks.ServicePostgres)
	if n := strings.Count(logs, "PostgreSQL init process complete"); n != 1 {
		t.Errorf("initialised %d times, want once", n)
	}
	if !strings.Contains(logs, "skipping initialization") {
		t.Errorf("restart on existing data did not say it skipped initialization")
	}
	if strings.Contains(logs, password) {
		t.Errorf("the password appears in the container logs")
	}
	// The monitoring role postgres-exporter uses, created by the start
	// script and set again on this second start: statistics, no table data.
	monitor := func(sql string) (string, error) {
		url := "postgres://" + stacks.MonitoringRole + ":" + st.Secret(stacks.SecretMonitoringPassword) + "@" +
			st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres) + "/postgres?sslmode=disable&connect_timeout=10"
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return "", err
		}
		defer conn.Close(context.Background())
		var out string
		err = conn.QueryRow(ctx, sql).Scan(&out)
		return out, err
	}
	if out, err := monitor("SELECT pg_has_role(current_user, 'pg_monitor', 'member')::text || ' ' || (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)::text"); err != nil || out != "true false" {
		t.Errorf("monitoring role: member of pg_monitor and superuser = %q, %v; want \"true false\"", out, err)
	}
	if _, err := monitor("SELECT v FROM kept"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the monitoring role reads table data: %v", err)
	}
	if strings.Contains(logs, st.Secret(stacks.SecretMonitoringPassword)) {
		t.Errorf("the monitoring password appears in the container logs")
	}
	// PID 1 is the kit's wrapper (it sets the password); the server itself
	// must never run as root.
	code, out, err := st.Exec(ctx, stacks.ServicePostgres, "sh", "-c", "ps -o user=,comm= -e")
	if err != nil || code != 0 {
		t.Fatalf("ps: exit %d, %v: %s", code, err, out)
	}
	servers := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "postgres" {
			servers++
			if f[0] != "postgres" {
				t.Errorf("a postgres process runs as %s, want postgres:\n%s", f[0], out)
			}
		}
	}
	if servers == 0 {
		t.Errorf("no postgres process found:\n%s", out)
	}
}

func mustDocker(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The server entrypoint: binds where BIND_ON_IP says, broadcasts the
// container's address when bound on a wildcard, and starts the server,
// which renders its config from env (shown by the database it dials).
func testTemporalServer(t *testing.T, ctx context.Context) {
	image := tagOf("temporal-server")
	if u := userOf(t, ctx, image); u != "temporal" {
		t.Errorf("runs as %q, want temporal", u)
	}
	if out := runOnce(t, ctx, "--entrypoint", "temporal-server", image, "--version"); !strings.Contains(out, strings.TrimPrefix(TemporalServerVersion, "v")) {
		t.Errorf("temporal-server --version: %q", out)
	}
	// A stand-in temporal-server first on PATH prints what the entrypoint hands over.
	shim := `mkdir -p /tmp/shim && printf '#!/bin/sh\necho "args=$*"\nenv\n' >/tmp/shim/temporal-server && chmod +x /tmp/shim/temporal-server && PATH=/tmp/shim:$PATH exec /etc/temporal/entrypoint.sh`
	out := runOnce(t, ctx, "-e", "BIND_ON_IP=0.0.0.0", "--entrypoint", "sh", image, "-c", shim)
	if !strings.Contains(out, "args=start") {
		t.Errorf("entrypoint does not exec `temporal-server start`: %s", out)
	}
	if !strings.Contains(out, "TEMPORAL_BROADCAST_ADDRESS=172.") && !strings.Contains(out, "TEMPORAL_BROADCAST_ADDRESS=10.") && !strings.Contains(out, "TEMPORAL_BROADCAST_ADDRESS=192.168.") {
		t.Errorf("BIND_ON_IP=0.0.0.0 did not set TEMPORAL_BROADCAST_ADDRESS to the container's address:\n%s", out)
	}
	out = runOnce(t, ctx, "--entrypoint", "sh", image, "-c", strings.Replace(shim, "exec", "BIND_ON_IP= exec", 1))
	if !strings.Contains(out, "BIND_ON_IP=172.") && !strings.Contains(out, "BIND_ON_IP=10.") && !strings.Contains(out, "BIND_ON_IP=192.168.") {
		t.Errorf("without BIND_ON_IP the entrypoint must bind on the container's address:\n%s", out)
	}
	if strings.Contains(out, "TEMPORAL_BROADCAST_ADDRESS") {
		t.Errorf("TEMPORAL_BROADCAST_ADDRESS set though not bound on a wildcard")
	}

	// The real server with the Definition's variable names: it reads them
	// (dials the configured database) and fails clearly when it is absent.
	id := start(t, ctx, "-e", "DB=postgres12", "-e", "POSTGRES_SEEDS=127.0.0.1", "-e", "DB_PORT=1",
		"-e", "POSTGRES_USER=kit", "-e", "POSTGRES_PWD=x", "-e", "BIND_ON_IP=0.0.0.0",
		"-e", "DYNAMIC_CONFIG_FILE_PATH=config/dynamicconfig/docker.yaml", image)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		logs, _ := docker(ctx, "logs", id)
		if strings.Contains(logs, "dial tcp 127.0.0.1:1:") {
			return
		}
		c.Errorf("no dial to 127.0.0.1:1 in the logs yet:\n%s", lastLines(logs, 15))
	}, 60*time.Second, 300*time.Millisecond, "server dialling the configured database")
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func testAdminTools(t *testing.T, ctx context.Context) {
	image := tagOf("temporal-admin-tools")
	if u := userOf(t, ctx, image); u != "temporal" {
		t.Errorf("runs as %q, want temporal", u)
	}
	out := runOnce(t, ctx, image, "sh", "-c", `set -e
temporal-sql-tool --help >/dev/null
temporal --version
command -v nc
for d in temporal visibility; do test -d /etc/temporal/schema/postgresql/v12/$d/versioned/v1.0; done
echo ok`)
	if !strings.Contains(out, strings.TrimPrefix(TemporalCLIVersion, "v")) || !strings.HasSuffix(strings.TrimSpace(out), "ok") {
		t.Errorf("admin tools: %s", out)
	}
	// The default command idles and stops at once on SIGTERM.
	id := start(t, ctx, image)
	time.Sleep(time.Second)
	if st := strings.TrimSpace(mustDocker(t, ctx, "inspect", "-f", "{{.State.Running}}", id)); st != "true" {
		t.Fatalf("default command exited: running=%s", st)
	}
	// Ignoring SIGTERM would end in Docker's SIGKILL after the timeout: 137.
	mustDocker(t, ctx, "stop", "-t", "20", id)
	if code := strings.TrimSpace(mustDocker(t, ctx, "inspect", "-f", "{{.State.ExitCode}}", id)); code == "137" {
		t.Errorf("stop ended in SIGKILL (exit %s): the default command ignores SIGTERM", code)
	}
}

func testPrometheus(t *testing.T, ctx context.Context) {
	image := tagOf("prometheus")
	if u := userOf(t, ctx, image); u != "nobody" {
		t.Errorf("runs as %q, want nobody", u)
	}
	if out := runOnce(t, ctx, "--entrypoint", "promtool", image, "check", "config", "/etc/prometheus/prometheus.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config: %s", out)
	}
	id := start(t, ctx, "-p", "127.0.0.1::9090", image)
	addr := hostPort(t, ctx, id, 9090)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := httpGet("http://" + addr + "/-/ready")
		if err != nil || code != 200 {
			c.Errorf("%d %v %s", code, err, body)
		}
	}, 30*time.Second, 300*time.Millisecond, "prometheus /-/ready")
	code, body, err := httpGet("http://" + addr + "/api/v1/status/buildinfo")
	if err != nil || code != 200 || !strings.Contains(body, `"version":"`+prometheusRelease()+`"`) {
		t.Errorf("buildinfo: %d %v %s", code, err, body)
	}
	// The default config scrapes Prometheus itself.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, body, err := httpGet("http://" + addr + "/api/v1/targets")
		if err != nil || !strings.Contains(body, `"health":"up"`) {
			c.Errorf("%v %.300s", err, body)
		}
	}, 30*time.Second, 300*time.Millisecond, "self-scrape target up")
}

// The worker's entrypoint is the worker: it rejects bad configuration
// saying which variable, and with the Definition's env its API answers
// liveness (through the image's wget, as health checks call it) while it
// waits for PostgreSQL and Temporal, and readiness says not yet.
func testWorker(t *testing.T, ctx context.Context, def stacks.Definition) {
	svc, _ := def.Service(stacks.ServiceWorker)
	if u := userOf(t, ctx, svc.Image); u != "worker" {
		t.Errorf("runs as %q, want worker", u)
	}
	out, err := docker(ctx, "run", "--rm", "--label", "temporal-kit.images-test=1", "-e", "LOG_LEVEL=loud", svc.Image)
	if err == nil || !strings.Contains(out, "LOG_LEVEL") {
		t.Errorf("worker with LOG_LEVEL=loud: want a configuration error naming it, got err=%v out=%s", err, out)
	}
	// The secrets volume is not there: the password goes as plain env.
	files := svc.SecretFileEnv()
	args := []string{"-e", "PGPASSWORD=" + randomHex(t, 8)}
	for k, v := range svc.PlainEnv() {
		if _, isFile := files[strings.TrimSuffix(k, "_FILE")]; isFile && strings.HasSuffix(k, "_FILE") {
			continue
		}
		args = append(args, "-e", k+"="+v)
	}
	id := start(t, ctx, append(args, svc.Image)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", stacks.PortWorkerAPI)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := docker(ctx, "exec", id, "wget", "-q", "-O", "/dev/null", base+"/healthz")
		require.NoError(c, err)
	}, 30*time.Second, 300*time.Millisecond, "worker liveness")
	if _, err := docker(ctx, "exec", id, "wget", "-q", "-O", "/dev/null", base+"/readyz"); err == nil {
		t.Errorf("/readyz answered OK with neither PostgreSQL nor Temporal reachable")
	}
}

func testFixtureServer(t *testing.T, ctx context.Context) {
	id := start(t, ctx, "-p", fmt.Sprintf("127.0.0.1::%d", FixtureServerPort), FixtureServer)
	addr := hostPort(t, ctx, id, FixtureServerPort)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := httpGet("http://" + addr + "/healthz")
		if err != nil || code != 200 {
			c.Errorf("%d %v %s", code, err, body)
		}
	}, 20*time.Second, 300*time.Millisecond, "fixture server /healthz")
	if _, err := docker(ctx, "exec", id, "wget", "-q", "-O", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d/healthz", FixtureServerPort)); err != nil {
		t.Errorf("health check with the image's wget: %v", err)
	}
}

// Caddy: the pinned version with the modules the proxy uses, the official
// default command serving its default Caddyfile, the Caddyfiles the
// Definition renders accepted by Caddy itself, and the proxy's start script
// refusing a password that caddy hash-password would cut.
func testCaddy(t *testing.T, ctx context.Context) {
	image := tagOf("caddy")
	if u := userOf(t, ctx, image); u != "root" {
		t.Errorf("runs as %q, want root (as the official image)", u)
	}
	if out := runOnce(t, ctx, image, "caddy", "version"); !strings.HasPrefix(strings.TrimSpace(out), CaddyVersion) {
		t.Errorf("caddy version: %q, want %s", out, CaddyVersion)
	}
	mods := runOnce(t, ctx, image, "caddy", "list-modules")
	for _, m := range []string{"http.authentication.providers.http_basic", "http.handlers.reverse_proxy", "tls.issuance.acme", "tls.issuance.internal",
		"http.handlers.kit_login_ban"} {
		if !strings.Contains(mods, m+"\n") {
			t.Errorf("module %s missing from caddy list-modules", m)
		}
	}
	// The proxy's start script hashes at the kit's cost, not Caddy's default.
	if out := runOnce(t, ctx, image, "sh", "-c", fmt.Sprintf("echo pw | caddy hash-password --bcrypt-cost %d", stacks.ProxyBcryptCost)); !strings.HasPrefix(out, fmt.Sprintf("$2a$%02d$", stacks.ProxyBcryptCost)) {
		t.Errorf("caddy hash-password --bcrypt-cost %d: %q", stacks.ProxyBcryptCost, out)
	}
	if env := runOnce(t, ctx, image, "sh", "-c", "echo $XDG_CONFIG_HOME $XDG_DATA_HOME; pwd"); env != "/config /data\n/srv\n" {
		t.Errorf("XDG dirs and workdir: %q", env)
	}

	id := start(t, ctx, "-p", "127.0.0.1::80", image)
	addr := hostPort(t, ctx, id, 80)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := httpGet("http://" + addr + "/")
		if err != nil || code != 200 || !strings.Contains(body, "Caddy") {
			c.Errorf("%d %v %.200s", code, err, body)
		}
	}, 20*time.Second, 300*time.Millisecond, "default Caddyfile on :80")

	for _, src := range []stacks.MapSource{
		{"imageCatalog": stacks.CatalogLocal, "domain": "kit.example.com", "acmeEmail": "ops@example.com"},
		{"imageCatalog": stacks.CatalogLocal, "domain": "kit.test", "proxyTLS": stacks.ProxyTLSInternal, "proxyUser": "ops.team"},
	} {
		svc, _ := stacktest.Definition(t, "prod", src).Service(stacks.ServiceProxy)
		var caddyfile string
		for _, f := range svc.Files {
			if f.Path == stacks.CaddyfilePath {
				caddyfile = f.Content
			}
		}
		out, err := docker(ctx, "run", "--rm", "--label", "temporal-kit.images-test=1", "-e", "CADDYFILE="+caddyfile, image, "sh", "-c",
			`printf '%s' "$CADDYFILE" >/tmp/Caddyfile && KIT_PROXY_PASSWORD_HASH=$(echo pw | caddy hash-password) && export KIT_PROXY_PASSWORD_HASH && caddy validate --config /tmp/Caddyfile --adapter caddyfile`)
		if err != nil || !strings.Contains(out, "Valid configuration") {
			t.Errorf("Caddy refuses the Definition's Caddyfile (%v): %v\n%s\n%s", src, err, caddyfile, lastLines(out, 15))
		}
	}

	script := "/tmp/proxy-start.sh"
	svc, _ := stacktest.Definition(t, "prod", stacktest.LocalConfig(map[string]string{"domain": "kit.test", "proxyTLS": stacks.ProxyTLSInternal})).Service(stacks.ServiceProxy)
	var startScript string
	for _, f := range svc.Files {
		if strings.HasSuffix(f.Path, "/proxy-start.sh") {
			startScript = f.Content
		}
	}
	for name, pw := range map[string]string{"two lines": `printf 'first\nsecond'`, "73 bytes": "printf '%073d' 0", "empty": "true"} {
		out, err := docker(ctx, "run", "--rm", "--label", "temporal-kit.images-test=1", "-e", "SCRIPT="+startScript, image, "sh", "-c",
			`printf '%s' "$SCRIPT" >`+script+` && (`+pw+`) >/tmp/pw && KIT_PROXY_PASSWORD_FILE=/tmp/pw sh `+script)
		if err == nil || !strings.Contains(out, "one line of at most 72 bytes") {
			t.Errorf("start script with a %s password: want a refusal, got %v\n%s", name, err, lastLines(out, 5))
		}
	}
}

// The backup image: kit-backup as its entrypoint, run as its own user, and
// PostgreSQL client tools of the server's major version first on PATH
// (pg_dump refuses a server newer than itself).
func testBackup(t *testing.T, ctx context.Context) {
	image := tagOf("backup")
	if u := userOf(t, ctx, image); u != "kitbackup" {
		t.Errorf("runs as %q, want kitbackup", u)
	}
	for _, tool := range []string{"pg_dump", "pg_dumpall", "pg_restore", "psql"} {
		if out := runOnce(t, ctx, "--entrypoint", tool, image, "--version"); !strings.Contains(out, "PostgreSQL) "+PostgresMajor+".") {
			t.Errorf("%s --version: %q, want major %s", tool, out, PostgresMajor)
		}
	}
	if out := runOnce(t, ctx, "--entrypoint", "sh", image, "-c", "id -u; stat -c %U:%a /backups; kit-backup 2>&1 || true"); !strings.Contains(out, "10002\nkitbackup:700\n") || !strings.Contains(out, "usage: kit-backup run|backup") {
		t.Errorf("user, data directory, usage: %q", out)
	}
}

// versitygw serves S3 on its port with the root keys from the env.
func testVersityGW(t *testing.T, ctx context.Context) {
	image := tagOf("versitygw")
	id := start(t, ctx, "-p", "127.0.0.1::7070", "-e", "ROOT_ACCESS_KEY_ID=contractkey", "-e", "ROOT_SECRET_ACCESS_KEY=contractsecret", image)
	addr := hostPort(t, ctx, id, VersityGWPort)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := httpGet("http://" + addr + "/")
		// Anonymous requests are refused the S3 way.
		if err != nil || code != 403 || !strings.Contains(body, "AccessDenied") {
			c.Errorf("%d %v %.200s", code, err, body)
		}
	}, 20*time.Second, 300*time.Millisecond, "S3 on :7070")
}
