package stacks

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func mustBuild(t *testing.T, src MapSource) Definition {
	t.Helper()
	c, err := LoadConfig("dev", src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildDevServices(t *testing.T) {
	d := mustBuild(t, MapSource{})
	order, err := d.StartOrder()
	if err != nil {
		t.Fatal(err)
	}
	// Each service that reads secrets comes right after the job that writes them.
	want := []string{"secrets-postgresql", ServicePostgres, "secrets-temporal-schema", ServiceSchema, "secrets-temporal", ServiceTemporal, ServiceNamespace, ServiceUI, ServiceAdminTools,
		"secrets-worker", ServiceWorker, "secrets-backup", ServiceBackup, "secrets-grafana", ServiceGrafana,
		ServiceAlertmanager, ServicePrometheus, ServiceNodeExporter, ServiceDockerGate, ServiceContainerMetrics, "secrets-postgres-exporter", ServicePostgresExporter}
	if !slices.Equal(order, want) {
		t.Errorf("start order %v, want %v", order, want)
	}
	for _, s := range d.Services {
		t.Run(s.Name, func(t *testing.T) {
			if !validImageRef(s.Image) {
				t.Errorf("image %q is not pinned", s.Image)
			}
			if s.MemoryMB <= 0 {
				t.Error("no memory limit")
			}
			if s.Logging != (Logging{Driver: "json-file", MaxSize: "10m", MaxFile: 3}) {
				t.Errorf("logs not capped: %+v", s.Logging)
			}
			switch s.Kind {
			case LongRunning:
				if s.Health == nil || s.Health.Test == "" {
					t.Error("long-running service without health check")
				}
				if s.Restart != "unless-stopped" {
					t.Errorf("restart %q", s.Restart)
				}
			case OneShot:
				if s.Restart != "no" {
					t.Errorf("a job must not restart itself, got %q", s.Restart)
				}
			default:
				t.Errorf("unknown kind %q", s.Kind)
			}
			for _, p := range s.Ports {
				if p.Host != 0 && p.HostIP != "127.0.0.1" {
					t.Errorf("port %s published on %s by default", p.Name, p.HostIP)
				}
			}
			if len(s.Networks) != 1 || !slices.Contains(s.Networks[0].Aliases, s.Name) {
				t.Errorf("not reachable by its name: %+v", s.Networks)
			}
			if !slices.IsSortedFunc(s.Env, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) }) {
				t.Error("env not sorted: renderers would see spurious diffs")
			}
		})
	}
}

// Dependents wait for health or for job success, never merely for start.
func TestBuildDependencyConditions(t *testing.T) {
	d := mustBuild(t, MapSource{})
	for _, s := range d.Services {
		for _, dep := range s.DependsOn {
			target, _ := d.Service(dep.Service)
			want := Healthy
			if target.Kind == OneShot {
				want = Completed
			}
			if dep.Condition != want {
				t.Errorf("%s waits for %s to be %s, want %s", s.Name, dep.Service, dep.Condition, want)
			}
		}
	}
}

func TestBuildSecretsNeverInPlainEnv(t *testing.T) {
	d := mustBuild(t, MapSource{"postgresHost": "db.internal", "postgresPassword": "hunter2-very-secret"})
	sec, ok := d.Secret(SecretPostgresPassword)
	if !ok || sec.ConfigKey != "postgresPassword" {
		t.Fatalf("existing postgres password must come from config: %+v", sec)
	}
	for _, s := range d.Services {
		for _, e := range s.Env {
			if strings.Contains(e.Value, "hunter2") {
				t.Errorf("%s: %s carries the password in plain text", s.Name, e.Name)
			}
		}
	}
	managed := mustBuild(t, MapSource{})
	if sec, _ := managed.Secret(SecretPostgresPassword); sec.ConfigKey != "" || sec.Length < 16 {
		t.Errorf("managed postgres password must be generated: %+v", sec)
	}
}

