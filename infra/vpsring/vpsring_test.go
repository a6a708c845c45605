package vpsring

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra/cloudinit"
	"github.com/ampledata/temporal-kit/infra/deployring"
	"github.com/ampledata/temporal-kit/infra/hostkey"
	"github.com/ampledata/temporal-kit/infra/images"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// TestVPSRingSSHDeploy boots a simulated VPS on the kit's cloud-init (a
// generated host key and client key), replaces the host key from the
// user-data as the hetzner target's deploy does (the old key then
// authenticates nothing), checks its sshd refuses root and passwords,
// then deploys the whole dev Definition on it with the real
// `pulumi up` of the repository's program, target ssh, local image catalog:
// the user-data's host key is refused before anything is deployed; with the
// new one every container turns healthy on the VPS's engine, containers
// cannot reach the metadata service (also after a restart of dockerd and
// a reboot) and daemon.json is in force, a job completes
// through an SSH tunnel, a second up changes nothing, and a worker change
// (its env, then its image) replaces the worker only. FIGURE lines give
// the times.
func TestVPSRingSSHDeploy(t *testing.T) {
	stacktest.RequireDocker(t)
	deployring.RequirePulumi(t, "the VPS ring")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	requireImages(t, ctx)
	id := randomHex(3)

	// Keys: the bootstrap host key of the user-data and the key that
	// replaces it, as the hetzner target makes them; a client (deploy) key.
	seed := make([]byte, hostkey.SeedSize)
	_, _ = rand.Read(seed)
	hk, err := hostkey.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = rand.Read(seed)
	rotated, _ := hostkey.FromSeed(seed)
	clientPriv, clientPub := clientKey(t)

	userData, err := cloudinit.Render(cloudinit.Params{
		User: stacks.DefaultSSHUser, AuthorizedKey: clientPub, HostKey: hk,
		// Left out in a container: no swap file (swapon does not work on
		// the container's overlay root) and no block device to mount.
		SwapMB: 0, VolumeDevice: "",
	})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	vps, err := Start(ctx, "kit-vps-"+id, userData)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if t.Failed() {
			logs, _ := Docker(c, "logs", "--tail", "60", vps.Name)
			t.Logf("--- simulated VPS log ---\n%s", logs)
			ps, _ := vps.Exec(c, "docker", "ps", "-a")
			t.Logf("--- containers on the VPS ---\n%s", ps)
		}
		vps.Remove(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulated VPS %s: ssh on 127.0.0.1:%d, privileged=%v", vps.Name, vps.Port, vps.Privileged)
	if err := vps.WaitBooted(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE simulated VPS boot (container start to cloud-init's final marker): %s", time.Since(began).Round(100*time.Millisecond))
	status, _ := vps.Exec(ctx, "cloud-init", "status", "--long")
	t.Logf("cloud-init status on the VPS:\n%s", status)
	if !strings.Contains(status, "status: done") {
		t.Errorf("cloud-init did not finish cleanly:\n%s", status)
	}
	skipped, _ := vps.Exec(ctx, "cat", "/var/log/simulated-systemctl.log")
	t.Logf("systemctl calls the container could not honour (no systemd):\n%s", skipped)

	dir := t.TempDir()
	sshFiles := filepath.Join(dir, "ssh")
	keyFile := filepath.Join(dir, "client_key")
	knownHosts := filepath.Join(dir, "known_hosts")
	mustWrite(t, keyFile, clientPriv)
	bootstrapKnownHosts := filepath.Join(dir, "known_hosts.bootstrap")
	userDataKnownHosts := filepath.Join(dir, "known_hosts.user-data")
	line := func(k hostkey.Pair) string {
		l, err := sshdeploy.KnownHostsLine("127.0.0.1", vps.Port, k.Public)
		if err != nil {
			t.Fatal(err)
		}
		return l + "\n"
	}
	mustWrite(t, knownHosts, line(rotated))
	mustWrite(t, bootstrapKnownHosts, line(hk)+line(rotated))
	mustWrite(t, userDataKnownHosts, line(hk))
	// sshArgs: ssh as the deploy does it; opts before the destination, cmd after.
	sshArgs := func(user string, opts []string, cmd ...string) []string {
		args := []string{"-i", keyFile, "-o", "UserKnownHostsFile=" + knownHosts, "-p", strconv.Itoa(vps.Port)}
		args = append(append(args, sshdeploy.Options()...), opts...)
		return append(append(args, user+"@127.0.0.1"), cmd...)
	}

	if !t.Run("the user-data's host key is replaced and authenticates the host no more", func(t *testing.T) {
		// The hetzner target's command, run as the command provider runs it.
		rotate := func() string {
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", sshdeploy.RotateScript())
			cmd.Stdin = strings.NewReader(rotated.Private)
			cmd.Env = append(os.Environ(), "KIT_SSH_KEY="+keyFile, "KIT_SSH_PORT="+strconv.Itoa(vps.Port), "KIT_SSH_DEST=deploy@127.0.0.1",
				"KIT_SSH_KNOWN_HOSTS="+bootstrapKnownHosts, "KIT_SSH_FINAL_KNOWN_HOSTS="+knownHosts,
				"KIT_HOST_KEY_PUBLIC="+rotated.Public, "KIT_HOST_KEY_BOOTSTRAP="+hk.Public)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("host key rotation: %v\n%s", err, out)
			}
			return string(out)
		}
		if out := rotate(); !strings.Contains(out, "host key: installed") || !strings.Contains(out, "no longer authenticates it") {
			t.Errorf("first rotation:\n%s", out)
		} else {
			t.Logf("first rotation:\n%s", out)
		}
		if out := rotate(); !strings.Contains(out, "host key: already in place") {
			t.Errorf("second rotation is not a no-op:\n%s", out)
		}
		args := []string{"-i", keyFile, "-o", "UserKnownHostsFile=" + userDataKnownHosts, "-p", strconv.Itoa(vps.Port)}
		out, err := ssh_(ctx, append(append(args, sshdeploy.Options()...), "deploy@127.0.0.1", "true")...)
		if err == nil || !strings.Contains(out, "Host key verification failed") {
			t.Errorf("ssh pinned to the user-data's host key: err=%v\n%s", err, out)
		}
		// The user-data cannot change (on Hetzner, not without a new
		// server): it still holds the old key, which sshd no longer has.
		ud, _ := vps.Exec(ctx, "cat", "/var/lib/cloud/instance/user-data.txt")
		if !strings.Contains(ud, strings.Split(hk.Private, "\n")[2]) {
			t.Error("the VPS's user-data does not hold the bootstrap key: the test proves nothing")
		}
		if key, _ := vps.Exec(ctx, "cat", "/etc/ssh/ssh_host_ed25519_key"); key != strings.TrimSpace(rotated.Private) {
			t.Error("the VPS's host key file is not the rotated key")
		}
	}) {
		return
	}

	t.Run("sshd is hardened", func(t *testing.T) {
		eff, err := vps.Exec(ctx, "sshd", "-T")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"permitrootlogin no", "passwordauthentication no", "kbdinteractiveauthentication no", "allowusers deploy", "hostkey /etc/ssh/ssh_host_ed25519_key"} {
			if !slices.Contains(strings.Split(eff, "\n"), want) {
				t.Errorf("sshd -T lacks %q", want)
			}
		}
		if keys, _ := vps.Exec(ctx, "sh", "-c", "ls /etc/ssh/ssh_host_*"); keys != "/etc/ssh/ssh_host_ed25519_key\n/etc/ssh/ssh_host_ed25519_key.pub" {
			t.Errorf("host keys on the VPS: %q, want the stack's ed25519 key only", keys)
		}
		if out, err := ssh_(ctx, sshArgs("deploy", nil, "docker", "version", "--format", "{{.Server.Version}}")...); err != nil {
			t.Fatalf("deploy user over ssh: %v\n%s", err, out)
		}
		// Root, even with an authorized key, is refused.
		if _, err := vps.Exec(ctx, "sh", "-c", "mkdir -p /root/.ssh && printf '%s\\n' '"+clientPub+"' >/root/.ssh/authorized_keys"); err != nil {
			t.Fatal(err)
		}
		out, err := ssh_(ctx, sshArgs("root", nil, "true")...)
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("root login with an authorized key: err=%v\n%s", err, out)
		}
		// Passwords are not even offered.
		args := []string{"-v", "-p", strconv.Itoa(vps.Port), "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
			"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "BatchMode=yes", "-o", "NumberOfPasswordPrompts=0", "deploy@127.0.0.1", "true"}
		out, err = ssh_(ctx, args...)
		if err == nil || !regexp.MustCompile(`Authentications that can continue: publickey\r?\n`).MatchString(out) || !strings.Contains(out, "Permission denied (publickey)") {
			t.Errorf("password login: err=%v; want only publickey offered\n%s", err, out)
		}
		if out, err := vps.Exec(ctx, "fail2ban-client", "-t"); err != nil {
			t.Errorf("fail2ban's configuration does not load: %v\n%s", err, out)
		}
		if out, _ := vps.Exec(ctx, "apt-config", "dump", "Unattended-Upgrade::Origins-Pattern"); strings.Contains(out, "label=Debian\"") || !strings.Contains(out, "Debian-Security") {
			t.Errorf("unattended-upgrades does not take security updates only:\n%s", out)
		}
	})

	r := newStack(t, ctx, "vps"+id, sshFiles)
	worker := "temporal-kit-local/worker:vps" + id
	if _, err := Docker(ctx, "tag", stacks.Catalogs[stacks.CatalogLocal].Worker, worker); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Docker(context.Background(), "rmi", worker) })
	r.set(ctx, "target", "ssh", false)
	r.set(ctx, "sshHost", "127.0.0.1", false)
	r.set(ctx, "sshPort", strconv.Itoa(vps.Port), false)
	r.setFromFile(ctx, "sshPrivateKey", keyFile)
	r.set(ctx, "images.worker", worker, false)

	if !t.Run("the user-data's host key is refused and nothing is deployed", func(t *testing.T) {
		r.set(ctx, "sshHostKey", hk.Public, false)
		if res, err := r.cli.Run(ctx, "preview"); err != nil {
			t.Logf("preview with a wrong host key fails:\n%s", tail(err.Error(), 15))
		} else {
			t.Logf("preview with a wrong host key passes (a first deploy reads nothing from the host; the up below is what refuses): %s", tail(res.Stdout, 3))
		}
		_, err := r.cli.Run(ctx, "up", "--yes", "--skip-preview")
		if err == nil {
			t.Fatal("up succeeded with a wrong host key")
		}
		msg := err.Error()
		t.Logf("what the failed up says:\n%s", tail(msg[strings.Index(msg, "Diagnostics:")+1:], 20))
		for _, want := range []string{"Host key verification failed", "is not the pinned one", "sshHostKey", "Nothing was deployed"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the failed up does not say %q", want)
			}
		}
		if ps, _ := vps.Exec(ctx, "docker", "ps", "-aq"); ps != "" {
			t.Errorf("containers on the VPS after the refused up: %s", ps)
		}
		if im, _ := vps.Exec(ctx, "docker", "images", "-q"); im != "" {
			t.Errorf("images on the VPS after the refused up: %s", im)
		}
	}) {
		return
	}

	r.set(ctx, "sshHostKey", rotated.Public, false)
	def := r.definition()
	if !t.Run("up deploys the whole Definition on the VPS", func(t *testing.T) {
		res := r.up(t, ctx)
		t.Logf("FIGURE first pulumi up over SSH (wait, image transfer, %d containers): %s", len(def.Services), res.Took.Round(100*time.Millisecond))
		for img, took := range r.transferTimes(ctx) {
			t.Logf("FIGURE image transfer %s: %s", img, took)
		}
		checkContainers(t, ctx, vps, def)
	}) {
		return
	}
	pg, _ := def.Service(stacks.ServicePostgres)
	backend := def.Prefix + "-" + stacks.NetworkBackend

	t.Run("daemon.json is in force and containers cannot reach the metadata service", func(t *testing.T) {
		checkDaemonSettings(t, ctx, vps, pg.Image)
		checkMetadataGuard(t, ctx, vps, pg.Image, backend)
	})

	t.Run("a job completes through an SSH tunnel", func(t *testing.T) {
		startFixtures(t, ctx, vps, def, r.serpKey)
		api, temporal := deployring.FreePort(t), deployring.FreePort(t)
		tunnel := exec.CommandContext(ctx, "ssh", sshArgs("deploy", []string{"-N", "-o", "ExitOnForwardFailure=yes",
			"-L", fmt.Sprintf("%d:127.0.0.1:%d", api, stacks.PortWorkerAPI), "-L", fmt.Sprintf("%d:127.0.0.1:7233", temporal)})...)
		if err := tunnel.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tunnel.Process.Kill(); _ = tunnel.Wait() }()
		waitPort(t, api)
		began := time.Now()
		v := deployring.RunJob(t, ctx, fmt.Sprintf("http://127.0.0.1:%d", api), 6, 4*time.Minute)
		t.Logf("FIGURE enrichment job of %d rows through the SSH tunnel: %s (%d ok)", v.Rows, time.Since(began).Round(100*time.Millisecond), v.OK)
	})

	t.Run("a second up changes nothing", func(t *testing.T) {
		res, err := r.cli.Run(ctx, "up", "--yes", "--skip-preview", "--json")
		if err != nil {
			t.Fatal(err)
		}
		p, err := deployring.ParseUp(res.Stdout)
		if err != nil {
			t.Fatal(err)
		}
		ch := p.Changes()
		t.Logf("FIGURE second pulumi up over SSH: %d changes %v (%s)", len(ch), ch, res.Took.Round(100*time.Millisecond))
		if len(ch) != 0 {
			t.Errorf("second up: %v, want no changes", ch)
		}
	})

	t.Run("a worker change redeploys the worker only", func(t *testing.T) {
		r.set(ctx, "workerEnv.KIT_VPS_RING", id, false)
		p, err := r.cli.Preview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Changes(); !slices.Equal(got, []string{"replace worker"}) {
			t.Errorf("workerEnv change plans %v, want [replace worker]", got)
		}
		res := r.up(t, ctx)
		t.Logf("FIGURE up after a workerEnv change: %s", res.Took.Round(100*time.Millisecond))

		// A new worker image (its code changed): sent again, worker replaced, nothing else.
		build := exec.CommandContext(ctx, "docker", "build", "-t", worker, "--label", "temporal-kit.vpsring.change="+id, "-")
		build.Stdin = strings.NewReader("FROM " + worker + "\n")
		build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("new worker image: %v\n%s", err, out)
		}
		p, err = r.cli.Preview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		transfer := "replace transfer-" + regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(worker, "-")
		// The container exporter and docker-gate ship in the worker image: they follow it.
		want := []string{"replace " + stacks.ServiceContainerMetrics, "replace " + stacks.ServiceDockerGate, transfer, "replace worker"}
		if got := p.Changes(); !slices.Equal(got, want) {
			t.Errorf("a new worker image plans %v, want %v", got, want)
		}
		res = r.up(t, ctx)
		t.Logf("FIGURE up after a new worker image (sent over SSH, worker replaced): %s", res.Took.Round(100*time.Millisecond))
		checkContainers(t, ctx, vps, def)
		local, _ := Docker(ctx, "image", "inspect", "--format", "{{.Id}}", worker)
		remote, _ := vps.Exec(ctx, "docker", "inspect", "--format", "{{.Image}}", def.ContainerName(stacks.ServiceWorker))
		if local == "" || local != remote {
			t.Errorf("the VPS's worker runs %q, the new image is %q", remote, local)
		}
	})

	t.Run("after a reboot containers still cannot reach the metadata service", func(t *testing.T) {
		began := time.Now()
		if err := vps.Reboot(ctx, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE simulated VPS reboot (container restart to the end of its boot): %s", time.Since(began).Round(100*time.Millisecond))
		checkGuardAfterReboot(t, ctx, vps, pg.Image, backend)
	})
}

