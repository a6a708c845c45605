package sshdeploy

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Bootstrap is a host key the server boots with and the deploy replaces.
// A Hetzner server's user-data carries its first host key, and the
// metadata service serves the user-data to every process on the server
// for its whole life: the deploy trusts that key only to install
// Host.HostKey, then checks the server presents the new key and no longer
// the first one, which then authenticates nothing.
type Bootstrap struct {
	// HostKey is the public key line the server boots with.
	HostKey pulumi.StringInput
	// NewPrivateKey is the private half of Host.HostKey (secret): sent over
	// SSH (pinned to HostKey or Host.HostKey) to the server, never put in
	// its user-data.
	NewPrivateKey pulumi.StringInput
}

// RotateSuffix names the command that installs the new host key: "<name>-host-key".
const RotateSuffix = "-host-key"

// rotate registers the command that replaces the bootstrap host key with
// h.HostKey, after the wait (ready), over the connection the wait used
// (known_hosts with both keys: a rerun after a rotation, or after one cut
// short, still connects). It reads the private key on stdin.
func rotate(ctx *pulumi.Context, name string, h Host, env pulumi.StringMap, triggers pulumi.Array, ready pulumi.Resource) (*local.Command, error) {
	e := pulumi.StringMap{
		"KIT_HOST_KEY_PUBLIC":    h.HostKey,
		"KIT_HOST_KEY_BOOTSTRAP": h.Bootstrap.HostKey,
		"KIT_SSH_ROTATE_SCRIPT":  pulumi.String(RotateScript()),
	}
	for k, v := range env {
		e[k] = v
	}
	cmd, err := local.NewCommand(ctx, name+RotateSuffix, &local.CommandArgs{
		Create:      pulumi.String(`eval "$KIT_SSH_ROTATE_SCRIPT"`),
		Interpreter: pulumi.ToStringArray([]string{"/bin/sh", "-c"}),
		Environment: e,
		Stdin:       h.Bootstrap.NewPrivateKey.ToStringOutput().ToStringPtrOutput(),
		Triggers:    triggers,
	}, pulumi.DependsOn([]pulumi.Resource{ready}))
	if err != nil {
		return nil, fmt.Errorf("ssh %s: host key: %w", name, err)
	}
	return cmd, nil
}

// RotateScript is the script the host key command runs with /bin/sh -c,
// the new private key on stdin, in an environment of KIT_SSH_KEY,
// KIT_SSH_PORT, KIT_SSH_DEST, KIT_SSH_KNOWN_HOSTS (the bootstrap and the
// new key), KIT_SSH_FINAL_KNOWN_HOSTS (the new key only),
// KIT_HOST_KEY_PUBLIC (the new key's line) and KIT_HOST_KEY_BOOTSTRAP.
func RotateScript() string {
	return strings.NewReplacer("SSH_OPTIONS", strings.Join(Options(), " "), "REMOTE_SCRIPT", remoteInstallScript).Replace(rotateScript)
}

// remoteInstallScript runs on the server as the deploy user (sudo without
// a password, as cloud-init makes it), the new private key on stdin, the
// new public key's type and base64 as $1 $2. It checks the key it got is
// that one, installs it atomically (root, 0600) unless it is in place,
// and has sshd reload its host keys (new connections get the new key).
// It travels in single quotes: it has none itself.
const remoteInstallScript = `set -eu
want="$1 $2"; f=/etc/ssh/ssh_host_ed25519_key
tmp=$(sudo mktemp /etc/ssh/.temporal-kit-host-key.XXXXXX)
trap "sudo rm -f $tmp" EXIT
sudo tee "$tmp" >/dev/null
got=$(sudo ssh-keygen -y -f "$tmp" | cut -d" " -f1,2)
[ "$got" = "$want" ] || { echo "the private key sent is not the half of the stack host key"; exit 1; }
if [ "$(sudo ssh-keygen -y -f "$f" 2>/dev/null | cut -d" " -f1,2)" = "$want" ]; then echo "host key: already in place"; exit 0; fi
sudo mv -f "$tmp" "$f"
printf "%s temporal-kit-host\n" "$want" | sudo tee "$f.pub" >/dev/null
sudo chmod 0644 "$f.pub"
sudo systemctl reload ssh
echo "host key: installed"`

// rotateScript installs the new key over the bootstrap connection, then
// checks over SSH that the server presents the new key and that the
// bootstrap key no longer authenticates it.
const rotateScript = `set -u
to() { kh=$1; shift; ssh -i "$KIT_SSH_KEY" -o "UserKnownHostsFile=$kh" -p "$KIT_SSH_PORT" SSH_OPTIONS "$KIT_SSH_DEST" "$@"; }
set -- $KIT_HOST_KEY_PUBLIC
remote='REMOTE_SCRIPT'
if ! out=$(to "$KIT_SSH_KNOWN_HOSTS" "sh -c '$remote' install $1 $2" 2>&1); then
  printf '%s\n' "$out" | tail -n 10
  echo "ssh: could not install the stack's host key on $KIT_SSH_DEST (port $KIT_SSH_PORT): see above; nothing was deployed (Host key verification failed: the server presents neither the bootstrap key of its user-data nor the stack's key)"
  exit 1
fi
printf '%s\n' "$out"
i=0
until check=$(to "$KIT_SSH_FINAL_KNOWN_HOSTS" true </dev/null 2>&1); do
  i=$((i + 1))
  if [ "$i" -ge 10 ]; then
    printf '%s\n' "$check" | tail -n 5
    echo "ssh: $KIT_SSH_DEST (port $KIT_SSH_PORT) does not present the stack's host key after installing it"
    exit 1
  fi
  sleep 1
done
old=$(mktemp); trap 'rm -f "$old"' EXIT
case "$KIT_SSH_PORT" in 22) h=${KIT_SSH_DEST#*@} ;; *) h="[${KIT_SSH_DEST#*@}]:$KIT_SSH_PORT" ;; esac
printf '%s %s\n' "$h" "$KIT_HOST_KEY_BOOTSTRAP" >"$old"
if check=$(to "$old" true </dev/null 2>&1) || ! printf '%s' "$check" | grep -q "Host key verification failed"; then
  printf '%s\n' "$check" | tail -n 5
  echo "ssh: $KIT_SSH_DEST (port $KIT_SSH_PORT) still accepts a connection pinned to the bootstrap host key (the one in its user-data)"
  exit 1
fi
echo "ssh: $KIT_SSH_DEST presents the stack's host key; the key in its user-data no longer authenticates it"`
