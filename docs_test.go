package main

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ampledata/temporal-kit/stacks"
)

// The README, docs/ and Pulumi.dev.yaml are where users copy config from:
// every key and example they show must load, and every key the loader reads
// must be documented (docs/config.md).

var backticked = regexp.MustCompile("`([^`]+)`")

// configDoc is the document whose first section is the Stack config table.
const configDoc = "docs/config.md"

// configTable returns the rows of the Stack config table (configDoc,
// up to its first "## " section) by key cell: each row's cells after the key.
func configTable(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	section, ok := strings.CutPrefix(string(raw), "# Stack config\n")
	if !ok {
		t.Fatalf("%s does not start with its Stack config section", configDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			rows[m[1]] = cells[1:]
		}
	}
	return rows
}

func TestConfigDocListsExactlyTheLoadersKeys(t *testing.T) {
	documented := slices.Sorted(maps.Keys(configTable(t)))
	if known := stacks.KnownKeys(); !slices.Equal(documented, known) {
		t.Errorf("%s keys %v\nthe loader's keys %v", configDoc, documented, known)
	}
}

// The defaults the config doc states for objects are keys the loader takes, and
// the values it uses.
func TestConfigDocObjectDefaultsLoad(t *testing.T) {
	rows := configTable(t)
	defaults, err := stacks.LoadConfig("dev", stacks.MapSource{})
	if err != nil {
		t.Fatal(err)
	}

	mem := map[string]int{}
	for _, pair := range strings.Split(rows["memoryMB"][0], ",") {
		name, mb, ok := strings.Cut(strings.TrimSpace(pair), " ")
		n, err := strconv.Atoi(mb)
		if !ok || err != nil {
			t.Fatalf(configDoc+" memoryMB default %q is not `service MB`", pair)
		}
		mem[name] = n
	}
	c := mustLoad(t, "memoryMB", mem)
	if !maps.Equal(c.MemoryMB, mem) || !maps.Equal(mem, defaults.MemoryMB) {
		t.Errorf(configDoc+" memoryMB defaults %v, the loader's %v", mem, defaults.MemoryMB)
	}

	var ports map[string]int
	if err := yaml.Unmarshal([]byte(strings.Trim(rows["hostPorts"][0], "`")), &ports); err != nil {
		t.Fatalf(configDoc+" hostPorts default: %v", err)
	}
	if c := mustLoad(t, "hostPorts", ports); c.HostPorts != defaults.HostPorts || len(ports) != reflect.TypeFor[stacks.HostPorts]().NumField() {
		t.Errorf(configDoc+" hostPorts defaults %v, the loader's %+v", ports, defaults.HostPorts)
	}

	images := map[string]string{}
	for _, m := range backticked.FindAllStringSubmatch(rows["images"][1], -1) {
		if m[1] != "latest" {
			images[m[1]] = "registry.example.com/mirror/" + strings.ToLower(m[1]) + ":1.0"
		}
	}
	if want := reflect.TypeFor[stacks.Images]().NumField(); len(images) != want {
		t.Errorf(configDoc+" names %d images, want %d (one per field of stacks.Images): %v", len(images), want, images)
	}
	mustLoad(t, "images", images)
}

func mustLoad(t *testing.T, key string, v any) stacks.Config {
	t.Helper()
	b, _ := json.Marshal(v)
	c, err := stacks.LoadConfig("dev", stacks.MapSource{key: string(b)})
	if err != nil {
		t.Errorf(configDoc+" %s example %s does not load: %v", key, b, err)
	}
	return c
}

// `pulumi config set [--path] [--secret] temporal-kit:key[.field] value`
var configSetRE = regexp.MustCompile("pulumi config set((?: --(?:path|secret|stack [a-z]+))*) " +
	regexp.QuoteMeta(stacks.Namespace) + `:([A-Za-z]+)(?:\.([A-Za-z-]+))? ([^\s` + "`" + `]+)`)

// Every `pulumi config set` the docs show sets a key the loader takes, to a
// value it takes (placeholders like <password> stand for any string).
func TestDocumentedConfigCommandsLoad(t *testing.T) {
	n := 0
	for _, file := range append(docFiles(t), "Pulumi.dev.yaml") {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range configSetRE.FindAllStringSubmatch(string(raw), -1) {
			n++
			flags, key, field, value := m[1], m[2], m[3], m[4]
			if strings.HasPrefix(value, "<") || value == "..." {
				value = "any-value"
			}
			src := stacks.MapSource{key: value}
			if field != "" {
				if !strings.Contains(flags, "--path") {
					t.Errorf("%s: %q sets a field without --path", file, m[0])
				}
				var v any
				_ = yaml.Unmarshal([]byte(value), &v)
				src[key] = configString(map[string]any{field: v})
			}
			// Keys that need a companion, which the docs set beside them.
			switch key {
			case "postgresHost":
				src["postgresPassword"] = "any-value"
			case "domain":
				src["acmeEmail"] = "ops@example.com"
			case "alertSmtpPassword":
				src["alertEmail"] = `{"to":"ops@example.com","from":"kit@example.com","smarthost":"smtp.example.com:587","username":"kit"}`
			}
			if _, err := stacks.LoadConfig("dev", src); err != nil {
				t.Errorf("%s: %q does not load: %v", file, m[0], err)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d config commands in the docs; the pattern no longer matches them", n)
	}
}

// Uncommented, the examples in Pulumi.dev.yaml make a config that loads,
// and together with its commands they show every key.
func TestDevStackFileExamplesLoad(t *testing.T) {
	raw, err := os.ReadFile("Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples := configValues(t, "Pulumi.dev.yaml (uncommented)", uncommentExamples(string(raw)))
	cfg := stackConfig(t, "dev")
	for k := range examples {
		if _, active := cfg[k]; active {
			t.Errorf("Pulumi.dev.yaml sets %s and shows it commented out too", k)
		}
	}
	maps.Copy(cfg, examples)
	// The file says the password is then set as a secret, outside it.
	cfg["postgresPassword"] = "any-value"
	cfg["backupOffsiteAccessKey"], cfg["backupOffsiteSecretKey"] = "any-value", "any-value"
	if _, err := stacks.LoadConfig("dev", stacks.MapSource(cfg)); err != nil {
		t.Errorf("Pulumi.dev.yaml examples do not load: %v", err)
	}
	shown := map[string]bool{}
	for k := range cfg {
		shown[k] = true
	}
	for _, m := range configSetRE.FindAllStringSubmatch(string(raw), -1) {
		shown[m[2]] = true
	}
	for _, k := range stacks.KnownKeys() {
		if !shown[k] {
			t.Errorf("Pulumi.dev.yaml does not show %s", k)
		}
	}
}

// uncommentExamples keeps the commented-out config entries of a stack file:
// a "# temporal-kit:key:" line under config and the deeper-indented
// comment lines that follow it, without their "# ".
func uncommentExamples(file string) []byte {
	out := []string{"config:"}
	inEntry := false
	for _, line := range strings.Split(file, "\n") {
		rest, ok := strings.CutPrefix(line, "  # ")
		switch {
		case ok && strings.HasPrefix(rest, stacks.Namespace+":"):
			inEntry = true
		case ok && inEntry && strings.HasPrefix(rest, "  "):
		default:
			inEntry = false
			continue
		}
		out = append(out, "  "+rest)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
