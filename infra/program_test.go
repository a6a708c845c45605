package infra_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

const (
	C = infratest.TypeContainer
	// Secret values used as stack config in these tests.
	pgFromConfig   = "pg-from-config-Zx9"
	serpFromConfig = "serp-key-from-config-Qw7"
)

// run is one mocked `pulumi up` of the program.
type run struct {
	m          *infratest.Mocks
	err        error
	out        *infra.Outputs
	containers []string
	jobs       map[string]string
	// tunnel is the sshTunnel output of a target over SSH.
	tunnel string
	// secretOutputs names the Output-typed stack outputs that came out secret.
	secretOutputs []string
}

// workerRoot is a repository root with the Dockerfiles of the kit's own images, as the official
// catalog needs it (the real one is another package's business).
func workerRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, df := range []string{infra.WorkerDockerfile, infra.BackupDockerfile, infra.ProxyDockerfile} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(df)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, df), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func deploy(t *testing.T, stack string, cfg map[string]string, secret []string, m *infratest.Mocks, root string) run {
	t.Helper()
	if m == nil {
		m = infratest.NewMocks()
	}
	if root == "" {
		root = workerRoot(t)
	}
	r := run{m: m}
	infratest.SetConfig(t, cfg, secret...)
	r.err = infratest.Run(stack, m, func(ctx *pulumi.Context) error {
		out, err := infra.Deploy(ctx, infra.Options{Root: root})
		if err != nil {
			return err
		}
		r.out = out
		// Exported, so Run waits for the applies before it returns.
		ctx.Export("testContainers", out.Containers.ApplyT(func(v []string) []string { r.containers = v; return v }))
		ctx.Export("testJobs", out.Jobs.ApplyT(func(v map[string]string) map[string]string { r.jobs = v; return v }))
		if out.SSHTunnel != nil {
			ctx.Export("testSSHTunnel", out.SSHTunnel.ToStringOutput().ApplyT(func(v string) string { r.tunnel = v; return v }))
		}
		out.Export(ctx)
		if pulumi.IsSecret(out.Containers) {
			r.secretOutputs = append(r.secretOutputs, "containers")
		}
		if pulumi.IsSecret(out.Jobs) {
			r.secretOutputs = append(r.secretOutputs, "jobs")
		}
		return nil
	})
	return r
}

