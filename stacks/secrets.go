package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Secrets reach containers as files, never as env values: `docker inspect`
// would show an env value, and Pulumi's docker provider, which takes no
// secrets, would hide a container's whole env list from every diff.
//
// Each service that reads secrets gets a volume of its own, which no other
// container mounts, and a one-shot job that writes into it the secrets
// that service's config names, and only those, owned by the user the
// service reads them as, mode 0440. So the internet-facing proxy holds its
// password and nothing else, and the worker, which parses hostile HTML,
// cannot read the keys that could delete the off-site backups. Docker's
// file upload cannot do this: it writes every file as root.
//
// The service follows its job (Dependency.Recreate): a changed SERP key
// runs the worker's job anew and recreates the worker, not the database.
const (
	// SecretsDir is where services find their secret files.
	SecretsDir   = "/run/temporal-kit/secrets"
	secretsInDir = kitScriptsDir + "/secrets-in"
	// secretsPrefix starts the name of each service's secrets job and volume.
	secretsPrefix = "secrets-"
)

// SecretsJob is the name of the one-shot service that writes the named
// service's secrets.
func SecretsJob(service string) string { return secretsPrefix + service }

// SecretsVolume is the name of the volume holding the named service's secrets.
func SecretsVolume(service string) string { return secretsPrefix + service }

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

// Owner is a numeric user and group.
type Owner struct{ UID, GID int }

func (o Owner) String() string { return strconv.Itoa(o.UID) + ":" + strconv.Itoa(o.GID) }

// imageUsers is who reads a service's secret files: the user its image
// runs the process as, the official image and the kit's local build alike
// (infra/images/recipes). A service whose User is numeric uses that instead.
var imageUsers = map[string]Owner{
	// The entrypoints read the files as root, then drop to postgres (999),
	// which then needs none of them.
	ServicePostgres: {0, 0},
	// temporalio/server and temporalio/admin-tools: temporal.
	ServiceSchema:   {1000, 1000},
	ServiceTemporal: {1000, 1000},
	ServiceWorker:   {10001, 10001},
	ServiceBackup:   {10002, 10002},
	// grafana/grafana: grafana, in group root.
	ServiceGrafana: {472, 0},
	// caddy runs as root; its start script hashes the password.
	ServiceProxy: {0, 0},
	// prom/alertmanager and the postgres exporter: nobody.
	ServiceAlertmanager:     {65534, 65534},
	ServicePostgresExporter: {65534, 65534},
}

// SecretOwner is the user that reads the service's secret files: its
// numeric User ("uid" or "uid:gid"), root for "root", else its image's user.
func SecretOwner(s Service) (Owner, bool) {
	if s.User == "root" {
		return Owner{0, 0}, true
	}
	uid, gid, hasGID := strings.Cut(s.User, ":")
	if u, err := strconv.Atoi(uid); err == nil && u >= 0 {
		g := u
		if hasGID {
			if g, err = strconv.Atoi(gid); err != nil || g < 0 {
				return Owner{}, false
			}
		}
		return Owner{u, g}, true
	}
	o, ok := imageUsers[s.Name]
	return o, ok
}

// readsSecrets declares the secrets s reads: those its env names as files.
// giveSecrets, at the end of Build, delivers them.
func readsSecrets(s Service) Service {
	s.Secrets = slices.Compact(slices.Sorted(maps.Values(s.SecretFileEnv())))
	return s
}

// giveSecrets gives each service that reads secrets its own volume,
// read-only, and the job that fills it; the service starts after the job
// and is recreated with it. It runs once every service is complete, so the
// owner follows the service's final User.
func giveSecrets(c Config, d *Definition) error {
	var jobs []Service
	for i := range d.Services {
		s := &d.Services[i]
		if len(s.Secrets) == 0 {
			continue
		}
		owner, ok := SecretOwner(*s)
		if !ok {
			return fmt.Errorf("service %s reads secrets %v but runs as an unknown user; give it a numeric User (uid:gid) or add its image's user to imageUsers", s.Name, s.Secrets)
		}
		for _, n := range s.Secrets {
			if _, ok := d.Secret(n); !ok {
				return fmt.Errorf("service %s reads secret %q, which the Definition does not have", s.Name, n)
			}
		}
		d.Volumes = append(d.Volumes, Volume{Name: SecretsVolume(s.Name), Discard: true})
		jobs = append(jobs, secretsJob(c, s.Name, s.Secrets, owner))
		s.Mounts = append(s.Mounts, Mount{Volume: SecretsVolume(s.Name), Target: SecretsDir, ReadOnly: true})
		s.DependsOn = append(s.DependsOn, Dependency{Service: SecretsJob(s.Name), Condition: Completed, Recreate: true})
	}
	for i := range jobs {
		applyDefaults(c, &jobs[i])
	}
	d.Services = append(d.Services, jobs...)
	return nil
}

// writeSecretsScript copies the service's secrets into its volume, each
// atomically, owned by KIT_SECRETS_OWNER (uid:gid), mode 0440, in a
// directory only root and that group can enter; files of secrets the
// service no longer reads are removed.
const writeSecretsScript = `set -eu
dir="` + SecretsDir + `"
chown "0:${KIT_SECRETS_OWNER#*:}" "$dir"
chmod 0750 "$dir"
for name in $KIT_SECRETS; do
	tmp="$dir/.$name.tmp"
	cp "` + secretsInDir + `/$name" "$tmp"
	chown "$KIT_SECRETS_OWNER" "$tmp"
	chmod 0440 "$tmp"
	mv -f "$tmp" "$dir/$name"
done
for f in "$dir"/* "$dir"/.[!.]*; do
	[ -e "$f" ] || continue
	case " $KIT_SECRETS " in *" ${f##*/} "*) ;; *) rm -f "$f" ;; esac
done
echo "secrets of $KIT_SECRETS_FOR written for $KIT_SECRETS_OWNER: $KIT_SECRETS"`

// secretsJob writes the named secrets into the service's secrets volume. A
// changed secret changes the job's files, so the job runs anew, and the
// service, which follows it, is recreated.
func secretsJob(c Config, service string, secrets []string, owner Owner) Service {
	files := make([]File, 0, len(secrets))
	for _, n := range secrets {
		files = append(files, File{Path: secretsInDir + "/" + n, Secret: n, Mode: 0o400})
	}
	return Service{
		Name:    SecretsJob(service),
		Kind:    OneShot,
		Image:   c.Images.TemporalAdminTools,
		User:    "root", // the fresh volume belongs to root; chown needs it
		Command: []string{"sh", "-c", writeSecretsScript},
		Env: []EnvVar{
			{Name: "KIT_SECRETS", Value: strings.Join(secrets, " ")},
			{Name: "KIT_SECRETS_FOR", Value: service},
			{Name: "KIT_SECRETS_OWNER", Value: owner.String()},
		},
		Files:  files,
		Mounts: []Mount{{Volume: SecretsVolume(service), Target: SecretsDir}},
		// Copies a few small files: no knob for it in the stack config.
		MemoryMB: 64,
	}
}