func requireImages(t *testing.T, ctx context.Context) {
	t.Helper()
	im := stacks.Catalogs[stacks.CatalogLocal]
	for _, ref := range []string{images.SimulatedVPS, images.FixtureServer, im.Postgres, im.TemporalServer, im.TemporalAdminTools, im.TemporalUI, im.Worker} {
		if _, err := Docker(ctx, "image", "inspect", "--format", "{{.Id}}", ref); err != nil {
			t.Fatalf("image %s missing; build the offline set with `go run ./infra/images/cmd/kit-images build`", ref)
		}
	}
}

// stack is a Pulumi stack of the repository's program in a state backend of its own.
type stack struct {
	t       *testing.T
	cli     *deployring.CLI
	cfg     stacks.MapSource
	serpKey string
}

func newStack(t *testing.T, ctx context.Context, name, sshDir string) *stack {
	t.Helper()
	s := &stack{t: t, cfg: stacks.MapSource{}, serpKey: randomHex(16)}
	s.cli = deployring.NewStack(t, ctx, name, sshdeploy.DirEnv+"="+sshDir)
	// The VPS goes with everything on it: the state only needs removing.
	t.Cleanup(func() { _, _ = s.cli.Run(context.Background(), "stack", "rm", "--force", "--yes") })
	s.set(ctx, "imageCatalog", stacks.CatalogLocal, false)
	for k, v := range fixturesvc.Config(nil) {
		if k == "workerEnv" {
			var env map[string]string
			_ = json.Unmarshal([]byte(v), &env)
			for ek, ev := range env {
				s.set(ctx, "workerEnv."+ek, ev, false)
			}
			continue
		}
		s.set(ctx, k, v, false)
	}
	s.set(ctx, "serpApiKey", s.serpKey, true)
	return s
}

