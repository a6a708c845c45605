// Package sshdeploy reaches a server's Docker engine over SSH, trusting one
// host key only: the docker provider (ssh://user@host:port, which runs the
// system ssh), the commands Pulumi runs on this machine (one-shot jobs,
// image transfers) and the wait for the server's cloud-init all use the
// same private key file, the same known_hosts file holding only the pinned
// host key, and the same options, among them StrictHostKeyChecking=yes.
// The host's address and key may be Pulumi outputs (a server the stack
// provisions), so this works for target ssh and target hetzner alike, from
// a laptop or a CI runner without an SSH agent.
package sshdeploy

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ampledata/temporal-kit/infra/render"
)

// Host is a server reached over SSH.
type Host struct {
	// Address is the server's IP address or host name.
	Address pulumi.StringInput
	Port    int
	User    string
	// HostKey is the server's public host key line ("ssh-ed25519 AAAA..."):
	// the only key SSH accepts from it.
	HostKey pulumi.StringInput
	// PrivateKey is the deploy user's unencrypted OpenSSH private key (secret).
	PrivateKey pulumi.StringInput
	// Triggers make the wait for the server run again when they change
	// (the ID of a provisioned server: a replacement keeps its address).
	Triggers pulumi.Array
	// WaitSeconds bounds the wait for SSH and cloud-init (default 900).
	WaitSeconds int
	// Bootstrap, when set, is the key the server boots with: trusted for
	// the wait and to install HostKey (see Bootstrap), then never again.
	Bootstrap *Bootstrap
}

// Files are where the key and known_hosts are written, one directory per
// stack: stable paths, so the provider's configuration does not change
// between runs. KIT_SSH_DIR overrides the parent directory.
type Files struct {
	Dir, Key, KnownHosts string
	// BootstrapKnownHosts pins the bootstrap key and HostKey, for the wait
	// and the key's installation only (Host.Bootstrap).
	BootstrapKnownHosts string
}

// DirEnv overrides the directory the stacks' SSH files are kept in.
const DirEnv = "KIT_SSH_DIR"

// StackFiles returns the stack's file paths: $KIT_SSH_DIR/<project>/<stack>,
// else <user config dir>/temporal-kit/ssh/<project>/<stack>.
func StackFiles(project, stack string) (Files, error) {
	base := os.Getenv(DirEnv)
	if base == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return Files{}, fmt.Errorf("ssh: no directory for the stack's SSH key (%v); set %s", err, DirEnv)
		}
		base = filepath.Join(cfg, "temporal-kit", "ssh")
	}
	abs, err := filepath.Abs(base)
	if err != nil {
		return Files{}, err
	}
	dir := filepath.Join(abs, project, stack)
	return Files{Dir: dir, Key: filepath.Join(dir, "id_deploy"), KnownHosts: filepath.Join(dir, "known_hosts"),
		BootstrapKnownHosts: filepath.Join(dir, "known_hosts.bootstrap")}, nil
}

// ConnectTimeoutSeconds is SSH's connect timeout.
const ConnectTimeoutSeconds = 15

// Options are the ssh options every connection uses, after -i and the
// known_hosts file: trust the pinned key only (no global known_hosts, no
// learning of new keys), the given key only (no agent, no prompt).
func Options() []string {
	return []string{
		"-o", "StrictHostKeyChecking=yes",
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "PasswordAuthentication=no",
		"-o", "ConnectTimeout=" + strconv.Itoa(ConnectTimeoutSeconds),
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
	}
}

// KnownHostsLine is the known_hosts entry of key (a public key line) for
// address:port; a key ssh could not read is an error, not a line it skips.
func KnownHostsLine(address string, port int, key string) (string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", fmt.Errorf("ssh: host key of %s: %w", address, err)
	}
	return knownhosts.Line([]string{net.JoinHostPort(address, strconv.Itoa(port))}, pub), nil
}

