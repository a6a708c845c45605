package images

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/stacks"
)

// The set must build exactly what the local catalog names, so a tag
// changed in stacks cannot leave an image unbuilt.
func TestSetCoversLocalCatalog(t *testing.T) {
	im := stacks.Catalogs[stacks.CatalogLocal]
	want := []string{im.Postgres, im.TemporalServer, im.TemporalAdminTools, im.TemporalUI, im.Prometheus, im.Worker, im.Proxy}
	tags := map[string]string{}
	seen := map[string]bool{}
	for _, img := range Set() {
		if seen[img.Name] {
			t.Errorf("image name %q appears twice", img.Name)
		}
		if img.Parent != "" && !seen[img.Parent] {
			t.Errorf("%s: parent %q must come before it in Set()", img.Name, img.Parent)
		}
		seen[img.Name] = true
		tags[img.Tag] = img.Name
	}
	for _, tag := range want {
		if _, ok := tags[tag]; !ok {
			t.Errorf("local catalog image %s is not built by the set", tag)
		}
	}
	if _, ok := tags[FixtureServer]; !ok {
		t.Errorf("fixture server %s is not built by the set", FixtureServer)
	}
}

// Pinned module versions and the catalogs' tags must name the same
// upstream release, in both catalogs.
func TestPinnedVersionsMatchCatalogs(t *testing.T) {
	for _, name := range []string{stacks.CatalogLocal, stacks.CatalogOfficial} {
		c := stacks.Catalogs[name]
		checks := []struct{ ref, want string }{
			{c.TemporalServer, strings.TrimPrefix(TemporalServerVersion, "v")},
			{c.TemporalAdminTools, strings.TrimPrefix(TemporalServerVersion, "v")},
			{c.TemporalUI, strings.TrimPrefix(TemporalUIVersion, "v")},
			{c.Prometheus, prometheusRelease()},
			{c.Proxy, strings.TrimPrefix(CaddyVersion, "v")},
		}
		for _, ch := range checks {
			if got := strings.TrimPrefix(tagVersion(ch.ref), "v"); got != ch.want {
				t.Errorf("%s catalog: %s has version %s, the image set pins %s", name, ch.ref, got, ch.want)
			}
		}
		if v := tagVersion(c.Postgres); v != PostgresMajor && !strings.HasPrefix(v, PostgresMajor+".") {
			t.Errorf("%s catalog: %s is not PostgreSQL %s", name, c.Postgres, PostgresMajor)
		}
	}
	if got := prometheusRelease(); got != "3.16.0" {
		t.Errorf("prometheusRelease() = %s, want 3.16.0 for module %s", got, PrometheusVersion)
	}
}

func TestSelectAddsParents(t *testing.T) {
	set, err := Select("temporal-ui", "postgresql")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range set {
		names = append(names, im.Name)
	}
	if got, want := strings.Join(names, ","), "debian,runtime,postgresql,temporal-ui"; got != want {
		t.Errorf("Select = %s, want %s", got, want)
	}
	if _, err := Select("temporal-serverr"); err == nil || !strings.Contains(err.Error(), "temporal-server,") {
		t.Errorf("unknown name: error %v should list the known images", err)
	}
}

// dockerfileDirectives maps each instruction to its arguments, in order.
func dockerfileDirectives(df string) map[string][]string {
	out := map[string][]string{}
	var cont string
	for _, line := range strings.Split(df, "\n") {
		line = strings.TrimSpace(line)
		if cont == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = cont + line
		cont = ""
		instr, args, _ := strings.Cut(line, " ")
		out[strings.ToUpper(instr)] = append(out[strings.ToUpper(instr)], strings.TrimSpace(args))
	}
	return out
}

