// Package deployring drives the real Pulumi CLI against the kit's program,
// as an operator would: `up`, `preview --json`, `refresh`, `destroy`, with
// a stack, a state backend and a config file of the caller's own. Its test
// (the deploy ring) deploys the dev stack on the local Docker engine.
package deployring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// CLI runs pulumi for one stack of the project in Dir.
//
// Why the CLI and not Pulumi's Automation API (go/auto, in go.mod): auto
// runs this same CLI underneath, and it would not remove adoptStackFile,
// since its CreateStack is `pulumi stack init` too, which takes no
// --config-file. The ring checks what an operator's commands print: the
// `preview --json` document (searched for leaked secrets), `up --json`,
// `stack export`, the text of a refused up, and `config set --secret`
// reading stdin as the README says. auto gives a PreviewResult and engine
// events instead, and passes config values as arguments.
type CLI struct {
	// Dir holds Pulumi.yaml (the repository root).
	Dir   string
	Stack string
	// ConfigFile is the stack's config file, kept out of the repository.
	ConfigFile string
	// Env is added to this process's environment (backend, passphrase).
	Env []string
	// Logf, when set, gets each command and its duration.
	Logf func(format string, args ...any)
}

// Result is one finished pulumi command.
type Result struct {
	Stdout, Stderr string
	Took           time.Duration
}

// Run runs `pulumi args...` with the stack and config file appended where
// the command takes them. A non-zero exit is an error holding both outputs.
func (c *CLI) Run(ctx context.Context, args ...string) (Result, error) {
	return c.RunInput(ctx, "", args...)
}

// RunInput is Run with input on stdin: how `pulumi config set --secret KEY`
// takes a value that looks like a flag (a PEM key starts with "-----").
func (c *CLI) RunInput(ctx context.Context, input string, args ...string) (Result, error) {
	full := append([]string(nil), args...)
	switch args[0] {
	case "up", "preview", "refresh", "destroy", "config", "stack":
		full = append(full, "--stack", c.Stack)
	}
	switch args[0] {
	case "up", "preview", "refresh", "destroy", "config":
		full = append(full, "--config-file", c.ConfigFile)
	}
	full = append(full, "--non-interactive")
	cmd := exec.CommandContext(ctx, "pulumi", full...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(began)}
	if c.Logf != nil {
		c.Logf("pulumi %s: %s", strings.Join(redact(args), " "), r.Took.Round(100*time.Millisecond))
	}
	if err != nil {
		return r, fmt.Errorf("pulumi %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(redact(args), " "), err, r.Stdout, r.Stderr)
	}
	if len(args) > 1 && args[0] == "stack" && args[1] == "init" {
		return r, c.adoptStackFile()
	}
	return r, nil
}

// adoptStackFile moves what `stack init` wrote beside Pulumi.yaml (it takes
// no --config-file: the stack's secrets salt) into the CLI's own config
// file, so a test never leaves a Pulumi.<stack>.yaml in the repository.
func (c *CLI) adoptStackFile() error {
	written := filepath.Join(c.Dir, "Pulumi."+c.Stack+".yaml")
	b, err := os.ReadFile(written)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	own, err := os.ReadFile(c.ConfigFile)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var salt []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "encryptionsalt:") && !strings.Contains(string(own), "encryptionsalt:") {
			salt = append(salt, line)
		}
	}
	merged := strings.TrimRight(string(own), "\n")
	if merged != "" {
		merged += "\n"
	}
	merged += strings.Join(salt, "\n") + "\n"
	if err := os.WriteFile(c.ConfigFile, []byte(merged), 0o600); err != nil {
		return err
	}
	return os.Remove(written)
}

// redact hides the value of a `config set --secret` in logs and errors.
func redact(args []string) []string {
	out := append([]string(nil), args...)
	if len(out) >= 4 && out[0] == "config" && out[1] == "set" && slices.Contains(out, "--secret") {
		out[len(out)-1] = "[secret]"
	}
	return out
}

// SetConfig sets temporal-kit:key; path keys (hostPorts.ui) use --path.
func (c *CLI) SetConfig(ctx context.Context, key, value string, secret bool) error {
	args := []string{"config", "set"}
	if strings.Contains(key, ".") {
		args = append(args, "--path")
	}
	if secret {
		args = append(args, "--secret")
	}
	_, err := c.Run(ctx, append(args, "temporal-kit:"+key, value)...)
	return err
}

