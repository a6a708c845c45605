package cloudinit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra/hostkey"
	"github.com/ampledata/temporal-kit/infra/images"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

func params(t *testing.T) Params {
	t.Helper()
	hk, err := hostkey.FromSeed(bytes.Repeat([]byte{1}, hostkey.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public())
	if err != nil {
		t.Fatal(err)
	}
	return Params{
		User:          "deploy",
		AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(client))) + " operator@laptop",
		HostKey:       hk,
		SwapMB:        2048,
		VolumeDevice:  "/dev/disk/by-id/scsi-0HC_Volume_12345678",
	}
}

func TestRenderIsStable(t *testing.T) {
	p := params(t)
	a, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(p)
	if a != b {
		t.Fatal("two renders of the same params differ: the server would be replaced on every run")
	}
	if !strings.HasPrefix(a, "#cloud-config\n") {
		t.Errorf("user-data does not start with #cloud-config:\n%s", a)
	}
	t.Logf("user-data: %d bytes (limit on Hetzner: 32 KiB)", len(a))
	if len(a) > 16<<10 {
		t.Errorf("user-data is %d bytes; keep it small", len(a))
	}
}

// The document says what the package promises.
func TestRenderContent(t *testing.T) {
	p := params(t)
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	users := doc["users"].([]any)
	u := users[0].(map[string]any)
	if len(users) != 1 || u["name"] != "deploy" || u["lock_passwd"] != true {
		t.Errorf("users: %v", users)
	}
	if g := u["groups"].([]any); len(g) != 1 || g[0] != "docker" {
		t.Errorf("groups: %v", g)
	}
	if k := u["ssh_authorized_keys"].([]any); len(k) != 1 || !strings.HasPrefix(k[0].(string), "ssh-ed25519 ") || strings.Contains(k[0].(string), "operator@laptop") {
		t.Errorf("authorized keys: %v (normalised, comment dropped)", k)
	}
	for k, want := range map[string]any{"disable_root": true, "ssh_pwauth": false, "ssh_deletekeys": true, "package_update": true} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %v", k, doc[k], want)
		}
	}
	if g := doc["ssh_genkeytypes"].([]any); len(g) != 1 || g[0] != "ed25519" {
		t.Errorf("ssh_genkeytypes %v: ed25519 only, which the stack's key provides", g)
	}
	keys := doc["ssh_keys"].(map[string]any)
	if keys["ed25519_private"] != p.HostKey.Private || keys["ed25519_public"] != p.HostKey.Public {
		t.Error("the host key is not installed as given")
	}
	swap := doc["swap"].(map[string]any)
	if swap["filename"] != SwapFile || swap["size"] != 2048<<20 {
		t.Errorf("swap %v", swap)
	}
	mounts := doc["mounts"].([]any)[0].([]any)
	if mounts[0] != p.VolumeDevice || mounts[1] != DataDir || !strings.Contains(mounts[3].(string), "nofail") {
		t.Errorf("mount %v", mounts)
	}
	// The volume is attached after boot: bootcmd waits for its device, bounded.
	boot := fmt.Sprint(doc["bootcmd"])
	if !strings.Contains(boot, "[ ! -b "+p.VolumeDevice+" ]") || !strings.Contains(boot, fmt.Sprintf("-lt %d", VolumeWaitSeconds)) {
		t.Errorf("bootcmd does not wait for the volume device: %s", boot)
	}
	pk := doc["packages"].([]any)
	for _, want := range []string{"docker.io", "fail2ban", "unattended-upgrades"} {
		found := false
		for _, p := range pk {
			found = found || p == want
		}
		if !found {
			t.Errorf("package %s missing from %v", want, pk)
		}
	}
	files := map[string]string{}
	for _, f := range doc["write_files"].([]any) {
		m := f.(map[string]any)
		files[m["path"].(string)] = m["content"].(string)
	}
	for path, wants := range map[string][]string{
		SSHDropIn:                 {"PermitRootLogin no", "PasswordAuthentication no", "AllowUsers deploy", "HostKey /etc/ssh/ssh_host_ed25519_key", "AuthenticationMethods publickey"},
		"/etc/docker/daemon.json": {`"max-size": "10m"`, `"max-file": "3"`, `"data-root": "` + DockerDataRoot + `"`},
		"/etc/systemd/journald.conf.d/temporal-kit.conf":         {"SystemMaxUse="},
		"/etc/apt/apt.conf.d/52temporal-kit-unattended-upgrades": {"#clear Unattended-Upgrade::Origins-Pattern;", "label=Debian-Security"},
		"/etc/systemd/system/docker.service.d/temporal-kit.conf": {"RequiresMountsFor=" + DataDir},
	} {
		for _, w := range wants {
			if !strings.Contains(files[path], w) {
				t.Errorf("%s does not hold %q:\n%s", path, w, files[path])
			}
		}
	}
	if !strings.Contains(out, Marker) {
		t.Error("no marker")
	}
}