func last(d map[string][]string, k string) string {
	if v := d[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// Every recipe renders, starts FROM its parent's tag, copies only what the
// build context holds, and keeps its official image's contract.
func TestRecipesRenderWithTheirContract(t *testing.T) {
	tags := map[string]string{}
	for _, im := range Set() {
		tags[im.Name] = im.Tag
	}
	contracts := map[string]map[string]string{
		"runtime":    {},
		"postgresql": {"ENTRYPOINT": `["docker-entrypoint.sh"]`, "CMD": `["postgres"]`, "STOPSIGNAL": "SIGINT", "EXPOSE": "5432", "VOLUME": "/var/lib/postgresql/data"},
		"temporal-server": {"CMD": `["/etc/temporal/entrypoint.sh"]`, "USER": "temporal", "WORKDIR": "/etc/temporal",
			"EXPOSE": "6933 6934 6935 6939 7233 7234 7235 7239 7243"},
		"temporal-admin-tools": {"USER": "temporal", "CMD": `["sh", "-c", "trap exit INT HUP TERM; sleep infinity & wait"]`},
		"temporal-ui":          {"ENTRYPOINT": `["./start-ui-server.sh"]`, "USER": "temporal", "WORKDIR": "/home/ui-server", "EXPOSE": "8080"},
		"prometheus": {"ENTRYPOINT": `["/bin/prometheus"]`, "CMD": `["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]`,
			"USER": "nobody", "WORKDIR": "/prometheus", "EXPOSE": "9090"},
		"caddy": {"CMD": `["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]`, "WORKDIR": "/srv",
			"EXPOSE": "80 443 443/udp 2019", "ENV": "XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data"},
		"node-exporter":     {"ENTRYPOINT": `["/bin/node_exporter"]`, "USER": "nobody", "EXPOSE": "9100"},
		"postgres-exporter": {"ENTRYPOINT": `["/bin/postgres_exporter"]`, "USER": "nobody", "EXPOSE": "9187"},
		"alertmanager": {"ENTRYPOINT": `["/bin/alertmanager"]`, "CMD": `["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]`,
			"USER": "nobody", "WORKDIR": "/alertmanager", "EXPOSE": "9093", "VOLUME": `["/alertmanager"]`},
		"worker":         {"ENTRYPOINT": `["/usr/local/bin/worker"]`, "USER": "worker", "EXPOSE": "8000", "STOPSIGNAL": "SIGTERM"},
		"backup":         {"ENTRYPOINT": `["/usr/local/bin/kit-backup"]`, "CMD": `["run"]`, "USER": "kitbackup", "EXPOSE": "9630", "VOLUME": "/backups", "STOPSIGNAL": "SIGTERM"},
		"versitygw":      {"ENTRYPOINT": `["/usr/local/bin/versitygw"]`, "USER": "vgw", "EXPOSE": "7070", "VOLUME": "/data"},
		"fixture-server": {"ENTRYPOINT": `["/usr/local/bin/fixture-server"]`, "USER": "fixture", "EXPOSE": "8080"},
		"vps":            {"ENTRYPOINT": `["/usr/local/sbin/vps-init.sh"]`, "EXPOSE": "22", "VOLUME": "/var/lib/docker", "STOPSIGNAL": "SIGTERM"},
	}
	for _, im := range Set() {
		if im.Parent == "" {
			continue
		}
		t.Run(im.Name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeRecipe(im, tags[im.Parent], Mirrors{}, dir); err != nil {
				t.Fatal(err)
			}
			df, err := os.ReadFile(filepath.Join(dir, dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(df), "{{") || strings.Contains(string(df), "<no value>") {
				t.Fatalf("unrendered template left in Dockerfile:\n%s", df)
			}
			d := dockerfileDirectives(string(df))
			if got := d["FROM"]; len(got) != 1 || got[0] != tags[im.Parent] {
				t.Errorf("FROM %v, want %s", got, tags[im.Parent])
			}
			want, ok := contracts[im.Name]
			if !ok {
				t.Fatalf("no contract listed for %s in this test", im.Name)
			}
			for k, v := range want {
				if got := last(d, k); got != v {
					t.Errorf("%s %q, want %q", k, got, v)
				}
			}
			// Every COPY source is in the build context.
			for _, c := range d["COPY"] {
				fields := strings.Fields(c)
				for _, src := range fields[:len(fields)-1] {
					if strings.HasPrefix(src, "--") {
						continue
					}
					if contextHas(im, dir, src) {
						continue
					}
					t.Errorf("COPY source %q is neither a recipe file, a binary nor a module file of %s", src, im.Name)
				}
			}
		})
	}
}

func contextHas(im Image, dir, src string) bool {
	src = strings.TrimSuffix(src, "/")
	if _, err := os.Stat(filepath.Join(dir, src)); err == nil {
		return true
	}
	for _, g := range im.Binaries {
		if g.Name == src {
			return true
		}
	}
	for _, mf := range im.ModuleFiles {
		if mf.Dest == src || strings.HasPrefix(mf.Dest, src+"/") {
			return true
		}
	}
	return false
}

func TestRenderFailsOnMissingVar(t *testing.T) {
	im := Image{Name: "worker", Recipe: "worker"} // the worker recipe needs Port
	_, err := RenderDockerfile(im, RuntimeBase, Mirrors{})
	if err == nil || !strings.Contains(err.Error(), "Port") {
		t.Fatalf("want an error naming the missing Port, got %v", err)
	}
}

func TestMirrorsReachTheRuntimeRecipe(t *testing.T) {
	set, _ := Select("runtime")
	rt := set[len(set)-1]
	df, err := RenderDockerfile(rt, DebianBase, Mirrors{Debian: "http://mirror.example/debian", Security: "http://mirror.example/sec"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "sh /tmp/apt-sources.sh /etc/apt/sources.list bookworm 'http://mirror.example/debian' 'http://mirror.example/sec'"; !strings.Contains(df, want) {
		t.Errorf("runtime Dockerfile lacks %q:\n%s", want, df)
	}
}

// Without overrides the kit leaves the mirror to the tools: no URL in any
// rendered Dockerfile, none on debootstrap's command line.
func TestNoMirrorByDefault(t *testing.T) {
	tags := map[string]string{}
	for _, im := range Set() {
		tags[im.Name] = im.Tag
	}
	for _, im := range Set() {
		if im.Parent == "" {
			continue
		}
		df, err := RenderDockerfile(im, tags[im.Parent], Mirrors{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(df, "://") {
			t.Errorf("%s: the Dockerfile names a URL without a mirror override:\n%s", im.Name, df)
		}
	}
	b, err := NewBuilder(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := b.debootstrapArgs("ROOTFS")
	if want := []string{"--variant=minbase", "--include=ca-certificates", DebianSuite, "ROOTFS"}; !slices.Equal(args, want) {
		t.Errorf("debootstrap %v, want %v (its default mirror)", args, want)
	}
	b.Mirrors.Debian = "http://mirror.example/debian"
	if args := b.debootstrapArgs("ROOTFS"); args[len(args)-1] != b.Mirrors.Debian || args[len(args)-2] != "ROOTFS" {
		t.Errorf("debootstrap %v: the mirror override is not its last argument", args)
	}
}

func TestMirrorsCheck(t *testing.T) {
	for _, m := range []Mirrors{{}, {Debian: "http://mirror.example/debian"}, {Debian: "file:///srv/debian", Security: "https://mirror.example/debian-security"}} {
		if err := m.Check(); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
	for _, m := range []Mirrors{{Debian: "mirror.example/debian"}, {Security: "http://x/a b"}, {Debian: "http://x/'; rm -rf /; '"}} {
		if err := m.Check(); err == nil || !strings.Contains(err.Error(), "KIT_DEBIAN_") {
			t.Errorf("%+v: want an error naming the variable, got %v", m, err)
		}
	}
}

// The runtime recipe's apt sources: the base's mirror, its updates and its
// security sibling, unless the build overrides them.
func TestAptSourcesScript(t *testing.T) {
	script, err := recipes.ReadFile("recipes/runtime/apt-sources.sh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, list string
		args       []string
		want       string
	}{
		{"the base's mirror", "deb http://mirror.example/debian bookworm main\n", nil,
			"deb http://mirror.example/debian bookworm main\ndeb http://mirror.example/debian bookworm-updates main\ndeb http://mirror.example/debian-security bookworm-security main\n"},
		{"options and a trailing slash", "# comment\ndeb-src http://src.example/debian bookworm main\ndeb [signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\n", nil,
			"deb http://mirror.example/debian/ bookworm main\ndeb http://mirror.example/debian/ bookworm-updates main\ndeb http://mirror.example/debian-security bookworm-security main\n"},
		{"overrides", "deb http://mirror.example/debian bookworm main\n", []string{"http://site.example/debian", "http://site.example/sec"},
			"deb http://site.example/debian bookworm main\ndeb http://site.example/debian bookworm-updates main\ndeb http://site.example/sec bookworm-security main\n"},
		{"empty overrides", "deb http://mirror.example/debian bookworm main\n", []string{"", ""},
			"deb http://mirror.example/debian bookworm main\ndeb http://mirror.example/debian bookworm-updates main\ndeb http://mirror.example/debian-security bookworm-security main\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list := filepath.Join(t.TempDir(), "sources.list")
			writeFiles(t, filepath.Dir(list), map[string]string{"sources.list": tc.list}, []string{"sources.list"})
			cmd := exec.Command("sh", append([]string{"-s", list, DebianSuite}, tc.args...)...)
			cmd.Stdin = strings.NewReader(string(script))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got, _ := os.ReadFile(list); string(got) != tc.want {
				t.Errorf("sources.list:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	t.Run("no mirror anywhere", func(t *testing.T) {
		list := filepath.Join(t.TempDir(), "sources.list")
		writeFiles(t, filepath.Dir(list), map[string]string{"sources.list": "deb http://mirror.example/debian trixie main\n"}, []string{"sources.list"})
		cmd := exec.Command("sh", "-s", list, DebianSuite)
		cmd.Stdin = strings.NewReader(string(script))
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "KIT_DEBIAN_MIRROR") {
			t.Errorf("want a failure naming KIT_DEBIAN_MIRROR, got %v: %s", err, out)
		}
	})
}

// Entry point scripts are at least valid shell for the interpreter their
// shebang names.
func TestScriptsParse(t *testing.T) {
	entries, err := recipes.ReadDir("recipes")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		files, _ := recipes.ReadDir(path.Join("recipes", e.Name()))
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".sh") {
				continue
			}
			n++
			b, _ := recipes.ReadFile(path.Join("recipes", e.Name(), f.Name()))
			shell := "sh"
			if first, _, _ := strings.Cut(string(b), "\n"); strings.Contains(first, "bash") {
				shell = "bash"
			}
			cmd := exec.Command(shell, "-n")
			cmd.Stdin = strings.NewReader(string(b))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s/%s: %s -n: %v\n%s", e.Name(), f.Name(), shell, err, out)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d scripts, want the postgresql, temporal-server and temporal-ui ones", n)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string, order []string) {
	t.Helper()
	for _, name := range order {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHashInputs(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM x\n", "bin/tool": "binary-v1", "schema/a.sql": "create table a();"}
	base := t.TempDir()
	writeFiles(t, base, files, []string{"Dockerfile", "bin/tool", "schema/a.sql"})
	bins := []GoBinary{{Name: "tool", Module: "example.com/m", Version: "v1.0.0", Package: "example.com/m/cmd/tool"}}
	ref, err := HashInputs("kit/tool:1", "sha256:parent", bins, base)
	if err != nil {
		t.Fatal(err)
	}

	// Same inputs, written in another order into another directory: same hash.
	again := t.TempDir()
	writeFiles(t, again, files, []string{"schema/a.sql", "bin/tool", "Dockerfile"})
	if h, _ := HashInputs("kit/tool:1", "sha256:parent", bins, again); h != ref {
		t.Errorf("hash depends on directory or write order: %s != %s", h, ref)
	}

	changed := func(name string, mutate func(dir string) (tag, parent string, bins []GoBinary)) {
		t.Helper()
		dir := t.TempDir()
		writeFiles(t, dir, files, []string{"Dockerfile", "bin/tool", "schema/a.sql"})
		tag, parent, b := mutate(dir)
		h, err := HashInputs(tag, parent, b, dir)
		if err != nil {
			t.Fatal(err)
		}
		if h == ref {
			t.Errorf("%s: hash did not change", name)
		}
	}
	same := func(dir string) (string, string, []GoBinary) { return "kit/tool:1", "sha256:parent", bins }
	changed("binary content", func(dir string) (string, string, []GoBinary) {
		os.WriteFile(filepath.Join(dir, "bin/tool"), []byte("binary-v2"), 0o644)
		return same(dir)
	})
	changed("recipe file", func(dir string) (string, string, []GoBinary) {
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM y\n"), 0o644)
		return same(dir)
	})
	changed("file mode", func(dir string) (string, string, []GoBinary) {
		os.Chmod(filepath.Join(dir, "bin/tool"), 0o755)
		return same(dir)
	})
	changed("file added", func(dir string) (string, string, []GoBinary) {
		os.WriteFile(filepath.Join(dir, "schema/b.sql"), nil, 0o644)
		return same(dir)
	})
	changed("file renamed", func(dir string) (string, string, []GoBinary) {
		os.Rename(filepath.Join(dir, "schema/a.sql"), filepath.Join(dir, "schema/c.sql"))
		return same(dir)
	})
	changed("parent image", func(dir string) (string, string, []GoBinary) {
		return "kit/tool:1", "sha256:other-parent", bins
	})
	changed("tag", func(dir string) (string, string, []GoBinary) {
		return "kit/tool:2", "sha256:parent", bins
	})
	changed("pinned version", func(dir string) (string, string, []GoBinary) {
		b := append([]GoBinary(nil), bins...)
		b[0].Version = "v1.0.1"
		return "kit/tool:1", "sha256:parent", b
	})
}

func TestNewBuilderRefusesCacheInRepo(t *testing.T) {
	repo := t.TempDir()
	if _, err := NewBuilder(repo, filepath.Join(repo, ".cache")); err == nil || !strings.Contains(err.Error(), "KIT_IMAGES_CACHE") {
		t.Fatalf("cache inside the repository: want an error naming KIT_IMAGES_CACHE, got %v", err)
	}
	if _, err := NewBuilder(repo, t.TempDir()); err != nil {
		t.Fatalf("cache outside the repository: %v", err)
	}
}

func TestFindRepoRoot(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "stacks", "images.go")); err != nil {
		t.Errorf("FindRepoRoot = %s, not this repository's root", root)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if _, err := FindRepoRoot(other); err == nil || !strings.Contains(err.Error(), RepoModule) {
		t.Errorf("another module: want an error naming %s, got %v", RepoModule, err)
	}
}

// worker/Dockerfile (for hosts with a registry) and the offline recipe
// must give the same container: entrypoint, user, port.
func TestWorkerDockerfileMatchesRecipe(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "worker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := Select("worker")
	w := set[len(set)-1]
	local, err := RenderDockerfile(w, RuntimeBase, Mirrors{})
	if err != nil {
		t.Fatal(err)
	}
	up, loc := dockerfileDirectives(string(b)), dockerfileDirectives(local)
	for _, k := range []string{"ENTRYPOINT", "USER", "EXPOSE", "STOPSIGNAL"} {
		if last(up, k) != last(loc, k) {
			t.Errorf("%s: worker/Dockerfile has %q, the offline recipe %q", k, last(up, k), last(loc, k))
		}
	}
	if !strings.Contains(string(b), "useradd -u 10001") || !strings.Contains(local, "useradd -u 10001") {
		t.Errorf("the worker user must be uid 10001 in both recipes")
	}
	if !strings.Contains(string(b), "-buildvcs=false") {
		t.Errorf("worker/Dockerfile must build without a VCS stamp, like kit-images, so both make one binary")
	}
	if !strings.Contains(string(b), "wget") {
		t.Errorf("worker/Dockerfile must install wget: the Definition's health check uses it")
	}
}

// backup/Dockerfile (for hosts with a registry, the official catalog) and
// the offline recipe make the same contract: the Definition, its health
// check and a restore rely on it.
func TestBackupDockerfileMatchesRecipe(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "backup", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := Select("backup")
	im := set[len(set)-1]
	local, err := RenderDockerfile(im, RuntimeBase, Mirrors{})
	if err != nil {
		t.Fatal(err)
	}
	up, loc := dockerfileDirectives(string(b)), dockerfileDirectives(local)
	for _, k := range []string{"ENTRYPOINT", "CMD", "USER", "EXPOSE", "STOPSIGNAL", "VOLUME", "ENV"} {
		if last(up, k) != last(loc, k) {
			t.Errorf("%s: backup/Dockerfile has %q, the offline recipe %q", k, last(up, k), last(loc, k))
		}
	}
	for _, s := range []string{"useradd -u 10002", "postgresql-client-" + PostgresMajor, "chmod 0700 /backups"} {
		if !strings.Contains(string(b), s) || !strings.Contains(local, s) {
			t.Errorf("both backup recipes must have %q", s)
		}
	}
	if !strings.Contains(string(b), "wget") || !strings.Contains(string(b), "-buildvcs=false") {
		t.Errorf("backup/Dockerfile must install wget (the health check) and build without a VCS stamp")
	}
}