func TestBuildWorkerSerpKey(t *testing.T) {
	without := mustBuild(t, MapSource{})
	w, _ := without.Service(ServiceWorker)
	if _, ok := w.SecretFileEnv()["SERP_API_KEY"]; ok {
		t.Error("no key configured: the worker must not get one")
	}
	with := mustBuild(t, MapSource{"serpApiKey": "k-123"})
	w, _ = with.Service(ServiceWorker)
	if got := w.PlainEnv()["SERP_API_KEY_FILE"]; got != "/run/temporal-kit/secrets/serpApiKey" {
		t.Errorf("SERP_API_KEY_FILE = %q, want the serpApiKey secret's file", got)
	}
}

// TestSecretsAreFilesNeverEnv: every secret reaches its services as a file
// written by the secrets job; no service of the stack carries one in its env.
func TestSecretsAreFilesNeverEnv(t *testing.T) {
	d := mustBuild(t, MapSource{"serpApiKey": "[secret]"})
	for _, s := range d.Services {
		for _, e := range s.Env {
			if e.Secret != "" {
				t.Errorf("%s: env %s carries secret %s; pass it as a file", s.Name, e.Name, e.Secret)
			}
		}
	}
	// Who reads which secret, through which variable; each also mounts its
	// own secrets volume read-only and is recreated when its secrets job
	// runs anew, and only then: a changed SERP key leaves PostgreSQL alone.
	want := map[string]map[string]string{
		ServicePostgres:         {"POSTGRES_PASSWORD": SecretPostgresPassword, "KIT_MONITORING_PASSWORD": SecretMonitoringPassword},
		ServicePostgresExporter: {"DATA_SOURCE_PASS": SecretMonitoringPassword},
		ServiceSchema:           {"KIT_SQL_PASSWORD": SecretPostgresPassword},
		ServiceTemporal:         {"KIT_POSTGRES_PWD": SecretPostgresPassword},
		ServiceWorker:           {"PGPASSWORD": SecretPostgresPassword, "SERP_API_KEY": SecretSerpAPIKey},
		ServiceGrafana:          {"GF_SECURITY_ADMIN_PASSWORD": SecretGrafanaAdminPassword},
		ServiceBackup:           {"PGPASSWORD": SecretPostgresPassword},
	}
	for _, s := range d.Services {
		got := s.SecretFileEnv()
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, want[s.Name]) {
			t.Errorf("%s reads secrets %v, want %v", s.Name, got, want[s.Name])
		}
		if want[s.Name] == nil {
			continue
		}
		if !slices.Contains(s.Mounts, Mount{Volume: "secrets-" + s.Name, Target: "/run/temporal-kit/secrets", ReadOnly: true}) {
			t.Errorf("%s does not mount its own secrets read-only: %+v", s.Name, s.Mounts)
		}
		var follows []string
		for _, dep := range s.DependsOn {
			if dep.Recreate {
				follows = append(follows, dep.Service)
				if dep.Condition != Completed {
					t.Errorf("%s follows %s without waiting for it", s.Name, dep.Service)
				}
			}
		}
		if wantFollows := []string{"secrets-" + s.Name}; !slices.Equal(follows, wantFollows) {
			t.Errorf("%s follows %v, want %v", s.Name, follows, wantFollows)
		}
		job, ok := d.Service("secrets-" + s.Name)
		if !ok {
			t.Fatalf("no job secrets-%s", s.Name)
		}
		for _, f := range job.Files {
			if f.Content != "" || f.Mode != 0o400 || !slices.Contains(slices.Collect(maps.Values(want[s.Name])), f.Secret) {
				t.Errorf("%s writes %+v, want one of %s's secrets, 0400", job.Name, f, s.Name)
			}
		}
		if v, _ := d.Volume("secrets-" + s.Name); !v.Discard {
			t.Errorf("the secrets volume of %s outlives the stack", s.Name)
		}
	}
}

