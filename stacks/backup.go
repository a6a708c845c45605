package stacks

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/ampledata/temporal-kit/backup/retention"
	"github.com/ampledata/temporal-kit/backup/schedule"
)

// The backup service: the kit's own program (backup/) on the Debian
// PostgreSQL client, dumping every database the stack holds.
const (
	ServiceBackup = "backup"
	VolumeBackups = "backups"
	// BackupDir is where the backups volume is mounted in the service.
	BackupDir = "/backups"
	// PortBackupMetrics serves /healthz and /metrics on the Docker network.
	PortBackupMetrics = 9630
	// Temporal's two databases, as the schema job names them.
	DatabaseTemporal   = "temporal"
	DatabaseVisibility = "temporal_visibility"

	SecretBackupOffsiteAccessKey = "backupOffsiteAccessKey"
	SecretBackupOffsiteSecretKey = "backupOffsiteSecretKey"
)

// Backup is the backup part of the stack config.
type Backup struct {
	// Schedule and VerifySchedule are 5-field cron expressions, in UTC.
	Schedule, VerifySchedule string
	Retention                retention.Policy
	// AgeRecipients are the public keys backups are encrypted to; none = plain.
	AgeRecipients []string
	// S3 is the off-site copy; nil = none.
	S3 *BackupS3
}

