package render_test

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/infra/render"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// renderUnderMocks renders def with every secret set to "value-of-<name>".
func renderUnderMocks(t *testing.T, def stacks.Definition) (*infratest.Mocks, error) {
	t.Helper()
	m := infratest.NewMocks()
	err := infratest.Run(def.Stack, m, func(ctx *pulumi.Context) error {
		secrets := map[string]pulumi.StringOutput{}
		for _, s := range def.Secrets {
			secrets[s.Name] = pulumi.ToSecret(pulumi.String("value-of-" + s.Name)).(pulumi.StringOutput)
		}
		_, err := render.Render(ctx, def, render.Inputs{Secrets: secrets})
		return err
	})
	return m, err
}

func strs(v resource.PropertyValue) []string {
	if v.IsNull() {
		return nil
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsSecret() {
			e = e.SecretValue().Element
		}
		out = append(out, e.StringValue())
	}
	return out
}

// wantUpload is each kit file's permissions and executable bit, by path.
var wantUpload = map[string]string{
	"/etc/temporal-kit/setup-schema.sh":                    "0755 executable=true",
	"/etc/temporal-kit/register-namespace.sh":              "0755 executable=true",
	"/etc/temporal-kit/postgres-start.sh":                  "0755 executable=true",
	"/etc/temporal/config/dynamicconfig/temporal-kit.yaml": "0644 executable=false",
	"/etc/temporal-kit/secrets-in/postgresPassword":        "0400 executable=false",
	"/etc/temporal-kit/secrets-in/serpApiKey":              "0400 executable=false",
	"/etc/temporal-kit/secrets-in/grafanaAdminPassword":    "0400 executable=false",
	"/etc/temporal-kit/secrets-in/monitoringPassword":      "0400 executable=false",
	"/etc/alertmanager/alertmanager.yml":                   "0644 executable=false",
	"/etc/prometheus/prometheus.yml":                       "0644 executable=false",
	"/etc/prometheus/rules/temporal-kit.rules.yml":         "0644 executable=false",
}

func init() {
	// Grafana's provisioning files and dashboards: plain config, 0644.
	for _, f := range []string{"datasources/prometheus.yaml", "dashboards/temporal-kit.yaml"} {
		wantUpload["/etc/grafana/provisioning/"+f] = "0644 executable=false"
	}
	for _, f := range []string{"temporal-server", "workers-sdk", "enrichment-pipeline", "host-containers", "postgresql", "backups"} {
		wantUpload["/etc/grafana/dashboards/temporal-kit/"+f+".json"] = "0644 executable=false"
	}
}

