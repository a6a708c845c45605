package deployring

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// TestDeployRing deploys the dev stack with the real Pulumi CLI and docker
// provider on the local Docker engine, then walks it through what an
// operator does: a second up, refresh, config changes, destroy and up on
// the kept data. Figures are printed as FIGURE lines.
func TestDeployRing(t *testing.T) {
	stacktest.RequireDocker(t)
	RequirePulumi(t, "the deploy ring")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	r := newRing(t, ctx, "ring"+randomHex(3), nil)
	def := r.definition()
	var o outputs
	var jobID string
	ringT := t
	var fixture *stacktest.Stack

	ok := t.Run("up from nothing", func(t *testing.T) {
		res := r.up(ctx)
		t.Logf("FIGURE first pulumi up (local catalog, images present): %s", res.Took.Round(100*time.Millisecond))
		o = r.outputs(ctx)
		checkAnswers(t, ctx, o)
		// The fake SERP API and web sites join the stack's network, as the
		// real ones would be reached: through serpApiUrl and HTTP_PROXY.
		// Joined for the whole ring (ring's t): later steps run jobs too.
		fx := stacks.Definition{Services: []stacks.Service{fixturesvc.Service(0)}}
		fixture = stacktest.JoinNetwork(ringT, fx, []string{fixturesvc.Name}, def.Prefix+"-"+stacks.NetworkBackend,
			map[string]string{stacks.SecretSerpAPIKey: r.serpKey})
		jobID = RunJob(t, ctx, o.WorkerAPIURL, 8, 3*time.Minute).ID
	})
	if !ok {
		return
	}

	if !t.Run("second up and refresh change nothing", func(t *testing.T) {
		res, err := r.cli.Run(ctx, "up", "--yes", "--skip-preview", "--json")
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseUp(res.Stdout)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE second pulumi up: %d changes %v (%s)", len(p.Changes()), p.Changes(), res.Took.Round(100*time.Millisecond))
		mustNoChanges(t, "second up", p)
		if _, err := r.cli.Run(ctx, "refresh", "--yes", "--skip-preview"); err != nil {
			t.Fatal(err)
		}
		pv, err := r.cli.Preview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE preview after refresh: %d changes %v", len(pv.Changes()), pv.Changes())
		mustNoChanges(t, "preview after refresh", pv)
	}) {
		return
	}

	if !t.Run("a container stopped by hand is started again by up", func(t *testing.T) {
		ui := def.ContainerName(stacks.ServiceUI)
		docker(ctx, t, "stop", ui)
		res := r.up(ctx) // Pulumi.yaml: refresh always
		if got := inspect(ctx, t, ui, "{{.State.Running}} {{.State.Health.Status}}"); got != "true healthy" {
			t.Errorf("%s after up: %s, want running and healthy", ui, got)
		}
		t.Logf("FIGURE up after the UI container was stopped by hand: %s", res.Took.Round(100*time.Millisecond))
	}) {
		return
	}

	newPassword := "pw-" + randomHex(12)
	changes := []struct {
		name, key, value string
		secret           bool
		want             []string
		// visible is a plain text the diff must show; empty for a secret.
		visible string
	}{
		{"a Temporal env value", "logLevel", "debug", false,
			[]string{"replace temporal"}, "LOG_LEVEL=debug"},
		{"the namespace retention", "namespaceRetention", "96h", false,
			[]string{"replace temporal-namespace", "replace temporal-namespace-run"}, "KIT_RETENTION=96h"},
		// The UI is a Go program whose GOMEMLIMIT follows its memory limit:
		// a new limit is a new env, so the container is created anew.
		{"a memory limit", "memoryMB.temporal-ui", "300", false,
			[]string{"replace temporal-ui"}, "300"},
		{"a host port", "hostPorts.worker", fmt.Sprint(FreePort(t)), false,
			[]string{"replace worker"}, ""}, // visible: the port number itself
		{"the PostgreSQL password", "postgresPassword", newPassword, true,
			// Each reader's own secrets job runs anew, and only the readers follow.
			[]string{"delete postgresPassword", "replace postgresql", "replace temporal", "replace temporal-schema", "replace temporal-schema-run", "replace worker", "replace backup",
				"replace secrets-postgresql", "replace secrets-postgresql-run", "replace secrets-temporal-schema", "replace secrets-temporal-schema-run",
				"replace secrets-temporal", "replace secrets-temporal-run", "replace secrets-worker", "replace secrets-worker-run", "replace secrets-backup", "replace secrets-backup-run"}, ""},
	}
	if !t.Run("each config change touches only its resources", func(t *testing.T) {
		for _, c := range changes {
			if c.visible == "" && !c.secret {
				c.visible = c.value
			}
			before := r.snapshot()
			r.set(ctx, c.key, c.value, c.secret)
			p, err := r.cli.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Changes()
			t.Logf("FIGURE config change %s (%s): %v", c.name, c.key, got)
			if !reflect.DeepEqual(got, slices.Sorted(slices.Values(c.want))) {
				t.Errorf("%s: plan %v, want %v; why: %s", c.name, got, slices.Sorted(slices.Values(c.want)), p.Reasons())
			}
			if c.secret && strings.Contains(p.Raw, c.value) {
				t.Errorf("%s: the secret value is in the preview's output", c.name)
			}
			if c.visible != "" && !strings.Contains(p.Raw, c.visible) {
				t.Errorf("%s: the diff does not show %q", c.name, c.visible)
			}
			if !c.secret && !strings.Contains(p.Raw, c.value) {
				t.Errorf("%s: the diff does not show the new value %q", c.name, c.value)
			}
			if c.secret {
				continue // kept: the up below applies it
			}
			r.restore(ctx, c.key, before)
		}
	}) {
		return
	}

	if !t.Run("changes applied", func(t *testing.T) {
		for _, c := range changes[:3] {
			r.set(ctx, c.key, c.value, c.secret)
		}
		res := r.up(ctx)
		t.Logf("FIGURE up with a new PostgreSQL password, log level, retention and memory limit: %s", res.Took.Round(100*time.Millisecond))
		o = r.outputs(ctx)
		checkAnswers(t, ctx, o)
		def = r.definition()
		if got := inspect(ctx, t, def.ContainerName(stacks.ServiceUI), "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"); got != "314572800 314572800" {
			t.Errorf("temporal-ui memory/memory+swap = %s, want 300 MiB and no swap", got)
		}
		if got := retention(t, ctx, o); got != 96*time.Hour {
			t.Errorf("retention = %s, want 96h", got)
		}
		r.noSecretInState(ctx, newPassword, r.serpKey)
		// The new password is the one PostgreSQL takes: the worker stores rows with it.
		RunJob(t, ctx, o.WorkerAPIURL, 8, 3*time.Minute)
		if st := workflowStatus(t, ctx, o, jobID); st != "Completed" {
			t.Errorf("job %s before the change: workflow %s", jobID, st)
		}
		mustNoChanges(t, "preview after the changes", mustPreview(t, ctx, r))
	}) {
		return
	}

	if !t.Run("destroy keeps the data, up comes back on it", func(t *testing.T) {
		// Back to a generated password: the next up generates a new one that
		// the kept database has never seen.
		r.unset(ctx, "postgresPassword")
		// A container Pulumi does not manage would keep the network in use.
		if err := fixture.Close(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := r.cli.Run(ctx, "destroy", "--yes", "--skip-preview")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE pulumi destroy: %s", res.Took.Round(100*time.Millisecond))
		volume := def.Prefix + "-" + stacks.VolumePostgresData
		if got := docker(ctx, t, "volume", "ls", "-q", "--filter", "name=^"+volume+"$"); got != volume {
			t.Fatalf("volume %s is gone after destroy (%q)", volume, got)
		}
		if got := docker(ctx, t, "ps", "-aq", "--filter", "name=^"+def.ContainerName(stacks.ServiceTemporal)+"$"); got != "" {
			t.Errorf("temporal container still there after destroy")
		}
		res = r.up(ctx)
		t.Logf("FIGURE pulumi up after destroy, on the kept volume with a new generated password: %s", res.Took.Round(100*time.Millisecond))
		o = r.outputs(ctx)
		checkAnswers(t, ctx, o)
		if st := workflowStatus(t, ctx, o, jobID); st != "Completed" {
			t.Errorf("job %s started before the destroy: workflow %s, want Completed", jobID, st)
		}
		// The newly generated password, read where the services read it.
		generated := docker(ctx, t, "exec", def.ContainerName(stacks.ServicePostgres), "cat", stacks.SecretPath(stacks.SecretPostgresPassword))
		if generated == "" || generated == newPassword {
			t.Errorf("after destroy and up the password is %q; want a new generated one", generated)
		}
		r.noSecretInState(ctx, generated, r.serpKey)
		if env := inspect(ctx, t, def.ContainerName(stacks.ServiceWorker), "{{json .Config.Env}}"); strings.Contains(env, generated) || strings.Contains(env, r.serpKey) {
			t.Error("docker inspect shows a secret in the worker's env")
		}
		mustNoChanges(t, "preview after destroy and up", mustPreview(t, ctx, r))
	}) {
		return
	}
}

// TestDeployRingFailedJob: a job that fails makes `up` fail with the job's
// container and the end of its log; once the cause is fixed, the next `up`
// runs the job again by itself. The cause here is an existing PostgreSQL
// (postgresHost) that is not running yet.
func TestDeployRingFailedJob(t *testing.T) {
	stacktest.RequireDocker(t)
	RequirePulumi(t, "the deploy ring")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	password := "pw-" + randomHex(12)
	const dbHost = "existing-db"
	r := newRing(t, ctx, "ringfail"+randomHex(3), map[string]string{"postgresHost": dbHost, "postgresPassword": password})
	def := r.definition()
	job := def.ContainerName(stacks.ServiceSchema)

	_, err := r.cli.Run(ctx, "up", "--yes", "--skip-preview")
	if err == nil {
		t.Fatal("up succeeded with the PostgreSQL server down")
	}
	diag := err.Error()
	if i := strings.Index(diag, "Diagnostics:"); i >= 0 {
		diag = diag[i:]
	}
	t.Logf("what the failed up tells the operator:\n%s", firstLines(diag, 40))
	for _, want := range []string{
		"job " + stacks.ServiceSchema + " failed: container " + job + " exited with code",
		"cannot create database temporal", // the end of the job's own log
		"run pulumi up again: the job runs again by itself",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failed up does not say %q:\n%v", want, err)
		}
	}
	if got := docker(ctx, t, "ps", "-aq", "--filter", "name=^"+def.ContainerName(stacks.ServiceTemporal)+"$"); got != "" {
		t.Error("temporal was created although the schema job failed")
	}

	// The cause, fixed: the PostgreSQL server starts (the kit's own
	// Definition of it, on the stack's network under the configured host name).
	pgDef := stacktest.LocalDev(t, map[string]string{"postgresPassword": "[secret]"})
	for i := range pgDef.Services {
		if pgDef.Services[i].Name == stacks.ServicePostgres {
			pgDef.Services[i].Networks = []stacks.NetworkAttachment{{Network: stacks.NetworkBackend, Aliases: []string{dbHost}}}
		}
	}
	// The kit's PostgreSQL also keeps its monitoring role's password (any value: this stack has no exporter for it).
	stacktest.JoinNetwork(t, pgDef, []string{stacks.ServicePostgres}, def.Prefix+"-"+stacks.NetworkBackend,
		map[string]string{stacks.SecretPostgresPassword: password, stacks.SecretMonitoringPassword: randomHex(12)})

	res := r.up(ctx)
	t.Logf("FIGURE up after the cause was fixed, no --replace: %s", res.Took.Round(100*time.Millisecond))
	checkAnswers(t, ctx, r.outputs(ctx))
	mustNoChanges(t, "preview after the recovered up", mustPreview(t, ctx, r))
}

func mustPreview(t *testing.T, ctx context.Context, r *ring) Plan {
	t.Helper()
	p, err := r.cli.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
