package promconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

func defaultRules(t *testing.T) map[string]string {
	t.Helper()
	files, err := RuleFiles(DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no rule files")
	}
	return files
}

// alerts returns every alerting rule of the rendered files, parsed the way
// Prometheus 3.16 loads them.
func alerts(t *testing.T, files map[string]string) []rulefmt.Rule {
	t.Helper()
	var out []rulefmt.Rule
	for name, content := range files {
		groups, errs := rulefmt.Parse([]byte(content), false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errors.Join(errs...))
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// runbookAnchors are the GitHub anchors of the runbook's headings
// (docs/runbook.md of the repository this package is in).
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above this package")
		}
		dir = filepath.Dir(dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return anchors
}

// Every expression parses with the Prometheus parser, every alert says
// what it means, and its runbook link lands on its own heading of the runbook.
func TestRulesParseAndLinkTheirRunbook(t *testing.T) {
	anchors := runbookAnchors(t)
	p := parser.NewParser(parser.Options{})
	rules := alerts(t, defaultRules(t))
	if len(rules) < 15 {
		t.Errorf("%d alerts, want the 15 of the issue at least", len(rules))
	}
	for _, r := range rules {
		if _, err := p.ParseExpr(r.Expr); err != nil {
			t.Errorf("%s: expression does not parse: %v\n%s", r.Alert, err, r.Expr)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s has no %s", r.Alert, a)
			}
		}
		if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, r.Labels["severity"])
		}
		url := r.Annotations["runbook_url"]
		base, anchor, _ := strings.Cut(url, "#")
		if base != RunbookBase || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q is not a heading of docs/runbook.md (want %s#<heading>)", r.Alert, url, RunbookBase)
		}
		if anchor != strings.ToLower(r.Alert) {
			t.Errorf("%s: runbook anchor %q, want #%s", r.Alert, anchor, strings.ToLower(r.Alert))
		}
	}
}

// Thresholds from the stack config reach the rendered rules.
func TestThresholdsReachTheRules(t *testing.T) {
	th := DefaultThresholds()
	th.FailedRowRatio = 0.42
	th.TargetDownFor = "45s"
	th.BackupMaxAgeHours = 50
	files, err := RuleFiles(th)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range alerts(t, files) {
		switch r.Alert {
		case "EnrichmentFailedRowRatioHigh":
			if !strings.Contains(r.Expr, "> 0.42") {
				t.Errorf("failedRowRatio 0.42 not in %s", r.Expr)
			}
		case "BackupTooOld":
			if !strings.Contains(r.Expr, "> 50 * 3600") {
				t.Errorf("backupMaxAgeHours 50 not in %s", r.Expr)
			}
		case "TargetDown":
			if r.For != model.Duration(45*time.Second) {
				t.Errorf("targetDownFor 45s: for is %s", r.For)
			}
		}
	}
	th.DiskFreeRatio = 1.5
	if _, err := RuleFiles(th); err == nil || !strings.Contains(err.Error(), "diskFreeRatio") {
		t.Errorf("a ratio of 1.5 passed: %v", err)
	}
	th.DiskFreeRatio = 0.2
	th.BackupMaxAgeHours = 0
	if _, err := RuleFiles(th); err == nil || !strings.Contains(err.Error(), "backupMaxAgeHours") {
		t.Errorf("backupMaxAgeHours 0 passed: %v", err)
	}
}