func (s *stack) set(ctx context.Context, key, value string, secret bool) {
	s.t.Helper()
	if err := s.cli.SetConfig(ctx, key, value, secret); err != nil {
		s.t.Fatal(err)
	}
	if head, field, ok := strings.Cut(key, "."); ok {
		m := map[string]string{}
		_ = json.Unmarshal([]byte(s.cfg[head]), &m)
		m[field] = value
		b, _ := json.Marshal(m)
		s.cfg[head] = string(b)
		return
	}
	if secret {
		value = "[secret]"
	}
	s.cfg[key] = value
}

// setFromFile sets a secret key from a file on stdin, as docs/config.md says to
// set sshPrivateKey: `pulumi config set --secret KEY < FILE`.
func (s *stack) setFromFile(ctx context.Context, key, path string) {
	s.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "pulumi", "config", "set", "--secret", stacks.Namespace+":"+key,
		"--stack", s.cli.Stack, "--config-file", s.cli.ConfigFile, "--non-interactive")
	cmd.Dir, cmd.Stdin = s.cli.Dir, f
	cmd.Env = append(os.Environ(), s.cli.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("pulumi config set --secret %s < %s: %v\n%s", key, path, err, out)
	}
	s.cfg[key] = "[secret]"
}

func (s *stack) definition() stacks.Definition {
	s.t.Helper()
	return stacktest.Definition(s.t, s.cli.Stack, s.cfg)
}

