package deployring

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/enrichment"
)

// ring is one stack of the deploy ring: its CLI, its config as set so far
// (to rebuild the Definition the program sees) and its secrets.
type ring struct {
	t       *testing.T
	cli     *CLI
	cfg     stacks.MapSource
	serpKey string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRing creates a stack of its own in a state backend of its own, with the
// local image catalog, free host ports, and base config on top.
func newRing(t *testing.T, ctx context.Context, name string, base map[string]string) *ring {
	t.Helper()
	r := &ring{t: t, serpKey: randomHex(16), cfg: stacks.MapSource{}}
	r.cli = NewStack(t, ctx, name)
	t.Cleanup(func() { r.cleanup() })
	// Every published port free on this machine: other stacks (and other
	// tests' tunnels) may hold the defaults.
	ports := fmt.Sprintf(`{"temporal": %d, "ui": %d, "postgres": 0, "worker": %d, "prometheus": %d, "grafana": %d}`,
		FreePort(t), FreePort(t), FreePort(t), FreePort(t), FreePort(t))
	r.set(ctx, "imageCatalog", stacks.CatalogLocal, false)
	r.set(ctx, "hostPorts", ports, false)
	for k, v := range fixturesvc.Config(nil) {
		r.set(ctx, k, v, false)
	}
	r.set(ctx, "serpApiKey", r.serpKey, true)
	for k, v := range base {
		r.set(ctx, k, v, k == "postgresPassword")
	}
	return r
}

// set sets a config key through the CLI and records it for definition().
// Objects are set whole as JSON (pulumi reads them as objects), path keys
// with --path.
func (r *ring) set(ctx context.Context, key, value string, secret bool) {
	r.t.Helper()
	if strings.HasPrefix(value, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(value), &m); err != nil {
			r.t.Fatalf("%s: %v", key, err)
		}
		for k, v := range m {
			if err := r.cli.SetConfig(ctx, key+"."+k, fmt.Sprint(v), false); err != nil {
				r.t.Fatal(err)
			}
		}
	} else if err := r.cli.SetConfig(ctx, key, value, secret); err != nil {
		r.t.Fatal(err)
	}
	r.record(key, value)
}

func (r *ring) record(key, value string) {
	if head, field, ok := strings.Cut(key, "."); ok {
		m := map[string]any{}
		_ = json.Unmarshal([]byte(r.cfg[head]), &m)
		if n, err := strconv.Atoi(value); err == nil {
			m[field] = n
		} else {
			m[field] = value
		}
		b, _ := json.Marshal(m)
		r.cfg[head] = string(b)
		return
	}
	r.cfg[key] = value
}

// noSecretInState fails when the stack's state, as `pulumi stack export`
// prints it without --show-secrets, holds any of the values in plain text.
func (r *ring) noSecretInState(ctx context.Context, values ...string) {
	r.t.Helper()
	res, err := r.cli.Run(ctx, "stack", "export")
	if err != nil {
		r.t.Fatal(err)
	}
	if len(res.Stdout) < 1000 {
		r.t.Fatalf("stack export is only %d bytes", len(res.Stdout))
	}
	for i, v := range values {
		if v != "" && strings.Contains(res.Stdout, v) {
			r.t.Errorf("secret %d of %d is in the state in plain text", i+1, len(values))
		}
	}
}

// snapshot copies the config as set so far.
func (r *ring) snapshot() stacks.MapSource { return maps.Clone(r.cfg) }

// restore sets key back to its value in before, or removes it when it was
// not set there.
func (r *ring) restore(ctx context.Context, key string, before stacks.MapSource) {
	r.t.Helper()
	head, field, isPath := strings.Cut(key, ".")
	if !isPath {
		if v, ok := before[key]; ok {
			r.set(ctx, key, v, false)
		} else {
			r.unset(ctx, key)
		}
		return
	}
	var m map[string]any
	if json.Unmarshal([]byte(before[head]), &m) == nil {
		if v, ok := m[field]; ok {
			r.set(ctx, key, fmt.Sprint(v), false)
			return
		}
	}
	if err := r.cli.RemoveConfig(ctx, key); err != nil {
		r.t.Fatal(err)
	}
	if before[head] == "" {
		delete(r.cfg, head)
	} else {
		r.cfg[head] = before[head]
	}
}

func (r *ring) unset(ctx context.Context, key string) {
	r.t.Helper()
	if err := r.cli.RemoveConfig(ctx, key); err != nil {
		r.t.Fatal(err)
	}
	delete(r.cfg, key)
}

