package stacks

import (
	"maps"
	"slices"
	"strings"
	"unicode"
)

// Secrets reach containers as files, never as env values: `docker inspect`
// would show an env value, and Pulumi's docker provider, which takes no
// secrets, would hide a container's whole env list from every diff. One
// one-shot job per secret writes it into a volume they share; the services
// that need a secret mount the volume read-only, name the file in an env
// var, and follow that secret's job only, so a changed SERP key restarts the
// worker and not the database.
const (
	VolumeSecrets = "secrets"
	// SecretsDir is where services find the secret files.
	SecretsDir   = "/run/temporal-kit/secrets"
	secretsInDir = kitScriptsDir + "/secrets-in"
	// secretJobPrefix starts the name of each secret's job.
	secretJobPrefix = "secret-"
)

// SecretJob is the name of the one-shot service that writes the named secret.
func SecretJob(secret string) string {
	var b strings.Builder
	b.WriteString(secretJobPrefix)
	for _, r := range secret {
		if unicode.IsUpper(r) {
			b.WriteByte('-')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SecretPath is the file holding the named secret inside a service.
func SecretPath(name string) string { return SecretsDir + "/" + name }

// SecretFileEnv returns, for each env var of s naming a secret file (by
// convention VAR_FILE=SecretPath(secret), or Grafana's VAR__FILE), the
// variable the file stands for (VAR) and the secret's name. In-process runs of a service's code,
// which cannot read the container's files, set VAR instead.
func (s Service) SecretFileEnv() map[string]string {
	out := map[string]string{}
	for _, e := range s.Env {
		name, ok := strings.CutPrefix(e.Value, SecretsDir+"/")
		if e.Secret == "" && ok && strings.HasSuffix(e.Name, "_FILE") {
			v := strings.TrimSuffix(e.Name, "_FILE")
			out[strings.TrimSuffix(v, "_")] = name
		}
	}
	return out
}

// writeSecretScript copies one secret file into the volume, atomically,
// readable by the services' users (they run as several uids; only the
// stack's own containers mount the volume).
const writeSecretScript = `set -eu
tmp="` + SecretsDir + `/.$KIT_SECRET.tmp"
cp "` + secretsInDir + `/$KIT_SECRET" "$tmp"
chmod 0444 "$tmp"
mv -f "$tmp" "` + SecretsDir + `/$KIT_SECRET"
echo "secret $KIT_SECRET written"`

// secretJob writes one secret into the secrets volume. A changed secret
// changes its file, so the job runs anew, and the services that read the
// secret follow it (Dependency.Recreate).
func secretJob(c Config, secret string) Service {
	return Service{
		Name:    SecretJob(secret),
		Kind:    OneShot,
		Image:   c.Images.TemporalAdminTools,
		User:    "root", // the fresh volume belongs to root
		Command: []string{"sh", "-c", writeSecretScript},
		Env:     []EnvVar{{Name: "KIT_SECRET", Value: secret}},
		Files:   []File{{Path: secretsInDir + "/" + secret, Secret: secret, Mode: 0o400}},
		Mounts:  []Mount{{Volume: VolumeSecrets, Target: SecretsDir}},
		// Copies one small file: no knob for it in the stack config.
		MemoryMB: 64,
	}
}

// readsSecrets gives s the secrets volume, read-only, and makes it start
// after, and be recreated with, the jobs of the secrets its env names.
func readsSecrets(s Service) Service {
	s.Mounts = append(s.Mounts, Mount{Volume: VolumeSecrets, Target: SecretsDir, ReadOnly: true})
	names := slices.Sorted(maps.Values(s.SecretFileEnv()))
	for _, n := range slices.Compact(names) {
		s.DependsOn = append(s.DependsOn, Dependency{Service: SecretJob(n), Condition: Completed, Recreate: true})
	}
	return s
}
