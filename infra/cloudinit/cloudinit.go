// Package cloudinit renders the kit server's cloud-init user-data: a small,
// stable #cloud-config (a change to it replaces the server) that leaves a
// hardened Debian host with Docker, reachable only over SSH with the keys
// the stack knows. Everything the kit deploys afterwards goes over SSH.
//
// What it does:
//   - the deploy user (the operator's public key, docker group, no password,
//     passwordless sudo, since it has no password to type); root's login locked;
//   - sshd hardened by a drop-in read before Debian's own settings (first
//     match wins): no root login, keys only, only the deploy user; its one
//     host key is the stack's (ssh_keys), every other key is deleted and none
//     generated, so the key the deploy pins is the only one the server shows;
//   - Docker (docker.io), fail2ban (sshd jail on the journal), unattended
//     upgrades of security updates only, from Debian's packages, rebooting
//     at RebootTime when an update needs it (a new kernel);
//   - the engine hardened (daemon.json): no userland proxy, no traffic
//     between containers on the default bridge, no-new-privileges for
//     every container, containers kept across an engine restart;
//   - the metadata guard (MetadataGuard): containers cannot reach
//     169.254.0.0/16, where the metadata service serves this user-data;
//   - a swap file; Docker and journald log limits;
//   - the data volume (PostgreSQL and the kit's backups) formatted if blank,
//     mounted by its stable device path with nofail at DataDir, and Docker's
//     data root on it (see DockerDataRoot);
//   - a marker file written last (Marker), beside `cloud-init status --wait`.
package cloudinit

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra/hostkey"
)

const (
	// DataDir is where the data volume is mounted.
	DataDir = "/mnt/kit-data"
	// DockerDataRoot is Docker's data root when a volume is given: on the
	// volume, so the engine's whole state (named volumes with PostgreSQL's
	// data and the backups, images, containers, networks) survives a
	// server replacement, and nothing needs to know which Docker volume
	// is which. dockerd waits for the mount (RequiresMountsFor): without
	// the volume Docker does not start, rather than fill the root disk.
	DockerDataRoot = DataDir + "/docker"
	// Marker is written as cloud-init's last step.
	Marker = "/var/lib/temporal-kit/cloud-init.done"
	// SSHDropIn is the sshd configuration drop-in.
	SSHDropIn = "/etc/ssh/sshd_config.d/00-temporal-kit.conf"
	// SwapFile is the swap file's path.
	SwapFile = "/swapfile"
	// MetadataGuard is the script that makes containers unable to reach the
	// link-local range (the metadata service at 169.254.169.254 serves this
	// user-data to anyone who asks); MetadataGuardUnit runs it whenever
	// Docker starts (boot, restart).
	MetadataGuard     = "/usr/local/sbin/temporal-kit-metadata-guard"
	MetadataGuardUnit = "temporal-kit-metadata-guard.service"
	// LinkLocal is what containers may not reach.
	LinkLocal = "169.254.0.0/16"
	// RebootTime is when unattended-upgrades reboots the server after an
	// update that needs it (a kernel, libc), in the server's time zone
	// (UTC on Hetzner's images): the quietest hour for a European team.
	RebootTime = "03:30"
)

// Params are the server's inputs.
type Params struct {
	// User is the deploy user (stacks: sshUser).
	User string
	// AuthorizedKey is the operator's (or CI's) public key line for User.
	AuthorizedKey string
	// HostKey becomes the server's ed25519 SSH host key.
	HostKey hostkey.Pair
	// SwapMB is the swap file's size; 0 makes none.
	SwapMB int
	// VolumeDevice is the data volume's stable device path
	// (/dev/disk/by-id/scsi-0HC_Volume_<id> on Hetzner); empty keeps the
	// data on the root disk.
	VolumeDevice string
}

var (
	userRE   = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	deviceRE = regexp.MustCompile(`^/dev/[A-Za-z0-9._:/-]+$`)
)