func TestBuildExistingPostgres(t *testing.T) {
	d := mustBuild(t, MapSource{"postgresHost": "db.internal", "postgresPort": "6432", "postgresPassword": "x"})
	if _, ok := d.Service(ServicePostgres); ok {
		t.Error("an existing PostgreSQL must not be run by the stack")
	}
	if _, ok := d.Volume(VolumePostgresData); ok {
		t.Errorf("no data volume expected: %+v", d.Volumes)
	}
	srv, _ := d.Service(ServiceTemporal)
	env := srv.PlainEnv()
	if env["POSTGRES_SEEDS"] != "db.internal" || env["DB_PORT"] != "6432" {
		t.Errorf("server not pointed at the existing PostgreSQL: %v", env)
	}
	job, _ := d.Service(ServiceSchema)
	if slices.ContainsFunc(job.DependsOn, func(dep Dependency) bool { return dep.Service == ServicePostgres }) || job.PlainEnv()["SQL_HOST"] != "db.internal" {
		t.Errorf("schema job: %+v", job)
	}
}

func TestBuildConfigReachesTheRightService(t *testing.T) {
	cases := []struct {
		src     MapSource
		service string
		env     string
		want    string
	}{
		{MapSource{"historyShards": "64"}, ServiceTemporal, "NUM_HISTORY_SHARDS", "64"},
		{MapSource{"namespaceRetention": "7d"}, ServiceNamespace, "KIT_RETENTION", "168h"},
		{MapSource{"namespace": "acme"}, ServiceNamespace, "KIT_NAMESPACE", "acme"},
		{MapSource{"logLevel": "debug"}, ServiceTemporal, "LOG_LEVEL", "debug"},
		{MapSource{"hostPorts": `{"ui":9999}`}, ServiceUI, "TEMPORAL_CORS_ORIGINS", "http://localhost:9999"},
		{MapSource{"serpApiUrl": "http://serp.internal"}, ServiceWorker, "SERP_API_URL", "http://serp.internal"},
		{MapSource{"workerEnv": `{"HTTP_PROXY":"http://proxy:3128"}`}, ServiceWorker, "HTTP_PROXY", "http://proxy:3128"},
		{MapSource{"namespace": "acme"}, ServiceWorker, "TEMPORAL_NAMESPACE", "acme"},
	}
	for _, tc := range cases {
		d := mustBuild(t, tc.src)
		s, _ := d.Service(tc.service)
		if got := s.PlainEnv()[tc.env]; got != tc.want {
			t.Errorf("%v: %s %s = %q, want %q", tc.src, tc.service, tc.env, got, tc.want)
		}
	}
}

func TestBuildOpensPortsOnlyOnPurpose(t *testing.T) {
	d := mustBuild(t, MapSource{"bindAddress": "0.0.0.0", "publicPorts": `["postgres"]`, "hostPorts": `{"postgres":15432}`})
	pg, _ := d.Service(ServicePostgres)
	if pg.Ports[0].Host != 15432 || pg.Ports[0].HostIP != "0.0.0.0" {
		t.Errorf("postgres port: %+v", pg.Ports)
	}
	srv, _ := d.Service(ServiceTemporal)
	for _, p := range srv.Ports {
		if p.Name == "metrics" && p.Host != 0 {
			t.Error("metrics must stay on the Docker network")
		}
	}
}

func TestStartOrderErrors(t *testing.T) {
	cyc := Definition{Services: []Service{
		{Name: "a", DependsOn: []Dependency{{Service: "b"}}},
		{Name: "b", DependsOn: []Dependency{{Service: "a"}}},
	}}
	if _, err := cyc.StartOrder(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle not caught: %v", err)
	}
	unknown := Definition{Services: []Service{{Name: "a", DependsOn: []Dependency{{Service: "ghost"}}}}}
	if _, err := unknown.StartOrder(); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("unknown dependency not caught: %v", err)
	}
}

func TestClosure(t *testing.T) {
	d := mustBuild(t, MapSource{})
	got, err := d.Closure(ServiceNamespace)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"secrets-postgresql", ServicePostgres, "secrets-temporal-schema", ServiceSchema, "secrets-temporal", ServiceTemporal, ServiceNamespace}
	if !slices.Equal(got, want) {
		t.Errorf("closure %v, want %v", got, want)
	}
	if _, err := d.Closure("nope"); err == nil {
		t.Error("unknown service must fail")
	}
}