// RemoveConfig removes temporal-kit:key.
func (c *CLI) RemoveConfig(ctx context.Context, key string) error {
	args := []string{"config", "rm"}
	if strings.Contains(key, ".") {
		args = append(args, "--path")
	}
	_, err := c.Run(ctx, append(args, "temporal-kit:"+key)...)
	return err
}

// Plan is what `pulumi preview --json` (or `up --json`) reports.
type Plan struct {
	Steps         []Step         `json:"steps"`
	ChangeSummary map[string]int `json:"changeSummary"`
	// Raw is the whole JSON document, for checks on what it must not hold.
	Raw string `json:"-"`
}

// Step is one resource's planned operation.
type Step struct {
	Op           string                     `json:"op"`
	URN          string                     `json:"urn"`
	DiffReasons  []string                   `json:"diffReasons"`
	DetailedDiff map[string]json.RawMessage `json:"detailedDiff"`
	OldState     *State                     `json:"oldState"`
	NewState     *State                     `json:"newState"`
}

// State is a resource's state as the plan shows it.
type State struct {
	Type   string         `json:"type"`
	Inputs map[string]any `json:"inputs"`
}

// Name is the resource name: the last part of the URN.
func (s Step) Name() string { return s.URN[strings.LastIndex(s.URN, "::")+2:] }

// changes is false for reads of the engine's state (refresh) and for the
// stack resource itself (its outputs are not diffed).
func (s Step) changes() bool {
	return s.Op != "same" && s.Op != "refresh" && !strings.Contains(s.URN, "::pulumi:pulumi:Stack::")
}

// Changes are the steps that do something, as "op name", sorted. Reads
// of the engine's state (refresh: Pulumi.yaml refreshes before every up)
// and the stack resource itself (its outputs are not diffed) are left out.
func (p Plan) Changes() []string {
	var out []string
	for _, s := range p.Steps {
		if !s.changes() {
			continue
		}
		out = append(out, s.Op+" "+s.Name())
	}
	sort.Strings(out)
	return out
}

// Reasons says, per changing step, which properties differ: what a failed
// "no changes" check must show to be understood from a CI log alone.
func (p Plan) Reasons() string {
	var out []string
	for _, s := range p.Steps {
		if !s.changes() {
			continue
		}
		keys := make([]string, 0, len(s.DetailedDiff))
		for k := range s.DetailedDiff {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, fmt.Sprintf("%s %s: diffReasons %v, detailedDiff %v", s.Op, s.Name(), s.DiffReasons, keys))
	}
	return strings.Join(out, "; ")
}

// Preview runs `pulumi preview --json` and parses its plan.
func (c *CLI) Preview(ctx context.Context, extra ...string) (Plan, error) {
	r, err := c.Run(ctx, append([]string{"preview", "--json", "--diff"}, extra...)...)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		return Plan{}, fmt.Errorf("preview --json: %w\n%s", err, r.Stdout)
	}
	p.Raw = r.Stdout
	return p, nil
}

// ParseUp reads what `up --json` prints: one engine event per line, a
// resourcePreEvent per resource (its operation) and a summaryEvent.
func ParseUp(out string) (Plan, error) {
	p := Plan{Raw: out}
	summary := false
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev struct {
			ResourcePreEvent *struct {
				Metadata Step `json:"metadata"`
			} `json:"resourcePreEvent"`
			SummaryEvent *struct {
				ResourceChanges map[string]int `json:"resourceChanges"`
			} `json:"summaryEvent"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return Plan{}, fmt.Errorf("up --json: %w in %q", err, line)
		}
		if ev.ResourcePreEvent != nil {
			p.Steps = append(p.Steps, ev.ResourcePreEvent.Metadata)
		}
		if ev.SummaryEvent != nil {
			p.ChangeSummary, summary = ev.SummaryEvent.ResourceChanges, true
		}
	}
	if !summary {
		return Plan{}, fmt.Errorf("up --json printed no summary:\n%s", out)
	}
	return p, nil
}

// Outputs returns the stack outputs.
func (c *CLI) Outputs(ctx context.Context) (map[string]any, error) {
	r, err := c.Run(ctx, "stack", "output", "--json")
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		return nil, fmt.Errorf("stack output --json: %w", err)
	}
	return out, nil
}
