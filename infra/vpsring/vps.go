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