// Target is a connected host: what the renderer needs.
type Target struct {
	Files    Files
	Provider *docker.Provider
	// Ready has waited for SSH and cloud-init (and, with a bootstrap key,
	// installed the stack's host key); every docker resource and command
	// on the host depends on it.
	Ready *local.Command
	// SSH is the shell words of an ssh command to the host (values from
	// Docker.Env), a remote command to follow; Docker runs its docker CLI.
	SSH    string
	Docker render.DockerCLI
	// Opts go on every resource deployed to the host.
	Opts []pulumi.ResourceOption
	// Dest is user@address, Port the SSH port, for messages and triggers.
	Dest pulumi.StringOutput
	Port int
}

// Connect writes the key files, registers the wait for the server and the
// docker provider. name prefixes the resource names.
func Connect(ctx *pulumi.Context, name string, h Host) (*Target, error) {
	if h.Port == 0 {
		h.Port = 22
	}
	if h.WaitSeconds == 0 {
		h.WaitSeconds = 900
	}
	files, err := StackFiles(ctx.Project(), ctx.Stack())
	if err != nil {
		return nil, err
	}
	dir := writeWhenKnown(files, h)
	keyPath, knownHosts := after(dir, files.Key), after(dir, files.KnownHosts)
	dest := pulumi.Sprintf("%s@%s", h.User, h.Address)

	env := pulumi.StringMap{
		"KIT_SSH_KEY":         keyPath,
		"KIT_SSH_KNOWN_HOSTS": knownHosts,
		"KIT_SSH_PORT":        pulumi.String(strconv.Itoa(h.Port)),
		"KIT_SSH_DEST":        dest,
	}
	sshCmd := `ssh -i "$KIT_SSH_KEY" -o "UserKnownHostsFile=$KIT_SSH_KNOWN_HOSTS" -p "$KIT_SSH_PORT" ` + strings.Join(Options(), " ") + ` "$KIT_SSH_DEST"`

	gate, err := waitForHost(ctx, name, h, sshCmd, env, after(dir, files.BootstrapKnownHosts))
	if err != nil {
		return nil, err
	}
	prov, err := dockerProvider(ctx, name, h, keyPath, knownHosts, gate)
	if err != nil {
		return nil, err
	}
	return &Target{
		Files:    files,
		Provider: prov,
		Ready:    gate,
		SSH:      sshCmd,
		Docker:   render.DockerCLI{Command: sshCmd + " docker", Env: env},
		Opts:     []pulumi.ResourceOption{pulumi.Providers(prov), pulumi.DependsOn([]pulumi.Resource{gate})},
		Dest:     dest,
		Port:     h.Port,
	}, nil
}

// writeWhenKnown writes the key files once the values are known (a preview
// of a server not made yet leaves them unknown, and so the provider's
// configuration) and returns their directory. The paths carry the
// dependency, not a secret.
func writeWhenKnown(files Files, h Host) pulumi.StringOutput {
	var bootstrapKey pulumi.StringInput = pulumi.String("")
	if h.Bootstrap != nil {
		bootstrapKey = h.Bootstrap.HostKey
	}
	written := pulumi.All(h.Address, h.HostKey, h.PrivateKey, bootstrapKey).ApplyT(func(v []any) (string, error) {
		addr, key, priv, boot := v[0].(string), v[1].(string), v[2].(string), v[3].(string)
		pinned, err := KnownHostsLine(addr, h.Port, key)
		if err != nil {
			return "", err
		}
		bootstrap := ""
		if boot != "" {
			bootLine, err := KnownHostsLine(addr, h.Port, boot)
			if err != nil {
				return "", err
			}
			bootstrap = bootLine + "\n" + pinned
		}
		if err := writeFiles(files, pinned, bootstrap, priv); err != nil {
			return "", err
		}
		return files.Dir, nil
	}).(pulumi.StringOutput)
	return pulumi.Unsecret(written).(pulumi.StringOutput)
}

// after is path, known once dir's files are written.
func after(dir pulumi.StringOutput, path string) pulumi.StringOutput {
	return dir.ApplyT(func(string) string { return path }).(pulumi.StringOutput)
}

