package stacks

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH is how the kit reaches a server's Docker engine over SSH: target ssh
// (a server of the operator's, from config) and target hetzner (the address
// and host key come from the provisioned server instead of Host and HostKey).
type SSH struct {
	// Host is the server's address (target ssh).
	Host string
	Port int
	// User is the deploy user: in the docker group, no password, key only.
	User string
	// HostKey is the server's SSH host public key, normalised to
	// "<type> <base64>" (target ssh): the only key SSH trusts for Host.
	HostKey string
	// PrivateKeySet tells whether sshPrivateKey is in the config; the value
	// is read (and parsed) by infra only, as a secret.
	PrivateKeySet bool
	// SwapMB is the size of the swap file cloud-init makes (0: none).
	SwapMB int
}

// DefaultSSHUser is the deploy user cloud-init creates.
const DefaultSSHUser = "deploy"

// maxSwapMB bounds swapMB: a swap file larger than the kit's 4 GB VPS's
// disk share makes no sense, and a typo of a few zeros should be caught.
const maxSwapMB = 32768

// usesSSH tells whether a target deploys over SSH.
func (t Target) usesSSH() bool { return t == TargetSSH || t == TargetHetzner }

func loadSSH(l *loader, target Target) SSH {
	s := SSH{
		Host:   l.str("sshHost", ""),
		Port:   l.integer("sshPort", 22),
		User:   l.str("sshUser", DefaultSSHUser),
		SwapMB: l.integer("swapMB", 2048),
	}
	rawKey := l.str("sshHostKey", "")
	if v, ok := l.secret("sshPrivateKey"); ok && v != "" {
		s.PrivateKeySet = true
	}

	checkPort(l, "sshPort", s.Port)
	if target == TargetHetzner && s.Port != 22 {
		l.fail("sshPort", "%d: the hetzner target's server runs sshd on 22 and its firewall opens only 22; remove the key (it is for target ssh)", s.Port)
	}
	switch {
	case !sshUserRE.MatchString(s.User):
		l.fail("sshUser", "%q is not a user name the kit accepts: use 1-32 lower-case letters, digits, '_' or '-', starting with a letter or '_' (default %s)", s.User, DefaultSSHUser)
	case s.User == "root" && target == TargetHetzner:
		l.fail("sshUser", "root cannot log in on the kit's server (its sshd refuses root logins); use an unprivileged user in the docker group (default %s)", DefaultSSHUser)
	}
	if s.SwapMB < 0 || s.SwapMB > maxSwapMB {
		l.fail("swapMB", "%d is not a swap size the kit accepts: use 0 (no swap) to %d MB (default 2048)", s.SwapMB, maxSwapMB)
	}

	if s.Host != "" && !validHost(s.Host) {
		l.fail("sshHost", "%q is not a host name or IP address; write it like 203.0.113.10 or vps.example.com (no user@, no port: those are sshUser and sshPort)", s.Host)
	}
	if rawKey != "" {
		k, err := ParseHostKey(rawKey)
		if err != nil {
			l.fail("sshHostKey", "%v", err)
		}
		s.HostKey = k
	}

	if target == TargetSSH {
		if s.Host == "" {
			l.fail("sshHost", "required for target ssh: the server's address; set it with `pulumi config set %s:sshHost <ip-or-name>`", Namespace)
		}
		if rawKey == "" {
			l.fail("sshHostKey", "required for target ssh: the server's SSH host public key, the only key the deploy trusts; "+
				"read it on the server (`cat /etc/ssh/ssh_host_ed25519_key.pub`) or from the provider's console, check it, and set it with "+
				"`pulumi config set %s:sshHostKey 'ssh-ed25519 AAAA...'`", Namespace)
		}
	}
	if target.usesSSH() && !s.PrivateKeySet {
		l.fail("sshPrivateKey", "required for target %s: the deploy user's unencrypted private key; make a deploy key with `ssh-keygen -t ed25519 -N '' -f deploy_key` "+
			"and set it with `pulumi config set --secret %s:sshPrivateKey < deploy_key`", target, Namespace)
	}
	return s
}

// sshUserRE is a conservative POSIX user name (Debian's adduser default).
var sshUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

func validHost(h string) bool {
	return net.ParseIP(h) != nil || (len(h) <= 253 && hostnameRE.MatchString(h))
}

// ParseHostKey reads one SSH public key line ("ssh-ed25519 AAAA... comment")
// and returns it as "<type> <base64>", the form a known_hosts entry takes.
// Options, certificates, several keys and DSA keys are refused.
func ParseHostKey(line string) (string, error) {
	line = strings.TrimSpace(line)
	const how = "write it as one public key line like `ssh-ed25519 AAAA...` (the server's /etc/ssh/ssh_host_ed25519_key.pub)"
	if strings.Contains(line, "\n") {
		return "", fmt.Errorf("holds several lines; %s", how)
	}
	if f := strings.Fields(line); len(f) >= 3 && !isKeyType(f[0]) && isKeyType(f[1]) && !strings.Contains(f[0], "=") {
		return "", fmt.Errorf("%q looks like a known_hosts line; leave out the host name (%q): %s", abbreviate(line), f[0], how)
	}
	pub, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", fmt.Errorf("%q is not an SSH public key (%v); %s", abbreviate(line), err, how)
	}
	if len(options) > 0 || len(rest) > 0 {
		return "", fmt.Errorf("%q carries options or more than one key; %s", abbreviate(line), how)
	}
	if _, cert := pub.(*ssh.Certificate); cert {
		return "", fmt.Errorf("is a certificate, not a host key; %s", how)
	}
	if pub.Type() == ssh.KeyAlgoDSA {
		return "", fmt.Errorf("is a DSA key, which OpenSSH no longer accepts; use the server's ed25519 key: %s", how)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), nil
}

func isKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-sha2-") || strings.HasPrefix(s, "sk-")
}

// abbreviate keeps error messages to one readable line.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