func TestDevStackRegistersExactlyTheseResources(t *testing.T) {
	r := deploy(t, "dev", map[string]string{"target": "local"}, nil, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{
		"command:local:Command secrets-backup-run",
		"command:local:Command secrets-grafana-run",
		"command:local:Command secrets-postgres-exporter-run",
		"command:local:Command secrets-postgresql-run",
		"command:local:Command secrets-temporal-run",
		"command:local:Command secrets-temporal-schema-run",
		"command:local:Command secrets-worker-run",
		"command:local:Command temporal-namespace-run",
		"command:local:Command temporal-schema-run",
		"docker:index/container:Container alertmanager",
		"docker:index/container:Container backup",
		"docker:index/container:Container container-exporter",
		"docker:index/container:Container docker-gate",
		"docker:index/container:Container grafana",
		"docker:index/container:Container node-exporter",
		"docker:index/container:Container postgres-exporter",
		"docker:index/container:Container postgresql",
		"docker:index/container:Container prometheus",
		"docker:index/container:Container secrets-backup",
		"docker:index/container:Container secrets-grafana",
		"docker:index/container:Container secrets-postgres-exporter",
		"docker:index/container:Container secrets-postgresql",
		"docker:index/container:Container secrets-temporal",
		"docker:index/container:Container secrets-temporal-schema",
		"docker:index/container:Container secrets-worker",
		"docker:index/container:Container temporal",
		"docker:index/container:Container temporal-admin-tools",
		"docker:index/container:Container temporal-namespace",
		"docker:index/container:Container temporal-schema",
		"docker:index/container:Container temporal-ui",
		"docker:index/container:Container worker",
		"docker:index/image:Image image-backup",
		"docker:index/image:Image image-worker",
		"docker:index/network:Network backend",
		"docker:index/remoteImage:RemoteImage image-grafana-grafana",
		"docker:index/remoteImage:RemoteImage image-postgres",
		"docker:index/remoteImage:RemoteImage image-prom-alertmanager",
		"docker:index/remoteImage:RemoteImage image-prom-node-exporter",
		"docker:index/remoteImage:RemoteImage image-prom-prometheus",
		"docker:index/remoteImage:RemoteImage image-quay-io-prometheuscommunity-postgres-exporter",
		"docker:index/remoteImage:RemoteImage image-temporalio-admin-tools",
		"docker:index/remoteImage:RemoteImage image-temporalio-server",
		"docker:index/remoteImage:RemoteImage image-temporalio-ui",
		"docker:index/volume:Volume alertmanager-data",
		"docker:index/volume:Volume backups",
		"docker:index/volume:Volume postgres-data",
		"docker:index/volume:Volume prometheus-data",
		"docker:index/volume:Volume secrets-backup",
		"docker:index/volume:Volume secrets-grafana",
		"docker:index/volume:Volume secrets-postgres-exporter",
		"docker:index/volume:Volume secrets-postgresql",
		"docker:index/volume:Volume secrets-temporal",
		"docker:index/volume:Volume secrets-temporal-schema",
		"docker:index/volume:Volume secrets-worker",
		"random:index/randomPassword:RandomPassword grafanaAdminPassword",
		"random:index/randomPassword:RandomPassword monitoringPassword",
		"random:index/randomPassword:RandomPassword postgresPassword",
	}
	if got := r.m.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("registered resources:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantNames := []string{
		"temporal-kit-dev-secrets-postgresql", "temporal-kit-dev-postgresql", "temporal-kit-dev-secrets-temporal-schema", "temporal-kit-dev-temporal-schema",
		"temporal-kit-dev-secrets-temporal", "temporal-kit-dev-temporal", "temporal-kit-dev-temporal-namespace", "temporal-kit-dev-temporal-ui", "temporal-kit-dev-temporal-admin-tools",
		"temporal-kit-dev-secrets-worker", "temporal-kit-dev-worker", "temporal-kit-dev-secrets-backup", "temporal-kit-dev-backup", "temporal-kit-dev-secrets-grafana", "temporal-kit-dev-grafana",
		"temporal-kit-dev-alertmanager", "temporal-kit-dev-prometheus", "temporal-kit-dev-node-exporter",
		"temporal-kit-dev-docker-gate", "temporal-kit-dev-container-exporter", "temporal-kit-dev-secrets-postgres-exporter", "temporal-kit-dev-postgres-exporter",
	}
	if !reflect.DeepEqual(r.containers, wantNames) {
		t.Errorf("containers output = %v, want %v", r.containers, wantNames)
	}
	wantJobs := map[string]string{"temporal-schema": "temporal-schema is done", "temporal-namespace": "temporal-namespace is done"}
	for _, s := range []string{"postgresql", "temporal-schema", "temporal", "worker", "backup", "grafana", "postgres-exporter"} {
		wantJobs["secrets-"+s] = "secrets-" + s + " is done"
	}
	if !reflect.DeepEqual(r.jobs, wantJobs) {
		t.Errorf("jobs output = %v, want %v", r.jobs, wantJobs)
	}
	net, _ := r.m.Find(infratest.TypeNetwork, "backend")
	if got := net.Inputs["name"].StringValue(); got != "temporal-kit-dev-backend" {
		t.Errorf("network name = %q", got)
	}
	vol, _ := r.m.Find(infratest.TypeVolume, "postgres-data")
	if got := vol.Inputs["name"].StringValue(); got != "temporal-kit-dev-postgres-data" {
		t.Errorf("volume name = %q", got)
	}
	pw, _ := r.m.Find(infratest.TypeRandomPassword, "postgresPassword")
	if got := pw.Inputs["length"].NumberValue(); got != 32 {
		t.Errorf("generated password length = %v, want 32", got)
	}
	if pw.Inputs["special"].BoolValue() {
		t.Error("generated password may contain special characters; they break the YAML and shell it lands in")
	}
}

func TestImageCatalogs(t *testing.T) {
	t.Run("official pulls upstream images and builds the worker", func(t *testing.T) {
		root := workerRoot(t)
		r := deploy(t, "dev", map[string]string{}, nil, nil, root)
		if r.err != nil {
			t.Fatal(r.err)
		}
		pulled := r.m.Of(infratest.TypeRemoteImage)
		byRef := map[string]string{}
		for name, img := range pulled {
			byRef[img.Inputs["name"].StringValue()] = name
			if !img.Inputs["keepLocally"].BoolValue() {
				t.Errorf("%s: keepLocally is not true", name)
			}
		}
		built, ok := r.m.Find(infratest.TypeImage, "image-worker")
		if !ok {
			t.Fatal("no worker image build")
		}
		b := built.Inputs["build"].ObjectValue()
		if got := b["context"].StringValue(); got != root {
			t.Errorf("build context = %q, want the repository root %q", got, root)
		}
		if got := b["dockerfile"].StringValue(); got != filepath.Join(root, "worker", "Dockerfile") {
			t.Errorf("dockerfile = %q", got)
		}
		if !built.Inputs["skipPush"].BoolValue() {
			t.Error("the worker image would be pushed")
		}
		official := stacks.Catalogs[stacks.CatalogOfficial]
		if got := built.Inputs["imageName"].StringValue(); got != official.Worker {
			t.Errorf("worker image name = %q, want %q", got, official.Worker)
		}
		// Every container runs the ID of the image resource for its reference.
		for _, svc := range stacktest.Definition(t, "dev", map[string]string{}).Services {
			c, _ := r.m.Find(C, svc.Name)
			want := infratest.BuiltID("image-worker")
			if svc.Image == official.Backup {
				want = infratest.BuiltID("image-backup")
			} else if svc.Image != official.Worker {
				name, ok := byRef[svc.Image]
				if !ok {
					t.Errorf("%s: image %s is not pulled", svc.Name, svc.Image)
					continue
				}
				want = infratest.PulledID(name)
			}
			if got := c.Inputs["image"].StringValue(); got != want {
				t.Errorf("%s runs image %q, want %q", svc.Name, got, want)
			}
		}
	})
	t.Run("local uses the offline set as it is", func(t *testing.T) {
		// An empty root: the local catalog must not need worker/Dockerfile either.
		r := deploy(t, "dev", map[string]string{"imageCatalog": "local"}, nil, nil, t.TempDir())
		if r.err != nil {
			t.Fatal(r.err)
		}
		if n := len(r.m.Of(infratest.TypeRemoteImage)) + len(r.m.Of(infratest.TypeImage)); n != 0 {
			t.Errorf("local catalog registered %d image resources", n)
		}
		local := stacks.Catalogs[stacks.CatalogLocal]
		want := map[string]string{
			"postgresql": local.Postgres, "temporal-schema": local.TemporalAdminTools, "temporal": local.TemporalServer,
			"temporal-namespace": local.TemporalAdminTools, "temporal-ui": local.TemporalUI,
			"temporal-admin-tools": local.TemporalAdminTools, "worker": local.Worker,
		}
		for svc, img := range want {
			c, _ := r.m.Find(C, svc)
			if got := c.Inputs["image"].StringValue(); got != img {
				t.Errorf("%s runs %q, want %q", svc, got, img)
			}
		}
	})
	t.Run("official without worker/Dockerfile says what to do", func(t *testing.T) {
		r := deploy(t, "dev", map[string]string{}, nil, nil, t.TempDir())
		if r.err == nil {
			t.Fatal("no error without worker/Dockerfile")
		}
		for _, s := range []string{"worker/Dockerfile", "temporal-kit:imageCatalog local", "kit-images build"} {
			if !strings.Contains(r.err.Error(), s) {
				t.Errorf("error %q does not mention %q", r.err, s)
			}
		}
	})
}

func TestSecretsStaySecret(t *testing.T) {
	const dir = "/etc/temporal-kit/secrets-in/"
	cases := []struct {
		name   string
		cfg    map[string]string
		secret []string
		values map[string]string // file the secrets job writes -> the secret value it must hold
	}{
		{
			name:   "generated PostgreSQL password",
			cfg:    map[string]string{},
			values: map[string]string{dir + "postgresPassword": infratest.Generated("postgresPassword"), dir + "monitoringPassword": infratest.Generated("monitoringPassword"), dir + "grafanaAdminPassword": infratest.Generated("grafanaAdminPassword")},
		},
		{
			name:   "passwords from secret config",
			cfg:    map[string]string{"postgresPassword": pgFromConfig, "serpApiKey": serpFromConfig},
			secret: []string{"postgresPassword", "serpApiKey"},
			values: map[string]string{dir + "postgresPassword": pgFromConfig, dir + "serpApiKey": serpFromConfig, dir + "monitoringPassword": infratest.Generated("monitoringPassword"), dir + "grafanaAdminPassword": infratest.Generated("grafanaAdminPassword")},
		},
		{
			name: "alert receivers' secrets from secret config",
			cfg: map[string]string{"alertSmtpPassword": "smtp-pw-from-config-Kp3", "alertSlackWebhookUrl": "https://hooks.slack.example/T0/B0/slack-secret-Vb8",
				"alertEmail": `{"to":"ops@example.com","from":"kit@example.com","smarthost":"smtp.example.com:587","username":"kit"}`},
			secret: []string{"alertSmtpPassword", "alertSlackWebhookUrl"},
			values: map[string]string{dir + "postgresPassword": infratest.Generated("postgresPassword"), dir + "monitoringPassword": infratest.Generated("monitoringPassword"),
				dir + "alertSmtpPassword": "smtp-pw-from-config-Kp3", dir + "alertSlackWebhookUrl": "https://hooks.slack.example/T0/B0/slack-secret-Vb8", dir + "grafanaAdminPassword": infratest.Generated("grafanaAdminPassword")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, "dev", tc.cfg, tc.secret, nil, "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			if tc.cfg["postgresPassword"] != "" {
				if _, ok := r.m.Find(infratest.TypeRandomPassword, "postgresPassword"); ok {
					t.Error("a password is generated although the config sets one")
				}
			}
			// Only the secrets jobs hold them: as secret file contents.
			got := map[string]string{}
			for _, job := range r.m.Of(C) {
				if !strings.HasPrefix(job.Name, "secrets-") {
					continue
				}
				for _, u := range job.Inputs["uploads"].ArrayValue() {
					o := u.ObjectValue()
					if c := o["content"]; c.IsSecret() {
						got[o["file"].StringValue()] = c.SecretValue().Element.StringValue()
					} else {
						t.Errorf("%s: %s is uploaded in plain text", job.Name, o["file"].StringValue())
					}
				}
			}
			if !reflect.DeepEqual(got, tc.values) {
				t.Errorf("secret jobs write %v, want %v", got, tc.values)
			}
			// No container carries a secret in its env: docker inspect would show it.
			for _, c := range r.m.Of(C) {
				_, secret := infratest.Strings(c.Inputs["envs"])
				if len(secret) > 0 {
					t.Errorf("%s: env entries %d are secret; secrets go as files", c.Name, len(secret))
				}
			}
			// No secret value anywhere in any plain input of any resource.
			for _, res := range r.m.Resources() {
				plain, _ := infratest.Strings(resource.NewProperty(res.Inputs))
				for _, p := range plain {
					for _, v := range tc.values {
						if strings.Contains(p, v) {
							t.Errorf("%s: plain input %q holds a secret", res.Key(), p)
						}
					}
				}
			}
			// Nor in the stack outputs, which are plain.
			o := r.out
			text := strings.Join(append([]string{o.TemporalAddress, o.UIURL, o.WorkerAPIURL, o.Postgres, o.Namespace, o.HowToReach}, r.containers...), "\n")
			for _, v := range tc.values {
				if strings.Contains(text, v) {
					t.Errorf("stack outputs hold a secret: %s", text)
				}
			}
			if len(r.secretOutputs) > 0 {
				t.Errorf("outputs %v are secret; stack outputs must not depend on secrets", r.secretOutputs)
			}
		})
	}
}