// waitForHost registers the wait for the server and returns what every
// deploy onto the host waits for: the wait, or, with a bootstrap key, the
// installation of the stack's host key.
func waitForHost(ctx *pulumi.Context, name string, h Host, sshCmd string, env pulumi.StringMap,
	bootstrapKnownHosts pulumi.StringOutput) (*local.Command, error) {
	// The script travels in the environment, so a failure's message shows
	// its output, not the whole script.
	waitEnv := pulumi.StringMap{
		"KIT_SSH_WAIT_SECONDS": pulumi.String(strconv.Itoa(h.WaitSeconds)),
		"KIT_SSH_WAIT_SCRIPT":  pulumi.String(strings.Replace(waitScript, "SSH_COMMAND", sshCmd, 1)),
	}
	maps.Copy(waitEnv, env)
	var bootstrapEnv pulumi.StringMap
	if h.Bootstrap != nil {
		// Until the new key is in place the server may present either.
		waitEnv["KIT_SSH_KNOWN_HOSTS"] = bootstrapKnownHosts
		bootstrapEnv = maps.Clone(env)
		bootstrapEnv["KIT_SSH_KNOWN_HOSTS"] = bootstrapKnownHosts
		bootstrapEnv["KIT_SSH_FINAL_KNOWN_HOSTS"] = env["KIT_SSH_KNOWN_HOSTS"]
	}
	triggers := append(pulumi.Array{h.Address, pulumi.Int(h.Port), h.HostKey}, h.Triggers...)
	ready, err := local.NewCommand(ctx, name+"-ready", &local.CommandArgs{
		Create:      pulumi.String(`eval "$KIT_SSH_WAIT_SCRIPT"`),
		Interpreter: pulumi.ToStringArray([]string{"/bin/sh", "-c"}),
		Environment: waitEnv,
		Triggers:    triggers,
	})
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}
	if h.Bootstrap == nil {
		return ready, nil
	}
	return rotate(ctx, name, h, bootstrapEnv, triggers, ready)
}

// dockerProvider is the docker provider over SSH. It connects when it is
// configured: after the gate, so a wrong host key or a server still
// booting is reported by the wait's clear message, not by the provider's
// raw ssh error.
func dockerProvider(ctx *pulumi.Context, name string, h Host, keyPath, knownHosts pulumi.StringOutput,
	gate pulumi.Resource) (*docker.Provider, error) {
	opts := pulumi.StringArray{pulumi.String("-i"), keyPath, pulumi.String("-o"), pulumi.Sprintf("UserKnownHostsFile=%s", knownHosts)}
	for _, o := range Options() {
		opts = append(opts, pulumi.String(o))
	}
	hostPort := pulumi.All(h.Address).ApplyT(func(v []any) string {
		return net.JoinHostPort(v[0].(string), strconv.Itoa(h.Port))
	}).(pulumi.StringOutput)
	prov, err := docker.NewProvider(ctx, name, &docker.ProviderArgs{
		Host:    pulumi.Sprintf("ssh://%s@%s", h.User, hostPort),
		SshOpts: opts,
	}, pulumi.DependsOn([]pulumi.Resource{gate}))
	if err != nil {
		return nil, fmt.Errorf("ssh %s: docker provider: %w", name, err)
	}
	return prov, nil
}