// Every alert has a unit test in tests/ that makes it fire, and one time
// where it does not.
func TestEveryAlertHasAFiringAndAQuietUnitTest(t *testing.T) {
	raw, err := os.ReadFile("tests/rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, g := range f.Tests {
		for _, a := range g.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, r := range alerts(t, defaultRules(t)) {
		if !fires[r.Alert] || !quiet[r.Alert] {
			t.Errorf("%s: tests/rules.test.yml has firing=%v, not firing=%v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
		}
	}
}

// Image tags of the offline set (infra/images builds them); the tests need
// their promtool and amtool.
const (
	prometheusImage   = "temporal-kit-local/prometheus:3.16.0"
	alertmanagerImage = "temporal-kit-local/alertmanager:0.35.0"
)

// requireImage skips without Docker (fails under CI) and fails when the
// image is missing.
func requireImage(t *testing.T, image string) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no docker CLI under CI: %v", err)
		}
		t.Skipf("DOCKER NOT AVAILABLE: skipping the promtool/amtool checks (%v)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Docker engine not reachable under CI: %v %s", err, out)
		}
		t.Skipf("DOCKER NOT AVAILABLE: skipping the promtool/amtool checks (%v)", err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput(); err != nil {
		t.Fatalf("image %s is missing (%s); run go run ./infra/images/cmd/kit-images build", image, strings.TrimSpace(string(out)))
	}
}

// runTool runs tool (an entrypoint of image) with args after copying dir
// into the container at dest: docker cp, so a remote engine works too. It
// returns the combined output and the exit code.
func runTool(t *testing.T, image, tool, dir, dest string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := append([]string{"create", "--label", "temporal-kit.prometheus-test=1", "--user", "root", "--workdir", dest, "--entrypoint", tool, image}, args...)
	out, err := exec.CommandContext(ctx, "docker", create...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command("docker", "rm", "-f", id).Run()
	if out, err := exec.CommandContext(ctx, "docker", "cp", dir+"/.", id+":"+dest).CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "docker", "start", "-a", id).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("docker start: %v\n%s", err, out)
		return "", -1
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The rule unit tests of tests/, run by the promtool of the stack's
// Prometheus, with the rules rendered from the default thresholds; and
// promtool check rules on those rules.
func TestPromtoolRuleTests(t *testing.T) {
	requireImage(t, prometheusImage)
	dir := t.TempDir()
	rules := defaultRules(t)
	writeFiles(t, dir, rules)
	test, err := os.ReadFile("tests/rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"rules.test.yml": string(test)})

	names := slices.Sorted(func(yield func(string) bool) {
		for n := range rules {
			if !yield(n) {
				return
			}
		}
	})
	out, code := runTool(t, prometheusImage, "promtool", dir, "/work", append([]string{"check", "rules"}, names...)...)
	if code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules (exit %d):\n%s", code, out)
	}
	out, code = runTool(t, prometheusImage, "promtool", dir, "/work", "test", "rules", "rules.test.yml")
	if code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules (exit %d):\n%s", code, out)
	} else {
		t.Logf("promtool test rules:\n%s", out)
	}
}

