package stacks

import (
	"sort"
	"strings"
)

// Secrets reach containers as files, never as env values: `docker inspect`
// would show an env value, and Pulumi's docker provider, which takes no
// secrets, would hide a container's whole env list from every diff. A
// one-shot job writes each secret into a volume of its own; the services
// that need one mount it read-only and name the file in an env var.
const (
	ServiceSecrets = "secrets"
	VolumeSecrets  = "secrets"
	// SecretsDir is where services find the secret files.
	SecretsDir   = "/run/temporal-kit/secrets"
	secretsInDir = kitScriptsDir + "/secrets-in"
)

// SecretPath is the file holding the named secret inside a service.
func SecretPath(name string) string { return SecretsDir + "/" + name }

// SecretFileEnv returns, for each env var of s naming a secret file (by
// convention VAR_FILE=SecretPath(secret)), the variable the file stands
// for (VAR) and the secret's name. In-process runs of a service's code,
// which cannot read the container's files, set VAR instead.
func (s Service) SecretFileEnv() map[string]string {
	out := map[string]string{}
	for _, e := range s.Env {
		name, ok := strings.CutPrefix(e.Value, SecretsDir+"/")
		if e.Secret == "" && ok && strings.HasSuffix(e.Name, "_FILE") {
			out[strings.TrimSuffix(e.Name, "_FILE")] = name
		}
	}
	return out
}

// writeSecretsScript copies each secret file into the volume, atomically,
// readable by the services' users (they run as several uids; only the
// stack's own containers mount the volume).
const writeSecretsScript = `set -eu
for f in ` + secretsInDir + `/*; do
	n=$(basename "$f")
	cp "$f" "` + SecretsDir + `/.$n.tmp"
	chmod 0444 "` + SecretsDir + `/.$n.tmp"
	mv -f "` + SecretsDir + `/.$n.tmp" "` + SecretsDir + `/$n"
	echo "secret $n written"
done`

// secretsJob writes every secret of the stack into the secrets volume. A
// changed secret changes its files, so the job runs anew, and services
// that read secrets follow it (Dependency.Recreate).
func secretsJob(c Config, secrets []Secret) Service {
	var files []File
	names := make([]string, 0, len(secrets))
	for _, s := range secrets {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, File{Path: secretsInDir + "/" + n, Secret: n, Mode: 0o400})
	}
	return Service{
		Name:    ServiceSecrets,
		Kind:    OneShot,
		Image:   c.Images.TemporalAdminTools,
		User:    "root", // the fresh volume belongs to root
		Command: []string{"sh", "-c", writeSecretsScript},
		Files:   files,
		Mounts:  []Mount{{Volume: VolumeSecrets, Target: SecretsDir}},
		// Copies a few small files: no knob for it in the stack config.
		MemoryMB: 64,
	}
}

// readsSecrets gives s the secrets volume, read-only, and makes it start
// after, and be recreated with, the job that writes it.
func readsSecrets(s Service) Service {
	s.Mounts = append(s.Mounts, Mount{Volume: VolumeSecrets, Target: SecretsDir, ReadOnly: true})
	s.DependsOn = append(s.DependsOn, Dependency{Service: ServiceSecrets, Condition: Completed, Recreate: true})
	return s
}