func TestScriptsAreIdempotentByConstruction(t *testing.T) {
	// The schema job must never pass --overwrite (it drops every table).
	if strings.Contains(setupSchemaScript, "--overwrite") {
		t.Error("setup-schema.sh must not use --overwrite")
	}
	for _, s := range []string{"create-database", "setup-schema -v 0.0", "update-schema -d"} {
		if !strings.Contains(setupSchemaScript, s) {
			t.Errorf("setup-schema.sh lacks %q", s)
		}
	}
	if !strings.Contains(registerNamespaceScript, "namespace describe") {
		t.Error("register-namespace.sh must check for an existing namespace")
	}
}

func TestPostgresSettingsFollowItsMemoryLimit(t *testing.T) {
	for mem, want := range map[string][]string{
		"":     {"shared_buffers=192MB", "effective_cache_size=384MB", "maintenance_work_mem=48MB"}, // the 768 MB default
		"2048": {"shared_buffers=512MB", "effective_cache_size=1024MB", "maintenance_work_mem=128MB"},
		"128":  {"shared_buffers=32MB", "effective_cache_size=64MB", "maintenance_work_mem=16MB"},
	} {
		src := MapSource{}
		if mem != "" {
			src["memoryMB"] = `{"postgresql":` + mem + `}`
		}
		svc, _ := mustBuild(t, src).Service(ServicePostgres)
		if svc.Command[0] != "postgres" {
			t.Fatalf("memoryMB.postgresql=%q: command %v does not start the server", mem, svc.Command)
		}
		for _, s := range append(want, "shared_preload_libraries=pg_stat_statements") {
			if !slices.Contains(svc.Command, s) || svc.Command[slices.Index(svc.Command, s)-1] != "-c" {
				t.Errorf("memoryMB.postgresql=%q: command %v lacks -c %s", mem, svc.Command, s)
			}
		}
	}
}

// Every Go service gets a GOMEMLIMIT below its container's memory limit,
// following memoryMB, so its collector works harder before the kernel's OOM
// killer would act; a value set in workerEnv wins.
func TestGoServicesGetAMemoryLimitBelowTheContainers(t *testing.T) {
	c, err := LoadConfig("dev", MapSource{"memoryMB": `{"worker": 1000}`})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, s := range d.Services {
		var got []string
		for _, e := range s.Env {
			if e.Name == "GOMEMLIMIT" {
				got = append(got, e.Value)
			}
		}
		if !goServices[s.Name] {
			if len(got) > 0 {
				t.Errorf("%s is not a Go service but gets GOMEMLIMIT %v", s.Name, got)
			}
			continue
		}
		seen++
		want := strconv.Itoa(s.MemoryMB*8/10) + "MiB"
		if len(got) != 1 || got[0] != want || s.MemoryMB == 0 {
			t.Errorf("%s (memory %d MB): GOMEMLIMIT %v, want [%s]", s.Name, s.MemoryMB, got, want)
		}
		if s.Name == ServiceWorker && (len(got) != 1 || got[0] != "800MiB") {
			t.Errorf("worker GOMEMLIMIT %v does not follow memoryMB.worker 1000", got)
		}
	}
	if seen < 8 {
		t.Errorf("only %d Go services in the dev stack", seen)
	}
	c, _ = LoadConfig("dev", MapSource{"workerEnv": `{"GOMEMLIMIT": "300MiB"}`})
	d, _ = Build(c)
	w, _ := d.Service(ServiceWorker)
	var got []string
	for _, e := range w.Env {
		if e.Name == "GOMEMLIMIT" {
			got = append(got, e.Value)
		}
	}
	if len(got) != 1 || got[0] != "300MiB" {
		t.Errorf("workerEnv GOMEMLIMIT 300MiB: the worker gets %v", got)
	}
}