// TestContainersFollowTheDefinition checks that what each Service says
// reaches its container: image, env, command, files and published ports.
// The rest of a container (names, labels, health, limits, privileges) is
// written out by hand in stacks/rendertest and below, for postgresql.
func TestContainersFollowTheDefinition(t *testing.T) {
	def := stacktest.Definition(t, "dev", map[string]string{"hostPorts": `{"postgres": 5433}`})
	m, err := renderUnderMocks(t, def)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range def.Services {
		t.Run(svc.Name, func(t *testing.T) {
			c, ok := m.Find(infratest.TypeContainer, svc.Name)
			if !ok {
				t.Fatal("not registered")
			}
			in := c.Inputs
			if got := in["image"].StringValue(); got != svc.Image {
				t.Errorf("image = %q, want %q", got, svc.Image)
			}
			var wantEnv []string
			for _, e := range svc.Env {
				v := e.Value
				if e.Secret != "" {
					v = "value-of-" + e.Secret
				}
				wantEnv = append(wantEnv, e.Name+"="+v)
			}
			if got := strs(in["envs"]); !reflect.DeepEqual(got, wantEnv) {
				t.Errorf("envs = %v, want %v", got, wantEnv)
			}
			if len(svc.Command) > 0 {
				if got := strs(in["command"]); !reflect.DeepEqual(got, svc.Command) {
					t.Errorf("command = %v, want %v", got, svc.Command)
				}
			} else if _, ok := in["command"]; ok {
				t.Error("command set though the Definition keeps the image's")
			}

			var uploads []string
			if u, ok := in["uploads"]; ok {
				for _, e := range u.ArrayValue() {
					o := e.ObjectValue()
					content := o["content"]
					secret := content.IsSecret()
					if secret {
						content = content.SecretValue().Element
					}
					uploads = append(uploads, fmt.Sprintf("%s %s executable=%v secret=%v %q", o["file"].StringValue(), o["permissions"].StringValue(), o["executable"].BoolValue(), secret, content.StringValue()))
				}
			}
			// Written out by hand, not with the renderer's own expressions, so a
			// wrong permission string or executable bit cannot pass.
			var wantUploads []string
			for _, f := range svc.Files {
				want, ok := wantUpload[f.Path]
				if !ok {
					t.Fatalf("file %s: no expectation; add its permissions to wantUpload", f.Path)
				}
				content, secret := f.Content, f.Secret != ""
				if secret {
					content = "value-of-" + f.Secret
				}
				wantUploads = append(wantUploads, fmt.Sprintf("%s %s secret=%v %q", f.Path, want, secret, content))
			}
			if !reflect.DeepEqual(uploads, wantUploads) {
				t.Errorf("uploads = %v, want %v", uploads, wantUploads)
			}

			var ports []string
			if p, ok := in["ports"]; ok {
				for _, e := range p.ArrayValue() {
					o := e.ObjectValue()
					ports = append(ports, fmt.Sprintf("%s:%v->%v", o["ip"].StringValue(), o["external"].NumberValue(), o["internal"].NumberValue()))
				}
			}
			var wantPorts []string
			for _, p := range svc.Ports {
				if p.Host != 0 {
					wantPorts = append(wantPorts, fmt.Sprintf("%s:%d->%d", p.HostIP, p.Host, p.Container))
				}
			}
			if !reflect.DeepEqual(ports, wantPorts) {
				t.Errorf("ports = %v, want %v", ports, wantPorts)
			}

		})
	}
}