func (p Params) check() (authorized string, err error) {
	if !userRE.MatchString(p.User) || p.User == "root" {
		return "", fmt.Errorf("cloud-init: deploy user %q: use a lower-case user name other than root", p.User)
	}
	pub, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(p.AuthorizedKey))
	if err != nil || len(opts) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return "", fmt.Errorf("cloud-init: the deploy user's public key is not one SSH public key line (%v)", err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(p.HostKey.Private))
	if err != nil {
		return "", fmt.Errorf("cloud-init: host private key: %w", err)
	}
	hostPub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(p.HostKey.Public))
	if err != nil {
		return "", fmt.Errorf("cloud-init: host public key: %w", err)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 || !bytes.Equal(signer.PublicKey().Marshal(), hostPub.Marshal()) {
		return "", fmt.Errorf("cloud-init: the host key must be one ed25519 key pair (private and public halves of the same key)")
	}
	if p.SwapMB < 0 {
		return "", fmt.Errorf("cloud-init: swap %d MB", p.SwapMB)
	}
	if p.VolumeDevice != "" && !deviceRE.MatchString(p.VolumeDevice) {
		return "", fmt.Errorf("cloud-init: volume device %q is not a /dev path", p.VolumeDevice)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), nil
}

// The cloud-config document; field order is output order.
type config struct {
	Users         []user     `yaml:"users"`
	DisableRoot   bool       `yaml:"disable_root"`
	SSHPwauth     bool       `yaml:"ssh_pwauth"`
	SSHDeleteKeys bool       `yaml:"ssh_deletekeys"`
	SSHGenKeys    []string   `yaml:"ssh_genkeytypes"`
	SSHKeys       sshKeys    `yaml:"ssh_keys"`
	Bootcmd       [][]string `yaml:"bootcmd"`
	FSSetup       []fsSetup  `yaml:"fs_setup,omitempty"`
	Mounts        [][]string `yaml:"mounts,omitempty"`
	Swap          *swap      `yaml:"swap,omitempty"`
	WriteFiles    []file     `yaml:"write_files"`
	PackageUpdate bool       `yaml:"package_update"`
	PackageUpgr   bool       `yaml:"package_upgrade"`
	Packages      []string   `yaml:"packages"`
	Runcmd        [][]string `yaml:"runcmd"`
}

