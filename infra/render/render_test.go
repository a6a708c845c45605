package render_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
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

// TestContainersFollowTheDefinition checks each container against its
// Service, field by field, the way stacks/stacktest renders it too.
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
			if got := in["name"].StringValue(); got != def.ContainerName(svc.Name) {
				t.Errorf("name = %q, want %q", got, def.ContainerName(svc.Name))
			}
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

			nets := in["networksAdvanced"].ArrayValue()
			if len(nets) != len(svc.Networks) {
				t.Fatalf("%d networks, want %d", len(nets), len(svc.Networks))
			}
			for i, a := range svc.Networks {
				o := nets[i].ObjectValue()
				if got := o["name"].StringValue(); got != def.Prefix+"-"+a.Network {
					t.Errorf("network = %q", got)
				}
				if got := strs(o["aliases"]); !reflect.DeepEqual(got, a.Aliases) {
					t.Errorf("aliases = %v, want %v", got, a.Aliases)
				}
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

			if h := svc.Health; h != nil {
				hc := in["healthcheck"].ObjectValue()
				if got := strs(hc["tests"]); !reflect.DeepEqual(got, []string{"CMD-SHELL", h.Test}) {
					t.Errorf("health test = %v", got)
				}
				for k, d := range map[string]time.Duration{"interval": h.Interval, "timeout": h.Timeout, "startPeriod": h.StartPeriod} {
					if got, err := time.ParseDuration(hc[resource.PropertyKey(k)].StringValue()); err != nil || got != d {
						t.Errorf("health %s = %v (%v), want %v", k, got, err, d)
					}
				}
				if got := hc["retries"].NumberValue(); int(got) != h.Retries {
					t.Errorf("health retries = %v, want %d", got, h.Retries)
				}
			} else if _, ok := in["healthcheck"]; ok {
				t.Error("a job got a health check")
			}

			if got := in["memory"].NumberValue(); int(got) != svc.MemoryMB {
				t.Errorf("memory = %v MB, want %d", got, svc.MemoryMB)
			}
			// No swap: memory and memory+swap equal, else Docker stores twice the
			// memory and every refresh reports a change.
			if got := in["memorySwap"].NumberValue(); int(got) != svc.MemoryMB {
				t.Errorf("memorySwap = %v MB, want %d (no swap)", got, svc.MemoryMB)
			}
			if got := in["restart"].StringValue(); got != svc.Restart {
				t.Errorf("restart = %q, want %q", got, svc.Restart)
			}
			if got := in["logDriver"].StringValue(); got != svc.Logging.Driver {
				t.Errorf("log driver = %q", got)
			}
			lo := in["logOpts"].ObjectValue()
			if lo["max-size"].StringValue() != svc.Logging.MaxSize || lo["max-file"].StringValue() != strconv.Itoa(svc.Logging.MaxFile) {
				t.Errorf("log opts = %v", lo)
			}
			if svc.StopTimeout > 0 {
				secs := svc.StopTimeout.Seconds()
				if in["stopTimeout"].NumberValue() != secs || in["destroyGraceSeconds"].NumberValue() != secs {
					t.Errorf("stopTimeout/destroyGraceSeconds = %v/%v, want %v", in["stopTimeout"], in["destroyGraceSeconds"], secs)
				}
			}
			if svc.StopSignal != "" && in["stopSignal"].StringValue() != svc.StopSignal {
				t.Errorf("stopSignal = %v, want %s", in["stopSignal"], svc.StopSignal)
			}
			labels := map[string]string{}
			for _, e := range in["labels"].ArrayValue() {
				o := e.ObjectValue()
				labels[o["label"].StringValue()] = o["value"].StringValue()
			}
			wantLabels := maps.Clone(svc.Labels)
			for _, dep := range svc.DependsOn {
				if dep.Recreate {
					// The mocks' ID of the job's container: a new one replaces this service.
					wantLabels["temporal-kit.follows."+dep.Service] = dep.Service + "-id"
				}
			}
			if !reflect.DeepEqual(labels, wantLabels) {
				t.Errorf("labels = %v, want %v", labels, wantLabels)
			}

			var mounts []string
			if mm, ok := in["mounts"]; ok {
				for _, e := range mm.ArrayValue() {
					o := e.ObjectValue()
					mounts = append(mounts, o["type"].StringValue()+" "+o["source"].StringValue()+" "+o["target"].StringValue())
				}
			}
			var wantMounts []string
			for _, mt := range svc.Mounts {
				if v, _ := def.Volume(mt.Volume); v.HostPath != "" {
					wantMounts = append(wantMounts, "bind "+v.HostPath+" "+mt.Target)
					continue
				}
				wantMounts = append(wantMounts, "volume "+def.Prefix+"-"+mt.Volume+" "+mt.Target)
			}
			if !reflect.DeepEqual(mounts, wantMounts) {
				t.Errorf("mounts = %v, want %v", mounts, wantMounts)
			}
		})
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
		}, "temporal-ui waits for temporal-schema to be healthy"},
		{"long-running without health check", func(d *stacks.Definition) {
			d.Services[indexOf(*d, stacks.ServiceAdminTools)].Health = nil
		}, "temporal-admin-tools has no health check"},
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