func (s *stack) up(t *testing.T, ctx context.Context) deployring.Result {
	t.Helper()
	res, err := s.cli.Run(ctx, "up", "--yes", "--skip-preview")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// transferTimes reads the image transfer commands' reports from the state.
func (s *stack) transferTimes(ctx context.Context) map[string]string {
	res, err := s.cli.Run(ctx, "stack", "export")
	if err != nil {
		s.t.Fatal(err)
	}
	var st struct {
		Deployment struct {
			Resources []struct {
				Type    string         `json:"type"`
				URN     string         `json:"urn"`
				Outputs map[string]any `json:"outputs"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	sent := regexp.MustCompile(`(?m)^(\S+): (sent in \d+ s|the remote engine has \S+ already)$`)
	for _, r := range st.Deployment.Resources {
		if r.Type != "command:local:Command" || !strings.Contains(r.URN, "::transfer-") {
			continue
		}
		stdout, _ := r.Outputs["stdout"].(string)
		if m := sent.FindStringSubmatch(stdout); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}

// checkContainers wants every long-running service healthy and every job
// exited 0 on the VPS's engine.
func checkContainers(t *testing.T, ctx context.Context, vps *VPS, def stacks.Definition) {
	t.Helper()
	for _, s := range def.Services {
		got, err := vps.Exec(ctx, "docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", def.ContainerName(s.Name))
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		want := "running 0 healthy"
		if s.Kind == stacks.OneShot {
			want = "exited 0"
		}
		if strings.TrimSpace(got) != want {
			t.Errorf("%s on the VPS: %q, want %q", s.Name, got, want)
		}
	}
	ps, _ := vps.Exec(ctx, "docker", "ps", "-a", "--format", "{{.Names}}\t{{.Status}}")
	t.Logf("docker ps on the VPS:\n%s", ps)
}

// startFixtures runs the fixture server (fake SERP API and web sites) on
// the VPS's engine, on the stack's backend network, as fixturesvc defines it.
func startFixtures(t *testing.T, ctx context.Context, vps *VPS, def stacks.Definition, serpKey string) {
	t.Helper()
	began := time.Now()
	load := exec.CommandContext(ctx, "sh", "-c", `docker save "$1" | docker exec -i "$2" docker load`, "sh", images.FixtureServer, vps.Name)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("fixture image to the VPS: %v\n%s", err, out)
	}
	svc := fixturesvc.Service(0)
	args := []string{"docker", "run", "-d", "--name", def.Prefix + "-" + fixturesvc.Name, "--network", def.Prefix + "-" + stacks.NetworkBackend,
		"--network-alias", fixturesvc.Name}
	for _, e := range svc.Env {
		v := e.Value
		if e.Secret != "" {
			v = serpKey
		}
		args = append(args, "-e", e.Name+"="+v)
	}
	if out, err := vps.Exec(ctx, append(args, svc.Image)...); err != nil {
		t.Fatalf("fixture server on the VPS: %v\n%s", err, out)
	}
	t.Logf("fixture server started on the VPS in %s", time.Since(began).Round(100*time.Millisecond))
}

func clientKey(t *testing.T) (private, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "vpsring")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ssh.NewPublicKey(pub)
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p)))
}

func ssh_(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput()
	return string(out), err
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("tunnel port %d does not open", port)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