// The whole of one container, written out by hand: every input the
// renderer gives PostgreSQL's, but the start script's text (the
// Definition's file, checked as such above).
func TestPostgresContainerWrittenOutByHand(t *testing.T) {
	def := stacktest.Definition(t, "dev", map[string]string{"hostPorts": `{"postgres": 5433}`})
	m, err := renderUnderMocks(t, def)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m.Find(infratest.TypeContainer, stacks.ServicePostgres)
	if !ok {
		t.Fatal("not registered")
	}
	got := c.Inputs.Mappable()
	uploads, _ := got["uploads"].([]any)
	if len(uploads) != 1 {
		t.Fatalf("uploads = %v, want the start script", got["uploads"])
	}
	if content, _ := uploads[0].(map[string]any)["content"].(string); !strings.HasPrefix(content, "#!/bin/sh\n# Starts PostgreSQL through the image's own entrypoint") {
		t.Errorf("start script begins %.60q", content)
	}
	delete(uploads[0].(map[string]any), "content")
	want := map[string]any{
		"name":        "temporal-kit-dev-postgresql",
		"image":       "postgres:15.10-bookworm",
		"entrypoints": []any{"sh", "/etc/temporal-kit/postgres-start.sh"},
		"command": []any{"postgres",
			"-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=top",
			"-c", "shared_buffers=192MB", "-c", "effective_cache_size=384MB", "-c", "work_mem=4MB",
			"-c", "maintenance_work_mem=48MB", "-c", "wal_buffers=16MB", "-c", "max_wal_size=1GB",
			"-c", "random_page_cost=1.1"},
		"envs": []any{
			"KIT_MONITORING_PASSWORD_FILE=/run/temporal-kit/secrets/monitoringPassword",
			"KIT_MONITORING_ROLE=kit_monitoring",
			"PGDATA=/var/lib/postgresql/data/pgdata",
			"POSTGRES_DB=postgres",
			"POSTGRES_PASSWORD_FILE=/run/temporal-kit/secrets/postgresPassword",
			"POSTGRES_USER=temporal",
		},
		"labels": []any{
			map[string]any{"label": "temporal-kit.heal", "value": "restart"},
			map[string]any{"label": "temporal-kit.kind", "value": "service"},
			map[string]any{"label": "temporal-kit.service", "value": "postgresql"},
			map[string]any{"label": "temporal-kit.stack", "value": "dev"},
			// The mocks' ID of the secrets job's container: a new one replaces PostgreSQL.
			map[string]any{"label": "temporal-kit.follows.secrets-postgresql", "value": "secrets-postgresql-id"},
		},
		"ports":   []any{map[string]any{"internal": 5432.0, "external": 5433.0, "ip": "127.0.0.1", "protocol": "tcp"}},
		"uploads": []any{map[string]any{"file": "/etc/temporal-kit/postgres-start.sh", "permissions": "0755", "executable": true}},
		"mounts": []any{
			map[string]any{"type": "volume", "source": "temporal-kit-dev-postgres-data", "target": "/var/lib/postgresql/data", "readOnly": false},
			map[string]any{"type": "volume", "source": "temporal-kit-dev-secrets-postgresql", "target": "/run/temporal-kit/secrets", "readOnly": true},
		},
		"networksAdvanced": []any{map[string]any{"name": "temporal-kit-dev-backend", "aliases": []any{"postgresql"}}},
		"healthcheck": map[string]any{
			"tests":    []any{"CMD-SHELL", `ip=$(hostname -i | cut -d' ' -f1) && [ -n "$ip" ] && PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" psql -h "$ip" -U "$POSTGRES_USER" -d postgres -X -tAc 'select 1' | grep -qx 1`},
			"interval": "5s", "timeout": "5s", "startPeriod": "1m0s", "retries": 12.0,
		},
		// Created once healthy: 60s start period, 13 checks of 5+5s, a minute to start.
		"mustRun": true, "wait": true, "waitTimeout": 250.0,
		"logDriver": "json-file", "logOpts": map[string]any{"max-size": "10m", "max-file": "3"},
		"memory": 768.0, "memorySwap": 768.0,
		"restart":    "unless-stopped",
		"stopSignal": "SIGINT", "stopTimeout": 60.0, "destroyGraceSeconds": 60.0,
		"capabilities": map[string]any{
			"drops": []any{"ALL"},
			"adds":  []any{"CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"},
		},
		"securityOpts": []any{"no-new-privileges"},
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %v, not expected", k, got[k])
		}
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

// TestDataVolumeOutlivesDestroy: `pulumi destroy` must not take the
// database with it.
func TestDataVolumeOutlivesDestroy(t *testing.T) {
	m, err := renderUnderMocks(t, stacktest.Definition(t, "dev", map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	vols := m.Of(infratest.TypeVolume)
	if len(vols) == 0 {
		t.Fatal("no docker volume registered")
	}
	// The data volumes stay (the database, the backups, the metrics
	// history, the silences); the secrets volumes, written anew on every deploy, go
	// with the stack. Host paths (the exporters' binds) are no volumes.
	want := map[string]bool{stacks.VolumePostgresData: true, stacks.VolumePrometheusData: true, stacks.VolumeAlertmanagerData: true, stacks.VolumeBackups: true}
	for _, s := range []string{stacks.ServicePostgres, stacks.ServiceSchema, stacks.ServiceTemporal, stacks.ServiceWorker, stacks.ServiceBackup, stacks.ServiceGrafana, stacks.ServicePostgresExporter} {
		want[stacks.SecretsVolume(s)] = false
	}
	got := map[string]bool{}
	for name, v := range vols {
		got[name] = v.RetainOnDelete
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volumes kept by pulumi destroy: %v, want %v", got, want)
	}
}

func TestHostPathVolumeIsABindMount(t *testing.T) {
	def := stacktest.Definition(t, "dev", map[string]string{})
	def.Volumes[slices.IndexFunc(def.Volumes, func(v stacks.Volume) bool { return v.Name == stacks.VolumePostgresData })].HostPath = "/mnt/HC_Volume_1/postgres"
	m, err := renderUnderMocks(t, def)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Find(infratest.TypeVolume, stacks.VolumePostgresData); ok {
		t.Error("a docker volume for a host path")
	}
	c, _ := m.Find(infratest.TypeContainer, stacks.ServicePostgres)
	o := c.Inputs["mounts"].ArrayValue()[0].ObjectValue()
	if o["type"].StringValue() != "bind" || o["source"].StringValue() != "/mnt/HC_Volume_1/postgres" {
		t.Errorf("mount = %v", o)
	}
}

func TestRenderRejectsWhatItCannotWaitFor(t *testing.T) {
	cases := []struct {
		name   string
		change func(d *stacks.Definition)
		want   string
	}{
		{"healthy on a job", func(d *stacks.Definition) {
			d.Services[indexOf(*d, stacks.ServiceUI)].DependsOn = []stacks.Dependency{{Service: stacks.ServiceSchema, Condition: stacks.Healthy}}
		}, "service temporal-ui: waits for temporal-schema to be healthy"},
		{"long-running without health check", func(d *stacks.Definition) {
			d.Services[indexOf(*d, stacks.ServiceAdminTools)].Health = nil
		}, "service temporal-admin-tools: no health check"},
		{"unknown secret", func(d *stacks.Definition) {
			i := indexOf(*d, stacks.ServiceWorker)
			d.Services[i].Env = append(d.Services[i].Env, stacks.EnvVar{Name: "TOKEN", Secret: "nope"})
		}, `env TOKEN uses unknown secret "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := stacktest.Definition(t, "dev", map[string]string{})
			tc.change(&def)
			_, err := renderUnderMocks(t, def)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func indexOf(d stacks.Definition, name string) int {
	for i, s := range d.Services {
		if s.Name == name {
			return i
		}
	}
	panic(name)
}

func TestPullNamesOneResourcePerRepository(t *testing.T) {
	m := infratest.NewMocks()
	refs := []string{
		"postgres:15.10-bookworm", "temporalio/admin-tools:1.32.0", "temporalio/admin-tools:1.32.0",
		"registry.example.com:5000/temporalio/server:1.32.0", "temporalio/ui@sha256:" + strings.Repeat("a", 64),
		"postgres:16",
	}
	err := infratest.Run("dev", m, func(ctx *pulumi.Context) error {
		_, err := render.Pull(ctx, refs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, r := range m.Of(infratest.TypeRemoteImage) {
		got[name] = r.Inputs["name"].StringValue()
	}
	want := map[string]string{
		"image-postgres":                                    "postgres:15.10-bookworm",
		"image-postgres-16":                                 "postgres:16",
		"image-temporalio-admin-tools":                      "temporalio/admin-tools:1.32.0",
		"image-registry-example-com-5000-temporalio-server": "registry.example.com:5000/temporalio/server:1.32.0",
		"image-temporalio-ui":                               "temporalio/ui@sha256:" + strings.Repeat("a", 64),
	}
	if !reflect.DeepEqual(got, want) {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("pulled %v (%v), want %v", got, keys, want)
	}
}

func TestWaitTimeoutOutlastsDockersVerdict(t *testing.T) {
	h := stacks.HealthCheck{Interval: 5 * time.Second, Timeout: 5 * time.Second, StartPeriod: 60 * time.Second, Retries: 12}
	// Docker calls it unhealthy after 60s + 12 failed checks; the deploy waits 13 periods plus a minute.
	if got, want := render.WaitTimeoutSeconds(h), 60+13*10+60; got != want {
		t.Errorf("WaitTimeoutSeconds = %d, want %d", got, want)
	}
}