// The config the stacks package renders passes promtool check config,
// rule files included.
func TestPromtoolCheckConfig(t *testing.T) {
	requireImage(t, prometheusImage)
	dir := t.TempDir()
	rules := defaultRules(t)
	var ruleFiles []string
	files := map[string]string{}
	for name, content := range rules {
		ruleFiles = append(ruleFiles, "/etc/prometheus/rules/"+name)
		files["rules/"+name] = content
	}
	cfg, err := RenderConfig(Config{
		Stack: "dev", ScrapeInterval: "15s", ScrapeTimeout: "10s", EvaluationInterval: "15s",
		RetentionTime: "15d", RetentionSize: "4GB", Alertmanager: "alertmanager:9093", RuleFiles: ruleFiles,
		Targets: []Target{{Job: "prometheus", Addresses: []string{"127.0.0.1:9090"}}, {Job: "worker", Addresses: []string{"worker:8000"}, MetricsPath: "/metrics"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	files["prometheus.yml"] = cfg
	writeFiles(t, dir, files)
	out, code := runTool(t, prometheusImage, "promtool", dir, "/etc/prometheus", "check", "config", "/etc/prometheus/prometheus.yml")
	if code != 0 || !strings.Contains(out, "SUCCESS") || !strings.Contains(out, fmt.Sprintf("%d rules found", len(alerts(t, rules)))) {
		t.Errorf("promtool check config (exit %d):\n%s\nconfig:\n%s", code, out, cfg)
	}
}

// Every receiver combination the stack config can make passes
// amtool check-config, and inhibits the alerts of a target that is down.
func TestAmtoolCheckConfig(t *testing.T) {
	requireImage(t, alertmanagerImage)
	yes := true
	cases := map[string]Receivers{
		"none":    {},
		"webhook": {WebhookURL: "http://alert-sink:8080/alerts"},
		"email":   {Email: &Email{To: "ops@example.com", From: "kit@example.com", Smarthost: "smtp.example.com:587", Username: "kit", PasswordFile: "/run/temporal-kit/secrets/alertSmtpPassword", RequireTLS: &yes}},
		"slack":   {SlackURLFile: "/run/temporal-kit/secrets/alertSlackWebhookUrl"},
		"all": {WebhookURL: "https://hooks.example.com/x", SlackURLFile: "/run/temporal-kit/secrets/alertSlackWebhookUrl",
			Email: &Email{To: "ops@example.com", From: "kit@example.com", Smarthost: "smtp.example.com:25"}},
	}
	dir := t.TempDir()
	files := map[string]string{}
	var names []string
	for name, r := range cases {
		cfg, err := RenderAlertmanager(DefaultAlerting(r))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cfg, `alertname="TargetDown"`) || !strings.Contains(cfg, "equal:") {
			t.Errorf("%s: no inhibition by TargetDown:\n%s", name, cfg)
		}
		files[name+".yml"] = cfg
		names = append(names, name+".yml")
	}
	writeFiles(t, dir, files)
	out, code := runTool(t, alertmanagerImage, "amtool", dir, "/work", append([]string{"check-config"}, names...)...)
	if code != 0 || strings.Count(out, "SUCCESS") != len(names) {
		t.Errorf("amtool check-config (exit %d):\n%s", code, out)
	}
	if None := (Receivers{}); !None.None() {
		t.Error("no receiver is not None")
	}
}

// The rendered Alertmanager config holds back the alerts of a target that
// is down: TargetDown{job=worker} inhibits EnrichmentNoPollers{job=worker},
// not an alert of another job. Checked by Alertmanager itself, through its API.
func TestAlertmanagerInhibitsTheAlertsOfADownTarget(t *testing.T) {
	requireImage(t, alertmanagerImage)
	cfg, err := RenderAlertmanager(DefaultAlerting(Receivers{WebhookURL: "http://127.0.0.1:9/nowhere"}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"alertmanager.yml": cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "create", "--label", "temporal-kit.prometheus-test=1", "-p", "127.0.0.1::9093",
		alertmanagerImage, "--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager", "--cluster.listen-address=").CombinedOutput()
	if err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", id).Run() })
	if out, err := exec.CommandContext(ctx, "docker", "cp", filepath.Join(dir, "alertmanager.yml"), id+":/etc/alertmanager/alertmanager.yml").CombinedOutput(); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "docker", "start", id).CombinedOutput(); err != nil {
		t.Fatalf("docker start: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "docker", "port", id, "9093/tcp").CombinedOutput()
	if err != nil {
		t.Fatalf("docker port: %v\n%s", err, out)
	}
	base := "http://" + strings.Fields(string(out))[0] + "/api/v2/alerts"
	post := `[
	  {"labels": {"alertname": "TargetDown", "job": "worker", "severity": "critical"}},
	  {"labels": {"alertname": "EnrichmentNoPollers", "job": "worker", "severity": "critical"}},
	  {"labels": {"alertname": "PostgresDown", "job": "postgres-exporter", "severity": "critical"}}
	]`
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(base, "application/json", strings.NewReader(post))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager does not take alerts: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	state := map[string]string{}
	deadline = time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		var got []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State       string   `json:"state"`
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range got {
			state[a.Labels["alertname"]] = a.Status.State
		}
		want := map[string]string{"TargetDown": "active", "EnrichmentNoPollers": "suppressed", "PostgresDown": "active"}
		if maps.Equal(state, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert states %v, want %v", state, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
