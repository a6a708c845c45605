// Package vpsring proves the SSH deploy against a simulated VPS: a
// privileged container of the kit's "vps" image (Debian with sshd, Docker
// and cloud-init from Debian's packages) that boots the kit's own
// cloud-init user-data, reached over SSH exactly as a Hetzner server would
// be, with the pinned host key. Its test runs the real `pulumi up` of the
// repository's program with target ssh (infra/deployring's CLI runner).
package vpsring

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/infra/cloudinit"
	"github.com/ampledata/temporal-kit/infra/images"
)

// VPS is one running simulated VPS.
type VPS struct {
	// Name is its container's name, Volume the volume of its /var/lib/docker.
	Name, Volume string
	// Port is the host port its sshd (22) is published on, on 127.0.0.1.
	Port int
	// Privileged is false when the engine could not grant it (see Start).
	Privileged bool
}

// Start creates the VPS with userData as its NoCloud seed and starts it.
// The caller removes it with Remove (also after a failed Start).
func Start(ctx context.Context, name, userData string) (*VPS, error) {
	v := &VPS{Name: name, Volume: name + "-docker"}
	seed, err := os.MkdirTemp("", "kit-vps-seed-")
	if err != nil {
		return v, err
	}
	defer os.RemoveAll(seed)
	for f, content := range map[string]string{"user-data": userData, "meta-data": "instance-id: " + name + "\nlocal-hostname: " + name + "\n"} {
		if err := os.WriteFile(filepath.Join(seed, f), []byte(content), 0o600); err != nil {
			return v, err
		}
	}
	// dockerd runs inside: privileged. /var/lib/docker on a volume:
	// overlay2 works there (not on the container's own overlay root).
	// An engine that lacks a capability itself (this one runs in a
	// container without CAP_SYS_RESOURCE) cannot start a privileged
	// container: then every capability it has, no seccomp or AppArmor
	// profile, and the cgroup hierarchy writable, which is what dockerd
	// inside needs of "privileged".
	common := []string{"--name", name, "--hostname", name, "--label", "temporal-kit.test=vpsring",
		"-v", v.Volume + ":/var/lib/docker", "-p", "127.0.0.1::22"}
	fallback := []string{"--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"}
	for _, mode := range [][]string{{"--privileged"}, fallback} {
		args := append(append(append([]string{"create"}, mode...), common...), images.SimulatedVPS)
		if _, err := Docker(ctx, args...); err != nil {
			return v, err
		}
		if _, err := Docker(ctx, "cp", seed+"/.", name+":/var/lib/cloud/seed/nocloud/"); err != nil {
			return v, err
		}
		_, err := Docker(ctx, "start", name)
		if err == nil {
			v.Privileged = mode[0] == "--privileged"
			break
		}
		if !strings.Contains(err.Error(), "unable to apply caps") || mode[0] != "--privileged" {
			return v, err
		}
		if _, err := Docker(ctx, "rm", "-f", name); err != nil {
			return v, err
		}
	}
	out, err := Docker(ctx, "port", name, "22/tcp")
	if err != nil {
		return v, err
	}
	line := strings.Split(out, "\n")[0]
	if _, err := fmt.Sscanf(line[strings.LastIndex(line, ":")+1:], "%d", &v.Port); err != nil {
		return v, fmt.Errorf("docker port %s: %q: %v", name, out, err)
	}
	return v, nil
}

// WaitBooted waits until cloud-init's last step (the kit's marker) ran.
func (v *VPS) WaitBooted(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := v.Exec(ctx, "test", "-f", cloudinit.Marker); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			logs, _ := Docker(ctx, "logs", "--tail", "40", v.Name)
			return fmt.Errorf("simulated VPS %s: no %s after %s; its log:\n%s", v.Name, cloudinit.Marker, timeout, logs)
		}
		time.Sleep(2 * time.Second)
	}
}