func TestPortsBindToLoopbackUnlessConfigOpensThem(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]string
		ip   string
		// public are the containers whose ports bind ip; the rest bind 127.0.0.1.
		public []string
	}{
		{"default", map[string]string{}, "127.0.0.1", []string{"temporal", "temporal-ui", "worker", "grafana"}},
		{"bindAddress opens what publicPorts names", map[string]string{"bindAddress": "0.0.0.0", "publicPorts": `["temporal","ui","worker","grafana"]`}, "0.0.0.0",
			[]string{"temporal", "temporal-ui", "worker", "grafana"}},
		{"and nothing else", map[string]string{"bindAddress": "0.0.0.0", "publicPorts": `["ui"]`}, "0.0.0.0", []string{"temporal-ui"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, "dev", tc.cfg, nil, nil, "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			published := map[string]float64{}
			for name, c := range r.m.Of(C) {
				p, ok := c.Inputs["ports"]
				if !ok {
					continue
				}
				for _, port := range p.ArrayValue() {
					o := port.ObjectValue()
					want := "127.0.0.1" // Prometheus has no login: loopback whatever bindAddress says
					if slices.Contains(tc.public, name) {
						want = tc.ip
					}
					if got := o["ip"].StringValue(); got != want {
						t.Errorf("%s: port %v bound to %q, want %q", name, o["internal"].NumberValue(), got, want)
					}
					published[name] = o["external"].NumberValue()
				}
			}
			want := map[string]float64{"temporal": 7233, "temporal-ui": 8080, "worker": 8000, "prometheus": 9090, "grafana": 3000}
			if !reflect.DeepEqual(published, want) {
				t.Errorf("published host ports = %v, want %v (PostgreSQL and metrics stay internal)", published, want)
			}
		})
	}
}