// definition is the Definition the program builds from the config set so far.
func (r *ring) definition() stacks.Definition {
	r.t.Helper()
	return stacktest.Definition(r.t, r.cli.Stack, r.cfg)
}

func (r *ring) up(ctx context.Context) Result {
	r.t.Helper()
	res, err := r.cli.Run(ctx, "up", "--yes", "--skip-preview")
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// cleanup destroys the stack and removes, by their exact names, whatever
// of it is left in the engine (the kept data volume among them).
func (r *ring) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if r.t.Failed() {
		r.dumpLogs(ctx)
	}
	if _, err := r.cli.Run(ctx, "destroy", "--yes", "--skip-preview"); err != nil {
		r.t.Logf("cleanup: %v", err)
	}
	def := r.definition()
	for _, s := range def.Services {
		_ = exec.CommandContext(ctx, "docker", "rm", "-f", def.ContainerName(s.Name)).Run()
	}
	for _, v := range def.Volumes {
		_ = exec.CommandContext(ctx, "docker", "volume", "rm", "-f", def.Prefix+"-"+v.Name).Run()
	}
	for _, n := range def.Networks {
		_ = exec.CommandContext(ctx, "docker", "network", "rm", def.Prefix+"-"+n.Name).Run()
	}
}

// dumpLogs shows why a failed ring failed: one line of states, then the log
// tail of only the containers that are not fine (running and healthy, or a
// job that exited 0), so the test's own error stays near the end of CI's
// excerpt instead of being pushed out by healthy containers' logs.
func (r *ring) dumpLogs(ctx context.Context) {
	def := r.definition()
	var states []string
	var bad []string
	for _, s := range def.Services {
		name := def.ContainerName(s.Name)
		out, err := exec.CommandContext(ctx, "docker", "inspect", "-f",
			"{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name).Output()
		state := strings.TrimSpace(string(out))
		if err != nil {
			state = "absent"
		}
		states = append(states, s.Name+"="+state)
		if state == "running 0 healthy" || state == "running 0" || state == "exited 0" {
			continue
		}
		bad = append(bad, name)
	}
	r.t.Logf("container states: %s", strings.Join(states, ", "))
	for _, name := range bad {
		out, _ := exec.CommandContext(ctx, "docker", "logs", "--tail", "15", name).CombinedOutput()
		r.t.Logf("--- %s: last log lines ---\n%s", name, out)
	}
}

// docker runs the docker CLI and returns its trimmed output.
func docker(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// outputs reads the stack outputs docs/config.md promises.
type outputs struct {
	TemporalAddress, UIURL, WorkerAPIURL, Namespace string
}

func (r *ring) outputs(ctx context.Context) outputs {
	r.t.Helper()
	m, err := r.cli.Outputs(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	s := func(k string) string { v, _ := m[k].(string); return v }
	return outputs{TemporalAddress: s("temporalAddress"), UIURL: s("uiUrl"), WorkerAPIURL: s("workerApiUrl"), Namespace: s("namespace")}
}

// dialTemporal connects to the stack's temporalAddress output.
func dialTemporal(t *testing.T, o outputs) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: o.TemporalAddress, Namespace: o.Namespace})
	if err != nil {
		t.Fatalf("temporal at %s: %v", o.TemporalAddress, err)
	}
	return c
}

// checkAnswers checks each published output answers: Temporal's health
// RPC, the UI's page, the job API's readiness.
func checkAnswers(t *testing.T, ctx context.Context, o outputs) {
	t.Helper()
	c := dialTemporal(t, o)
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Errorf("temporal health at %s: %v", o.TemporalAddress, err)
	}
	for _, u := range []string{o.UIURL + "/", o.WorkerAPIURL + "/readyz"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
}

func mustNoChanges(t *testing.T, what string, p Plan) {
	t.Helper()
	if ch := p.Changes(); len(ch) != 0 {
		t.Errorf("%s: %d changes, want none: %v; why: %s", what, len(ch), ch, p.Reasons())
	}
}

func inspect(ctx context.Context, t *testing.T, container, format string) string {
	t.Helper()
	return docker(ctx, t, "inspect", "-f", format, container)
}

func workflowStatus(t *testing.T, ctx context.Context, o outputs, jobID string) string {
	t.Helper()
	c := dialTemporal(t, o)
	defer c.Close()
	d, err := c.DescribeWorkflowExecution(ctx, enrichment.WorkflowID(jobID), "")
	if err != nil {
		t.Fatalf("workflow of job %s: %v", jobID, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus().String()
}

func retention(t *testing.T, ctx context.Context, o outputs) time.Duration {
	t.Helper()
	c := dialTemporal(t, o)
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	return ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
}