// Exec runs a command in the VPS (as root, not over SSH).
func (v *VPS) Exec(ctx context.Context, args ...string) (string, error) {
	return Docker(ctx, append([]string{"exec", v.Name}, args...)...)
}

// Remove deletes the VPS and its Docker volume (with everything deployed on it).
func (v *VPS) Remove(ctx context.Context) {
	_, _ = Docker(ctx, "rm", "-f", "-v", v.Name)
	_, _ = Docker(ctx, "volume", "rm", "-f", v.Volume)
}

// Docker runs the host's docker CLI and returns its trimmed output.
func Docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// RestartDocker stops dockerd and starts it again, as the engine's own
// restart (an upgrade, a crash) does it: nothing else on the VPS runs.
func (v *VPS) RestartDocker(ctx context.Context) error {
	const script = `pkill -x dockerd || exit 1
i=0; while pgrep -x dockerd >/dev/null; do i=$((i+1)); [ $i -gt 60 ] && { echo "dockerd does not stop"; exit 1; }; sleep 1; done
setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 60 ] && { echo "dockerd does not answer"; exit 1; }; sleep 1; done`
	_, err := v.Exec(ctx, "sh", "-c", script)
	return err
}

// Reboot restarts the VPS's container (a new network namespace: every
// iptables rule and interface is gone, as after a reboot) and waits until
// its init has run the boot through again.
func (v *VPS) Reboot(ctx context.Context, timeout time.Duration) error {
	if _, err := Docker(ctx, "restart", "--time", "60", v.Name); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := v.Exec(ctx, "test", "-f", "/run/simulated-vps.booted"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			logs, _ := Docker(ctx, "logs", "--tail", "40", v.Name)
			return fmt.Errorf("simulated VPS %s: not booted %s after a restart; its log:\n%s", v.Name, timeout, logs)
		}
		time.Sleep(2 * time.Second)
	}
}

// MetadataAddress is where Hetzner's metadata service answers.
const MetadataAddress = "169.254.169.254"

// StartFakeMetadata serves HTTP on MetadataAddress:80 from a network
// namespace of its own inside the VPS, routed as Hetzner's is: the host
// reaches it directly, a container's packets are forwarded by the host
// (through Docker's DOCKER-USER chain). GET /hetzner/v1/userdata answers
// "temporal-kit fake user-data".
func (v *VPS) StartFakeMetadata(ctx context.Context) error {
	// A reboot leaves the namespace's name behind (the file, not the mount).
	const script = `set -eu
ip netns del kit-meta 2>/dev/null || true; rm -f /run/netns/kit-meta
ip netns add kit-meta
ip link add kit-meta0 type veth peer name kit-meta1
ip link set kit-meta1 netns kit-meta
ip addr add 169.254.169.253/30 dev kit-meta0
ip link set kit-meta0 up
ip netns exec kit-meta ip link set lo up
ip netns exec kit-meta ip addr add ` + MetadataAddress + `/30 dev kit-meta1
ip netns exec kit-meta ip link set kit-meta1 up
ip netns exec kit-meta ip route add default via 169.254.169.253
mkdir -p /srv/fake-metadata/hetzner/v1
echo "temporal-kit fake user-data" >/srv/fake-metadata/hetzner/v1/userdata
setsid ip netns exec kit-meta python3 -m http.server 80 --bind ` + MetadataAddress + ` --directory /srv/fake-metadata >/var/log/fake-metadata.log 2>&1 </dev/null &
i=0; until python3 -c 'import urllib.request; urllib.request.urlopen("http://` + MetadataAddress + `/hetzner/v1/userdata", timeout=2)' 2>/dev/null; do
  i=$((i+1)); [ $i -gt 30 ] && { echo "the fake metadata service does not answer"; cat /var/log/fake-metadata.log; exit 1; }; sleep 1
done`
	out, err := v.Exec(ctx, "sh", "-c", script)
	if err != nil {
		return fmt.Errorf("fake metadata service: %v: %s", err, out)
	}
	return nil
}