// The outputs give each port's real address: a port publicPorts does not
// name is on the loopback even when bindAddress is another interface.
func TestOutputsFollowWherePortsBind(t *testing.T) {
	r := deploy(t, "dev", map[string]string{"bindAddress": "10.0.0.5", "publicPorts": `["ui"]`}, nil, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.out.UIURL != "http://10.0.0.5:8080" || r.out.TemporalAddress != "127.0.0.1:7233" || r.out.WorkerAPIURL != "http://127.0.0.1:8000" {
		t.Errorf("uiUrl %q, temporalAddress %q, workerApiUrl %q", r.out.UIURL, r.out.TemporalAddress, r.out.WorkerAPIURL)
	}
}

func TestOneConfigValueChangesOnlyItsContainers(t *testing.T) {
	cases := []struct {
		key, value string
		want       []string
	}{
		{"namespaceRetention", "30d", []string{C + " temporal-namespace"}},
		{"logLevel", "debug", []string{C + " temporal"}},
		{"hostPorts", `{"ui": 8088}`, []string{C + " temporal-ui"}},
		{"memoryMB", `{"worker": 1024}`, []string{C + " worker"}},
		{"namespace", "acme", []string{C + " temporal-namespace", C + " temporal-ui", C + " worker"}},
	}
	base := deploy(t, "dev", map[string]string{}, nil, nil, "")
	if base.err != nil {
		t.Fatal(base.err)
	}
	before := map[string]resource.PropertyMap{}
	for _, r := range base.m.Resources() {
		before[r.Key()] = r.Inputs
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			r := deploy(t, "dev", map[string]string{tc.key: tc.value}, nil, nil, "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			var changed []string
			after := map[string]bool{}
			for _, res := range r.m.Resources() {
				after[res.Key()] = true
				old, ok := before[res.Key()]
				// Build contexts are per-test temp dirs; compare the rest.
				if !ok || !withoutBuildPaths(old).DeepEquals(withoutBuildPaths(res.Inputs)) {
					changed = append(changed, res.Key())
				}
			}
			for k := range before {
				if !after[k] {
					changed = append(changed, k+" (gone)")
				}
			}
			sort.Strings(changed)
			if !reflect.DeepEqual(changed, tc.want) {
				t.Errorf("%s=%s changed %v, want exactly %v", tc.key, tc.value, changed, tc.want)
			}
		})
	}
}

