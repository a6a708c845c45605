package vpsring

import (
	"context"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/infra/cloudinit"
)

// fakeUserData is what the fake metadata service answers (StartFakeMetadata).
const fakeUserData = "temporal-kit fake user-data"

// metadataProbe fetches the user-data the way a compromised container
// would: a plain TCP connection (bash's /dev/tcp), 5 s at most.
const metadataProbe = `timeout 5 bash -c 'exec 3<>/dev/tcp/` + MetadataAddress + `/80 && printf "GET /hetzner/v1/userdata HTTP/1.0\r\n\r\n" >&3 && cat <&3'`

// fromContainer runs the probe in a new container on network ("" for the
// default bridge) of the VPS's engine, from image (one with bash).
func fromContainer(ctx context.Context, vps *VPS, image, network string) (string, error) {
	args := []string{"docker", "run", "--rm", "--entrypoint", "bash"}
	if network != "" {
		args = append(args, "--network", network)
	}
	return vps.Exec(ctx, append(args, image, "-c", metadataProbe)...)
}

// checkMetadataGuard: the host reads the (fake) metadata service, a
// container on the default bridge or on the stack's network cannot; that
// it could without the guard's rule (so the check can fail); and that the
// rule survives a restart of dockerd.
func checkMetadataGuard(t *testing.T, ctx context.Context, vps *VPS, image, network string) {
	t.Helper()
	if err := vps.StartFakeMetadata(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := vps.Exec(ctx, "bash", "-c", metadataProbe); err != nil || !strings.Contains(out, fakeUserData) {
		t.Fatalf("the VPS itself does not read the metadata service: %v\n%s", err, out)
	}
	blocked := func(when string) {
		t.Helper()
		for _, n := range []string{"", network} {
			out, err := fromContainer(ctx, vps, image, n)
			if err == nil || strings.Contains(out, fakeUserData) {
				t.Errorf("%s: a container on network %q reads the metadata service (err=%v):\n%s", when, n, err, out)
			}
		}
	}
	blocked("after boot")
	rules, _ := vps.Exec(ctx, "iptables", "-S", "DOCKER-USER")
	t.Logf("DOCKER-USER on the VPS:\n%s", rules)

	// Without the rule a container reaches it: the simulation routes
	// metadata traffic as Hetzner does, and the check above can fail.
	del := []string{"iptables", "-w", "-D", "DOCKER-USER", "-d", cloudinit.LinkLocal, "-m", "comment", "--comment", "temporal-kit-metadata-guard", "-j", "DROP"}
	if out, err := vps.Exec(ctx, del...); err != nil {
		t.Fatalf("removing the guard's rule: %v\n%s", err, out)
	}
	if out, err := fromContainer(ctx, vps, image, network); err != nil || !strings.Contains(out, fakeUserData) {
		t.Errorf("without the guard's rule a container still does not reach the fake metadata service (the check proves nothing): %v\n%s", err, out)
	}
	if out, err := vps.Exec(ctx, "systemctl", "start", cloudinit.MetadataGuardUnit); err != nil {
		t.Fatalf("the guard again: %v\n%s", err, out)
	}
	blocked("after the guard ran again")

	if err := vps.RestartDocker(ctx); err != nil {
		t.Fatal(err)
	}
	blocked("after a restart of dockerd")
}

// checkDaemonSettings: daemon.json is in force on the VPS's engine.
func checkDaemonSettings(t *testing.T, ctx context.Context, vps *VPS, image string) {
	t.Helper()
	if out, _ := vps.Exec(ctx, "docker", "info", "--format", "{{.LiveRestoreEnabled}}"); out != "true" {
		t.Errorf("live-restore: docker info says %q", out)
	}
	if out, _ := vps.Exec(ctx, "docker", "network", "inspect", "bridge", "--format", `{{index .Options "com.docker.network.bridge.enable_icc"}}`); out != "false" {
		t.Errorf("icc on the default bridge: %q, want false", out)
	}
	// Ports are published (the stack's, on 127.0.0.1): iptables, no proxy process.
	if out, err := vps.Exec(ctx, "pgrep", "-a", "docker-proxy"); err == nil {
		t.Errorf("docker-proxy runs (userland-proxy is on):\n%s", out)
	}
	out, err := vps.Exec(ctx, "docker", "run", "--rm", "--entrypoint", "grep", image, "NoNewPrivs", "/proc/self/status")
	if err != nil || !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("a container started without options may gain privileges: %v %q", err, out)
	}
}

// checkGuardAfterReboot: after a reboot (every rule and interface gone)
// the guard is back before any container runs: started with Docker, as
// its unit is wanted by docker.service.
func checkGuardAfterReboot(t *testing.T, ctx context.Context, vps *VPS, image, network string) {
	t.Helper()
	if err := vps.StartFakeMetadata(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"", network} {
		if out, err := fromContainer(ctx, vps, image, n); err == nil || strings.Contains(out, fakeUserData) {
			t.Errorf("after a reboot a container on network %q reads the metadata service (err=%v):\n%s", n, err, out)
		}
	}
	log, _ := Docker(ctx, "logs", "--tail", "300", vps.Name)
	if !strings.Contains(log, cloudinit.MetadataGuardUnit+" started (wanted by docker.service)") {
		t.Errorf("the VPS's boot did not start the guard with Docker:\n%s", log)
	}
}