type user struct {
	Name              string   `yaml:"name"`
	Groups            []string `yaml:"groups"`
	Shell             string   `yaml:"shell"`
	LockPasswd        bool     `yaml:"lock_passwd"`
	Sudo              string   `yaml:"sudo"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

type sshKeys struct {
	Ed25519Private string `yaml:"ed25519_private"`
	Ed25519Public  string `yaml:"ed25519_public"`
}

type fsSetup struct {
	Device     string `yaml:"device"`
	Filesystem string `yaml:"filesystem"`
	Label      string `yaml:"label"`
	Overwrite  bool   `yaml:"overwrite"`
}

type swap struct {
	Filename string `yaml:"filename"`
	Size     int64  `yaml:"size"`
	Maxsize  int64  `yaml:"maxsize"`
}

type file struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Content     string `yaml:"content"`
}

// Render returns the user-data for p: "#cloud-config" and YAML, the same
// bytes for the same p.
func Render(p Params) (string, error) {
	authorized, err := p.check()
	if err != nil {
		return "", err
	}
	c := config{
		Users: []user{{
			Name:              p.User,
			Groups:            []string{"docker"},
			Shell:             "/bin/bash",
			LockPasswd:        true,
			Sudo:              "ALL=(ALL) NOPASSWD:ALL",
			SSHAuthorizedKeys: []string{authorized},
		}},
		DisableRoot:   true,
		SSHPwauth:     false,
		SSHDeleteKeys: true,
		// Only ed25519, which ssh_keys provides, so nothing is generated.
		SSHGenKeys: []string{"ed25519"},
		SSHKeys: sshKeys{
			Ed25519Private: strings.TrimRight(p.HostKey.Private, "\n") + "\n",
			Ed25519Public:  strings.TrimSpace(p.HostKey.Public),
		},
		// users-groups runs before the docker.io package exists: a system
		// group made first is the one the package then keeps.
		Bootcmd:    bootcmd(p),
		WriteFiles: files(p),
		// Security updates are installed at once, then daily by unattended-upgrades.
		PackageUpdate: true,
		PackageUpgr:   true,
		Packages:      []string{"docker.io", "fail2ban", "python3-systemd", "unattended-upgrades"},
		Runcmd: [][]string{
			{"systemctl", "restart", "systemd-journald"},
			// The guard runs now (Docker was installed and started by the
			// packages step) and from now on whenever Docker starts.
			{"systemctl", "daemon-reload"},
			{"systemctl", "enable", "--now", MetadataGuardUnit},
			{"sh", "-c", "mkdir -p " + dir(Marker) + " && date -u +%Y-%m-%dT%H:%M:%SZ >" + Marker},
		},
	}
	if p.SwapMB > 0 {
		b := int64(p.SwapMB) << 20
		c.Swap = &swap{Filename: SwapFile, Size: b, Maxsize: b}
	}
	if p.VolumeDevice != "" {
		// Formatted only when blank: a volume that outlived a server keeps its data.
		c.FSSetup = []fsSetup{{Device: p.VolumeDevice, Filesystem: "ext4", Label: "kit-data", Overwrite: false}}
		c.Mounts = [][]string{{p.VolumeDevice, DataDir, "ext4", "defaults,nofail,discard", "0", "2"}}
	}
	return c.marshal()
}

// marshal writes the "#cloud-config" header and c as YAML.
func (c config) marshal() (string, error) {
	var b bytes.Buffer
	b.WriteString("#cloud-config\n# temporal-kit server (infra/cloudinit); a change to this file replaces the server.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("cloud-init: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("cloud-init: %w", err)
	}
	return b.String(), nil
}

func dir(p string) string { return p[:strings.LastIndex(p, "/")] }

// daemonJSON is Docker's daemon.json. userland-proxy false: published
// ports are iptables rules, not a docker-proxy process per port that
// hides the client's address; icc false: containers on the default
// bridge do not reach each other (the kit's services are on user-defined
// networks, which icc does not govern); no-new-privileges: no setuid
// binary raises a container process's privileges; live-restore: an
// engine restart (an upgrade) leaves the containers running.
func daemonJSON(p Params) string {
	daemon := `{
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "3"},
  "live-restore": true,
  "userland-proxy": false,
  "icc": false,
  "no-new-privileges": true`
	if p.VolumeDevice != "" {
		daemon += `,
  "data-root": "` + DockerDataRoot + `"`
	}
	return daemon + "\n}\n"
}

func files(p Params) []file {
	fs := []file{
		{Path: SSHDropIn, Permissions: "0644", Content: sshdConfig(p.User)},
		// Written before the package is installed: dockerd starts with it.
		{Path: "/etc/docker/daemon.json", Permissions: "0644", Content: daemonJSON(p)},
		{Path: MetadataGuard, Permissions: "0755", Content: metadataGuard},
		{Path: "/etc/systemd/system/" + MetadataGuardUnit, Permissions: "0644", Content: metadataGuardUnit},
		{Path: "/etc/systemd/journald.conf.d/temporal-kit.conf", Permissions: "0644", Content: "[Journal]\nSystemMaxUse=500M\nSystemMaxFileSize=50M\nMaxRetentionSec=1month\n"},
		// Debian 12 logs sshd to the journal only: the jail reads it there.
		{Path: "/etc/fail2ban/jail.d/temporal-kit.local", Permissions: "0644", Content: "[sshd]\nenabled = true\nbackend = systemd\nmaxretry = 5\nfindtime = 10m\nbantime = 1h\n"},
		{Path: "/etc/apt/apt.conf.d/20auto-upgrades", Permissions: "0644", Content: "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n"},
		// Debian's default list also takes point releases: security only.
		{Path: "/etc/apt/apt.conf.d/52temporal-kit-unattended-upgrades", Permissions: "0644", Content: `// temporal-kit: unattended upgrades install security updates only.
#clear Unattended-Upgrade::Origins-Pattern;
Unattended-Upgrade::Origins-Pattern {
	"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
	"origin=Debian,codename=${distro_codename},label=Debian-Security";
};
// A kernel update is not in force until a reboot: take it at a set time.
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-WithUsers "true";
Unattended-Upgrade::Automatic-Reboot-Time "` + RebootTime + `";
`},
	}
	if p.VolumeDevice != "" {
		fs = append(fs, file{Path: "/etc/systemd/system/docker.service.d/temporal-kit.conf", Permissions: "0644",
			Content: "# Docker's data root is on the data volume: no volume, no Docker.\n[Unit]\nRequiresMountsFor=" + DataDir + "\n"})
	}
	return fs
}

// metadataGuard drops, in Docker's DOCKER-USER chain (which Docker creates
// if missing, jumps to first from FORWARD and never flushes), whatever a
// container sends to the link-local range: on Hetzner that is the
// metadata service, which serves this user-data. The host's own traffic
// (OUTPUT) is not forwarded and still reaches it. Idempotent: the rule is
// deleted before it is inserted first in the chain.
const metadataGuard = `#!/bin/sh
# temporal-kit (cloud-init): containers cannot reach ` + LinkLocal + ` (the metadata service).
set -eu
iptables -w -N DOCKER-USER 2>/dev/null || true
while iptables -w -D DOCKER-USER -d ` + LinkLocal + ` -m comment --comment temporal-kit-metadata-guard -j DROP 2>/dev/null; do :; done
iptables -w -I DOCKER-USER 1 -d ` + LinkLocal + ` -m comment --comment temporal-kit-metadata-guard -j DROP
`

// metadataGuardUnit runs the guard before Docker starts (no container
// runs unguarded after a reboot) and again with every start of Docker
// (PartOf: a restart of docker.service restarts it too).
const metadataGuardUnit = `[Unit]
Description=temporal-kit: containers cannot reach the metadata service
Before=docker.service
PartOf=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + MetadataGuard + `

[Install]
WantedBy=docker.service
`

// sshdConfig is read before Debian's sshd_config and cloud-init's drop-in:
// sshd keeps the first value of each keyword.
func sshdConfig(user string) string {
	return `# temporal-kit (cloud-init): keys only, no root, only ` + user + `.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
AuthenticationMethods publickey
AllowUsers ` + user + `
MaxAuthTries 3
LoginGraceTime 30
X11Forwarding no
AllowAgentForwarding no
`
}

// VolumeWaitSeconds bounds the first boot's wait for the data volume.
const VolumeWaitSeconds = 180

// bootcmd runs first, on every boot. The docker group is made before
// users-groups runs (the docker.io package then keeps it). Hetzner attaches
// the volume only once the server exists, so at first boot its device
// appears a little after cloud-init starts: disk setup, the mount and
// Docker's install (its data root is on the volume) wait for it, bounded,
// so a server without its volume still comes up and is reachable over SSH.
func bootcmd(p Params) [][]string {
	cmds := [][]string{{"sh", "-c", "getent group docker >/dev/null || groupadd --system docker"}}
	if p.VolumeDevice != "" {
		cmds = append(cmds, []string{"sh", "-c", fmt.Sprintf(
			"i=0; while [ ! -b %s ] && [ $i -lt %d ]; do sleep 1; i=$((i+1)); done", p.VolumeDevice, VolumeWaitSeconds)})
	}
	return cmds
}