// BackupS3 is an S3-compatible bucket for the off-site copy; its keys are
// the secrets backupOffsiteAccessKey and backupOffsiteSecretKey.
type BackupS3 struct {
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Region   string `json:"region,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	// Insecure uses plain HTTP (a test server on the stack's network only).
	Insecure bool `json:"insecure,omitempty"`
}

func loadBackup(l *loader) Backup {
	b := Backup{
		Schedule:       l.str("backupSchedule", "0 3 * * *"),
		VerifySchedule: l.str("backupVerifySchedule", "30 4 * * 0"),
	}
	if _, err := schedule.Parser.Parse(b.Schedule); err != nil {
		l.fail("backupSchedule", "%q is not a cron schedule (%v); write minute hour day month weekday in UTC, like \"0 3 * * *\" (the default, daily 03:00)", b.Schedule, err)
	}
	if _, err := schedule.Parser.Parse(b.VerifySchedule); err != nil {
		l.fail("backupVerifySchedule", "%q is not a cron schedule (%v); write minute hour day month weekday in UTC, like \"30 4 * * 0\" (the default, Sundays 04:30)", b.VerifySchedule, err)
	}
	var keep struct{ Daily, Weekly, Monthly *int }
	b.Retention = retention.Default
	l.object("backupRetention", &keep)
	for _, v := range []struct {
		n   *int
		dst *int
	}{{keep.Daily, &b.Retention.Daily}, {keep.Weekly, &b.Retention.Weekly}, {keep.Monthly, &b.Retention.Monthly}} {
		if v.n != nil {
			*v.dst = *v.n
		}
	}
	if err := b.Retention.Check(); err != nil {
		l.fail("backupRetention", "%v; write it like {daily: 7, weekly: 4, monthly: 12} (the default)", err)
	}
	if v, ok := l.get("backupAgeRecipients"); ok {
		for _, k := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
			if _, err := age.ParseX25519Recipient(k); err != nil {
				l.fail("backupAgeRecipients", "%q is not an age public key (%v); give the age1... lines `age-keygen` prints, space-separated; never a private key", k, err)
				continue
			}
			b.AgeRecipients = append(b.AgeRecipients, k)
		}
	}
	var s3 BackupS3
	l.object("backupOffsite", &s3)
	_, akSet := l.secret("backupOffsiteAccessKey")
	_, skSet := l.secret("backupOffsiteSecretKey")
	if s3 != (BackupS3{}) {
		if u, err := url.Parse("//" + s3.Endpoint); err != nil || s3.Endpoint == "" || u.Host != s3.Endpoint {
			l.fail("backupOffsite", "endpoint %q is not a host[:port] (no scheme, no path), like fsn1.your-objectstorage.com", s3.Endpoint)
		}
		if s3.Bucket == "" {
			l.fail("backupOffsite", "bucket is missing; name the bucket the backups go to")
		} else if why := bucketNameProblem(s3.Bucket); why != "" {
			l.fail("backupOffsite", "bucket %q is not an S3 bucket name: %s; use 3-63 lower-case letters, digits, '-' and '.', "+
				"starting and ending with a letter or digit, like kit-backups", s3.Bucket, why)
		}
		if !akSet || !skSet {
			l.fail("backupOffsite", "needs its keys as secrets: `pulumi config set --secret %s:backupOffsiteAccessKey ...` and `... %s:backupOffsiteSecretKey ...`", Namespace, Namespace)
		}
		if len(b.AgeRecipients) == 0 {
			l.fail("backupOffsite", "needs backupAgeRecipients: off-site copies are only made of encrypted backups, so no plaintext dump leaves the server; create a key pair where the backups are restored (`age-keygen -o key.txt`) and `pulumi config set %s:backupAgeRecipients age1...` with the public key it prints", Namespace)
		}
		b.S3 = &s3
	}
	return b
}

// backupDatabases are what the service dumps: Temporal's two databases and the pipeline's.
func backupDatabases() string {
	return strings.Join([]string{DatabaseTemporal, DatabaseVisibility, WorkerDatabase}, ",")
}

func backupService(c Config, pgHost string, pgDeps []Dependency) Service {
	r := c.Backup.Retention
	env := []EnvVar{
		{Name: "PGHOST", Value: pgHost},
		{Name: "PGPORT", Value: strconv.Itoa(c.Postgres.Port)},
		{Name: "PGUSER", Value: c.Postgres.User},
		{Name: "PGPASSWORD_FILE", Value: SecretPath(SecretPostgresPassword)},
		{Name: "PGCONNECT_TIMEOUT", Value: "10"},
		{Name: "KIT_BACKUP_DIR", Value: BackupDir},
		{Name: "KIT_BACKUP_DATABASES", Value: backupDatabases()},
		{Name: "KIT_BACKUP_SCHEDULE", Value: c.Backup.Schedule},
		{Name: "KIT_VERIFY_SCHEDULE", Value: c.Backup.VerifySchedule},
		{Name: "KIT_BACKUP_RETENTION", Value: fmt.Sprintf("%d/%d/%d", r.Daily, r.Weekly, r.Monthly)},
		{Name: "KIT_HISTORY_SHARDS", Value: strconv.Itoa(c.HistoryShards)},
		{Name: "KIT_TEMPORAL_VERSION", Value: imageTag(c.Images.TemporalServer)},
		{Name: "KIT_BACKUP_LISTEN", Value: ":" + strconv.Itoa(PortBackupMetrics)},
	}
	if len(c.Backup.AgeRecipients) > 0 {
		env = append(env, EnvVar{Name: "KIT_BACKUP_AGE_RECIPIENTS", Value: strings.Join(c.Backup.AgeRecipients, " ")})
	}
	if s3 := c.Backup.S3; s3 != nil {
		env = append(env,
			EnvVar{Name: "KIT_BACKUP_S3_ENDPOINT", Value: s3.Endpoint},
			EnvVar{Name: "KIT_BACKUP_S3_BUCKET", Value: s3.Bucket},
			EnvVar{Name: "KIT_BACKUP_S3_REGION", Value: s3.Region},
			EnvVar{Name: "KIT_BACKUP_S3_PREFIX", Value: s3.Prefix},
			EnvVar{Name: "KIT_BACKUP_S3_INSECURE", Value: strconv.FormatBool(s3.Insecure)},
			EnvVar{Name: "KIT_BACKUP_S3_ACCESS_KEY_FILE", Value: SecretPath(SecretBackupOffsiteAccessKey)},
			EnvVar{Name: "KIT_BACKUP_S3_SECRET_KEY_FILE", Value: SecretPath(SecretBackupOffsiteSecretKey)},
		)
	}
	return Service{
		Name:    ServiceBackup,
		Kind:    LongRunning,
		Image:   c.Images.Backup,
		Command: []string{"run"},
		Env:     env,
		Ports:   []Port{{Name: "metrics", Container: PortBackupMetrics}},
		Mounts:  []Mount{{Volume: VolumeBackups, Target: BackupDir}},
		// Healthy: the backups volume is writable. A full disk fails it, and
		// a restart would only cut a running dump short: alert, no restart.
		Health:    alertOnly(sidecarHealth(PortBackupMetrics, "/healthz")),
		DependsOn: pgDeps,
		// SIGTERM lets a running dump finish its file or remove it.
		StopSignal:  "SIGTERM",
		StopTimeout: 30 * time.Second,
	}
}

// bucketNameProblem says why name breaks S3's bucket naming rules (the
// ones every S3-compatible service accepts), or "" when it does not.
func bucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("%d characters", len(name))
	case strings.ContainsFunc(name, func(r rune) bool { return r > 0x7f || !isLowerAlnum(byte(r)) && r != '-' && r != '.' }):
		return "only lower-case letters, digits, '-' and '.' are allowed"
	case !isLowerAlnum(name[0]) || !isLowerAlnum(name[len(name)-1]):
		return "it must start and end with a letter or digit"
	case strings.Contains(name, ".."):
		return "two dots in a row"
	case net.ParseIP(name) != nil:
		return "it reads as an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "the prefix " + p + " is reserved"
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return "the suffix " + sfx + " is reserved"
		}
	}
	return ""
}

func isLowerAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