func withoutBuildPaths(m resource.PropertyMap) resource.PropertyMap {
	if _, ok := m["build"]; !ok {
		return m
	}
	c := m.Copy()
	delete(c, "build")
	return c
}

func TestInvalidConfigFailsNamingEveryKey(t *testing.T) {
	cases := []struct {
		name   string
		cfg    map[string]string
		secret []string
		want   []string
	}{
		{"bad shard count", map[string]string{"historyShards": "3"}, nil, []string{"temporal-kit:historyShards"}},
		{"unknown target", map[string]string{"target": "mars"}, nil, []string{"temporal-kit:target", `"local"`}},
		{"all problems at once", map[string]string{"logLevel": "loud", "bindAddress": "everywhere", "namespaceRetention": "1h"},
			nil, []string{"temporal-kit:logLevel", "temporal-kit:bindAddress", "temporal-kit:namespaceRetention"}},
		{"existing PostgreSQL without password", map[string]string{"postgresHost": "db.internal"}, nil,
			[]string{"temporal-kit:postgresPassword", "--secret"}},
		{"password in plain text", map[string]string{"postgresPassword": pgFromConfig}, nil,
			[]string{"temporal-kit:postgresPassword", "plain text", "pulumi config set --secret temporal-kit:postgresPassword"}},
		{"plain-text secret reported with the other problems", map[string]string{"serpApiKey": serpFromConfig, "historyShards": "0"}, nil,
			[]string{"temporal-kit:serpApiKey", "temporal-kit:historyShards"}},
		{"misspelt key", map[string]string{"historyShard": "8"}, nil,
			[]string{"temporal-kit:historyShard: unknown key; did you mean historyShards?"}},
		{"misspelt keys reported with the other problems", map[string]string{"serpApiKy": serpFromConfig, "logLevel": "loud", "postgresPassword": pgFromConfig}, []string{"serpApiKy"},
			[]string{"temporal-kit:serpApiKy: unknown key; did you mean serpApiKey?", "temporal-kit:logLevel", "temporal-kit:postgresPassword", "plain text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, "dev", tc.cfg, tc.secret, nil, "")
			if r.err == nil {
				t.Fatal("invalid config deployed")
			}
			var ce *stacks.ConfigError
			if !errors.As(r.err, &ce) {
				t.Errorf("error is not a *stacks.ConfigError: %v", r.err)
			}
			for _, s := range tc.want {
				if !strings.Contains(r.err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, r.err)
				}
			}
			if strings.Contains(r.err.Error(), pgFromConfig) || strings.Contains(r.err.Error(), serpFromConfig) {
				t.Errorf("error shows a secret value: %v", r.err)
			}
			if n := len(r.m.Resources()); n != 0 {
				t.Errorf("%d resources registered despite the invalid config", n)
			}
		})
	}
}