// waitScript waits until the server answers over SSH with the pinned host
// key and the deploy key, cloud-init has finished (where there is one: a
// server of the operator's may have none) and the deploy user reaches
// Docker. A wrong host key or a refused key fails at once, naming them;
// an unreachable server is tried again until KIT_SSH_WAIT_SECONDS.
const waitScript = `deadline=$(( $(date +%s) + KIT_SSH_WAIT_SECONDS )); tries=0; denied=0
remote='if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || { echo "cloud-init failed:"; cloud-init status --long 2>&1; exit 3; }; echo "cloud-init: done"; fi; docker version --format "docker engine {{.Server.Version}}"'
while :; do
  tries=$((tries + 1))
  out=$(SSH_COMMAND "$remote" 2>&1); code=$?
  if [ "$code" -eq 0 ]; then printf '%s\n' "$out"; echo "$KIT_SSH_DEST port $KIT_SSH_PORT ready after $tries attempt(s)"; exit 0; fi
  case "$out" in
  *"Host key verification failed"*|*"REMOTE HOST IDENTIFICATION HAS CHANGED"*)
    printf '%s\n' "$out" | tail -n 5
    echo "ssh: the host key of $KIT_SSH_DEST (port $KIT_SSH_PORT) is not the pinned one: it does not match the stack's host key (sshHostKey; known_hosts $KIT_SSH_KNOWN_HOSTS). Nothing was deployed. Check the server's key (cat /etc/ssh/ssh_host_ed25519_key.pub on its console) and the address; host key checking stays strict."
    exit 1 ;;
  *"Permission denied"*)
    denied=$((denied + 1))
    if [ "$denied" -ge 3 ]; then
      printf '%s\n' "$out" | tail -n 3
      echo "ssh: $KIT_SSH_DEST (port $KIT_SSH_PORT) refuses the deploy key (sshPrivateKey): is its public half in the user's authorized_keys, and is the user right (sshUser)?"
      exit 1
    fi ;;
  esac
  if [ "$code" -ne 255 ]; then
    printf '%s\n' "$out" | tail -n 20
    echo "ssh: $KIT_SSH_DEST (port $KIT_SSH_PORT) is up, but the server is not ready (exit $code): see above (a failed cloud-init: cloud-init status --long, /var/log/cloud-init-output.log; no docker: is the user in the docker group?)"
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    printf '%s\n' "$out" | tail -n 5
    echo "ssh: $KIT_SSH_DEST (port $KIT_SSH_PORT) did not answer within $KIT_SSH_WAIT_SECONDS s ($tries attempts): is the server up, the address right, and SSH open to this machine?"
    exit 1
  fi
  sleep 5
done`

// writeFiles writes the key and known_hosts (and the bootstrap
// known_hosts, when there is one) into files.Dir (0700), each 0600,
// replacing them atomically, and only when their content changed.
func writeFiles(files Files, knownHosts, bootstrapKnownHosts, privateKey string) error {
	if err := os.MkdirAll(files.Dir, 0o700); err != nil {
		return fmt.Errorf("ssh: %w (set %s to a writable directory)", err, DirEnv)
	}
	if err := os.Chmod(files.Dir, 0o700); err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	if !strings.HasSuffix(privateKey, "\n") {
		privateKey += "\n"
	}
	write := map[string]string{files.Key: privateKey, files.KnownHosts: knownHosts + "\n"}
	if bootstrapKnownHosts != "" {
		write[files.BootstrapKnownHosts] = bootstrapKnownHosts + "\n"
	}
	for path, content := range write {
		if err := writeFile(path, content); err != nil {
			return fmt.Errorf("ssh: %w", err)
		}
	}
	return nil
}

func writeFile(path, content string) error {
	if cur, err := os.ReadFile(path); err == nil && string(cur) == content {
		return os.Chmod(path, 0o600)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ErrPassphrase is returned for a private key protected by a passphrase.
var ErrPassphrase = errors.New("the key is protected by a passphrase, which a deploy cannot type (it runs without an agent or a prompt); " +
	"make a deploy key without one: `ssh-keygen -t ed25519 -N '' -f deploy_key`, add deploy_key.pub to the server's deploy user, " +
	"and set the key with `pulumi config set --secret temporal-kit:sshPrivateKey < deploy_key`")

// PublicKeyOf parses an unencrypted private key and returns its public key
// line ("ssh-ed25519 AAAA..."), what the server's authorized_keys holds.
func PublicKeyOf(privateKey string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(privateKey))
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return "", ErrPassphrase
		}
		return "", fmt.Errorf("not an unencrypted private key (%v); write it as the whole file ssh-keygen made (-----BEGIN OPENSSH PRIVATE KEY----- ...): "+
			"`pulumi config set --secret temporal-kit:sshPrivateKey < deploy_key`", err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}