// The engine is hardened, and containers cannot reach the metadata
// service, from the first boot and after every start of Docker.
func TestRenderHardensDockerAndGuardsTheMetadataService(t *testing.T) {
	p := params(t)
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		WriteFiles []struct{ Path, Permissions, Content string } `yaml:"write_files"`
		Runcmd     [][]string                                    `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	mode := map[string]string{}
	for _, f := range doc.WriteFiles {
		files[f.Path], mode[f.Path] = f.Content, f.Permissions
	}
	var daemon map[string]any
	if err := json.Unmarshal([]byte(files["/etc/docker/daemon.json"]), &daemon); err != nil {
		t.Fatalf("daemon.json is not JSON: %v\n%s", err, files["/etc/docker/daemon.json"])
	}
	for k, want := range map[string]any{"userland-proxy": false, "icc": false, "no-new-privileges": true, "live-restore": true, "data-root": DockerDataRoot} {
		if daemon[k] != want {
			t.Errorf("daemon.json %s = %v, want %v", k, daemon[k], want)
		}
	}

	guard := files[MetadataGuard]
	if mode[MetadataGuard] != "0755" || !strings.HasPrefix(guard, "#!/bin/sh\n") {
		t.Errorf("%s: mode %s, not an executable script:\n%s", MetadataGuard, mode[MetadataGuard], guard)
	}
	for _, want := range []string{"-I DOCKER-USER 1 -d 169.254.0.0/16", "-j DROP", "-D DOCKER-USER -d 169.254.0.0/16", "-N DOCKER-USER", "set -eu"} {
		if !strings.Contains(guard, want) {
			t.Errorf("the metadata guard lacks %q:\n%s", want, guard)
		}
	}
	unit := files["/etc/systemd/system/"+MetadataGuardUnit]
	for _, want := range []string{"Before=docker.service", "PartOf=docker.service", "WantedBy=docker.service", "ExecStart=" + MetadataGuard, "RemainAfterExit=yes", "Type=oneshot"} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %q:\n%s", MetadataGuardUnit, want, unit)
		}
	}
	enabled := false
	for _, c := range doc.Runcmd {
		enabled = enabled || strings.Join(c, " ") == "systemctl enable --now "+MetadataGuardUnit
	}
	if !enabled {
		t.Errorf("runcmd does not enable and start %s: %v", MetadataGuardUnit, doc.Runcmd)
	}

	uu := files["/etc/apt/apt.conf.d/52temporal-kit-unattended-upgrades"]
	for _, want := range []string{`Unattended-Upgrade::Automatic-Reboot "true";`, `Unattended-Upgrade::Automatic-Reboot-Time "` + RebootTime + `";`} {
		if !strings.Contains(uu, want) {
			t.Errorf("unattended-upgrades does not reboot for a kernel (%q missing):\n%s", want, uu)
		}
	}
}

func TestRenderWithoutSwapOrVolume(t *testing.T) {
	p := params(t)
	p.SwapMB, p.VolumeDevice = 0, ""
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"swap:", "mounts:", "fs_setup:", "data-root", "RequiresMountsFor"} {
		if strings.Contains(out, s) {
			t.Errorf("%q without swap and volume", s)
		}
	}
}

func TestRenderRefusesBadParams(t *testing.T) {
	other, _ := hostkey.FromSeed(bytes.Repeat([]byte{3}, hostkey.SeedSize))
	for name, mod := range map[string]func(*Params){
		"root user":          func(p *Params) { p.User = "root" },
		"bad user":           func(p *Params) { p.User = "Deploy User" },
		"no authorized key":  func(p *Params) { p.AuthorizedKey = "" },
		"two keys":           func(p *Params) { p.AuthorizedKey += "\n" + p.AuthorizedKey },
		"mismatched halves":  func(p *Params) { p.HostKey.Public = other.Public },
		"no host key":        func(p *Params) { p.HostKey = hostkey.Pair{} },
		"device not in /dev": func(p *Params) { p.VolumeDevice = "/tmp/x; rm -rf /" },
	} {
		p := params(t)
		mod(&p)
		if _, err := Render(p); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

// cloud-init's own schema check (Debian 12's cloud-init 22.4.2, in the
// simulated VPS image) accepts the user-data, and refuses a broken one, so
// the check is known to bite.
func TestCloudInitSchema(t *testing.T) {
	stacktest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", images.SimulatedVPS).CombinedOutput(); err != nil {
		t.Fatalf("image %s missing (%v: %s); build it with `go run ./infra/images/cmd/kit-images build vps`", images.SimulatedVPS, err, bytes.TrimSpace(out))
	}
	good, err := Render(params(t))
	if err != nil {
		t.Fatal(err)
	}
	p := params(t)
	p.SwapMB, p.VolumeDevice = 0, ""
	small, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.yaml", good)
	write("small.yaml", small)
	write("bad.yaml", strings.Replace(good, "ssh_pwauth: false", "ssh_pwauth: [false]", 1)+"swap:\n  size: lots\n")
	schema := func(name string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "-v", dir+":/check:ro", "--entrypoint", "cloud-init",
			images.SimulatedVPS, "schema", "--config-file", "/check/"+name).CombinedOutput()
		return string(out), err
	}
	for _, n := range []string{"good.yaml", "small.yaml"} {
		out, err := schema(n)
		if err != nil || !strings.Contains(out, "Valid cloud-config") {
			t.Errorf("cloud-init schema refuses %s: %v\n%s", n, err, out)
		}
		t.Logf("cloud-init schema --config-file %s: %s", n, strings.TrimSpace(out))
	}
	if out, err := schema("bad.yaml"); err == nil {
		t.Errorf("cloud-init schema accepts a broken document:\n%s", out)
	} else {
		t.Logf("the broken document, as cloud-init says: %s", strings.TrimSpace(out))
	}
}