// docker:host, hcloud:token and the like configure providers: not ours to judge.
func TestOtherNamespacesAreNotChecked(t *testing.T) {
	r := deploy(t, "dev", map[string]string{"logLevel": "debug", "docker:host": "unix:///var/run/docker.sock", "hcloud:token": "t"}, []string{"hcloud:token"}, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(C, "temporal"); !ok {
		t.Error("nothing deployed")
	}
}

// TestJobsStartOnTheProvidersEngine: the docker CLI that starts a job talks
// to the engine the docker provider deploys to, not the CLI's own context.
func TestJobsStartOnTheProvidersEngine(t *testing.T) {
	cases := []struct{ name, dockerHostConfig, dockerHostEnv, want string }{
		{"docker:host in the stack config", "tcp://10.0.0.5:2376", "unix:///elsewhere.sock", "tcp://10.0.0.5:2376"},
		{"DOCKER_HOST in the environment", "", "unix:///run/user/1000/docker.sock", "unix:///run/user/1000/docker.sock"},
		{"neither: the provider's default socket", "", "", "unix:///var/run/docker.sock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tc.dockerHostEnv)
			cfg := map[string]string{}
			if tc.dockerHostConfig != "" {
				cfg["docker:host"] = tc.dockerHostConfig
			}
			r := deploy(t, "dev", cfg, nil, nil, "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			runs := r.m.Of(infratest.TypeCommand)
			if len(runs) == 0 {
				t.Fatal("no job run registered")
			}
			for name, run := range runs {
				if got := run.Inputs["environment"].ObjectValue()["DOCKER_HOST"].StringValue(); got != tc.want {
					t.Errorf("%s: DOCKER_HOST = %q, want %q", name, got, tc.want)
				}
			}
		})
	}
}

func TestFailedJobFailsTheDeploymentAndStopsItsDependents(t *testing.T) {
	cases := []struct {
		job        string
		code       int
		notCreated []string
		created    []string
	}{
		{"temporal-schema", 1, []string{"temporal", "temporal-namespace", "temporal-ui", "temporal-admin-tools", "worker"}, []string{"postgresql"}},
		{"temporal-namespace", 3, []string{"temporal-ui", "worker"}, []string{"temporal", "temporal-admin-tools"}},
	}
	for _, tc := range cases {
		t.Run(tc.job, func(t *testing.T) {
			m := infratest.NewMocks()
			m.ExitCodes[tc.job] = tc.code
			r := deploy(t, "dev", map[string]string{}, nil, m, "")
			if r.err == nil {
				t.Fatalf("job %s exited %d and the deployment succeeded", tc.job, tc.code)
			}
			if !strings.Contains(r.err.Error(), "job "+tc.job) {
				t.Errorf("error does not name job %s:\n%v", tc.job, r.err)
			}
			for _, s := range tc.notCreated {
				if _, ok := r.m.Find(C, s); ok {
					t.Errorf("%s was created after %s failed", s, tc.job)
				}
			}
			for _, s := range tc.created {
				if _, ok := r.m.Find(C, s); !ok {
					t.Errorf("%s, which does not wait for %s, was not created", s, tc.job)
				}
			}
		})
	}
}

func TestStartOrderAndWaits(t *testing.T) {
	r := deploy(t, "dev", map[string]string{}, nil, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	def := stacktest.Definition(t, "dev", map[string]string{})
	edges := 0
	for _, svc := range def.Services {
		c, _ := r.m.Find(C, svc.Name)
		for _, dep := range svc.DependsOn {
			urn := infratest.URN("dev", C, dep.Service)
			if !contains(c.Deps, urn) {
				t.Errorf("%s does not depend on %s (deps %v)", svc.Name, dep.Service, c.Deps)
			}
			if dep.Condition == stacks.Completed {
				// A job is done when its run command is: that is what dependents wait for.
				run := infratest.URN("dev", infratest.TypeCommand, dep.Service+infratest.JobRunSuffix)
				if !contains(c.Deps, run) {
					t.Errorf("%s does not wait for the run of job %s (deps %v)", svc.Name, dep.Service, c.Deps)
				}
			}
			edges++
		}
		in := c.Inputs
		switch svc.Kind {
		case stacks.OneShot:
			// Created, not started: its run command starts it.
			start, ok := in["start"]
			if !ok || !start.IsBool() || start.BoolValue() {
				t.Errorf("job %s: start=%v, want false", svc.Name, in["start"])
			}
			if flag(in, "attach") || flag(in, "mustRun") || flag(in, "rm") || flag(in, "wait") {
				t.Errorf("job %s: attach=%v mustRun=%v rm=%v wait=%v, want all false", svc.Name, in["attach"], in["mustRun"], in["rm"], in["wait"])
			}
			run, ok := r.m.Find(infratest.TypeCommand, svc.Name+infratest.JobRunSuffix)
			if !ok {
				t.Fatalf("job %s has no run command", svc.Name)
			}
			if !contains(run.Deps, infratest.URN("dev", C, svc.Name)) {
				t.Errorf("run of %s does not depend on its container (deps %v)", svc.Name, run.Deps)
			}
			if got := run.Inputs["environment"].ObjectValue()["KIT_JOB_CONTAINER"].StringValue(); got != def.ContainerName(svc.Name) {
				t.Errorf("run of %s starts container %q, want %q", svc.Name, got, def.ContainerName(svc.Name))
			}
		default:
			if !flag(in, "wait") || !flag(in, "mustRun") {
				t.Errorf("service %s: wait=%v mustRun=%v, want both true", svc.Name, in["wait"], in["mustRun"])
			}
			// Long enough for Docker to call the service unhealthy before the deploy gives up.
			h := svc.Health
			minimum := h.StartPeriod + time.Duration(h.Retries)*h.Interval
			if got := in["waitTimeout"].NumberValue(); got < minimum.Seconds() {
				t.Errorf("service %s: waitTimeout %vs is below %v", svc.Name, got, minimum)
			}
		}
	}
	if edges < 7 {
		t.Errorf("only %d dependency edges checked", edges)
	}
}

// flag reads a bool input; unset is false, as the provider defaults these.
func flag(in resource.PropertyMap, key string) bool {
	v, ok := in[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
