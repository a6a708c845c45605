// Package service is the kit's backup service: dumps of the stack's
// databases with a manifest, retention, restore, scheduled verification,
// and the status behind its metrics. The kit-backup command wires it up.
package service

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ampledata/temporal-kit/backup/manifest"
	"github.com/ampledata/temporal-kit/backup/retention"
	"github.com/ampledata/temporal-kit/backup/schedule"
)

// Config is the service's configuration, read from the environment the
// stack Definition gives the container. Each variable's stack config key is
// named in the errors.
type Config struct {
	// Dir holds one directory per backup.
	Dir string
	// Databases to dump, in order.
	Databases []string
	// BackupSchedule and VerifySchedule are 5-field cron expressions in UTC.
	BackupSchedule, VerifySchedule string
	Retention                      retention.Policy
	// HistoryShards is the stack's history shard count: a restore refuses a
	// backup with another one.
	HistoryShards int
	// TemporalVersion is the server version the stack runs.
	TemporalVersion string
	// Listen is the address of the health and metrics endpoint.
	Listen string
	// Recipients are age public keys; empty means unencrypted backups.
	Recipients []string
}

// Environment variables (the Definition sets them from stack config).
const (
	EnvDir            = "KIT_BACKUP_DIR"
	EnvDatabases      = "KIT_BACKUP_DATABASES"
	EnvSchedule       = "KIT_BACKUP_SCHEDULE"
	EnvVerifySchedule = "KIT_VERIFY_SCHEDULE"
	EnvRetention      = "KIT_BACKUP_RETENTION"
	EnvHistoryShards  = "KIT_HISTORY_SHARDS"
	EnvTemporalVer    = "KIT_TEMPORAL_VERSION"
	EnvListen         = "KIT_BACKUP_LISTEN"
	EnvRecipients     = "KIT_BACKUP_AGE_RECIPIENTS"
)

// ParseRetention reads "daily/weekly/monthly", like 7/4/12.
func ParseRetention(s string) (retention.Policy, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return retention.Policy{}, fmt.Errorf("%q is not daily/weekly/monthly counts like 7/4/12", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return retention.Policy{}, fmt.Errorf("%q is not daily/weekly/monthly counts like 7/4/12", s)
		}
		n[i] = v
	}
	p := retention.Policy{Daily: n[0], Weekly: n[1], Monthly: n[2]}
	return p, p.Check()
}

// FromEnv reads the configuration; getenv is os.Getenv outside tests.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Dir:             or(getenv(EnvDir), "/backups"),
		BackupSchedule:  or(getenv(EnvSchedule), "0 3 * * *"),
		VerifySchedule:  or(getenv(EnvVerifySchedule), "30 4 * * 0"),
		TemporalVersion: getenv(EnvTemporalVer),
		Listen:          or(getenv(EnvListen), ":9630"),
	}
	var errs []string
	for _, d := range strings.Split(or(getenv(EnvDatabases), "temporal,temporal_visibility"), ",") {
		if d = strings.TrimSpace(d); d != "" {
			if err := manifest.CheckDatabaseName(d); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", EnvDatabases, err))
			}
			c.Databases = append(c.Databases, d)
		}
	}
	if _, err := schedule.Parser.Parse(c.BackupSchedule); err != nil {
		errs = append(errs, fmt.Sprintf("%s (stack config backupSchedule) %q: %v", EnvSchedule, c.BackupSchedule, err))
	}
	if _, err := schedule.Parser.Parse(c.VerifySchedule); err != nil {
		errs = append(errs, fmt.Sprintf("%s (stack config backupVerifySchedule) %q: %v", EnvVerifySchedule, c.VerifySchedule, err))
	}
	p, err := ParseRetention(or(getenv(EnvRetention), "7/4/12"))
	if err != nil {
		errs = append(errs, fmt.Sprintf("%s (stack config backupRetention): %v", EnvRetention, err))
	}
	c.Retention = p
	shards, err := strconv.Atoi(or(getenv(EnvHistoryShards), "0"))
	if err != nil || shards < 0 {
		errs = append(errs, fmt.Sprintf("%s (stack config historyShards) %q is not a shard count", EnvHistoryShards, getenv(EnvHistoryShards)))
	}
	c.HistoryShards = shards
	c.Recipients = strings.Fields(strings.ReplaceAll(getenv(EnvRecipients), ",", " "))
	if _, err := ParseRecipients(c.Recipients); err != nil {
		errs = append(errs, fmt.Sprintf("%s: %v", EnvRecipients, err))
	}
	if getenv(EnvS3Endpoint) != "" && len(c.Recipients) == 0 {
		errs = append(errs, fmt.Sprintf("%s is set but %s is empty: an off-site copy (stack config backupOffsite) is only made of encrypted backups; set backupAgeRecipients to your age public key(s)", EnvS3Endpoint, EnvRecipients))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("backup configuration:\n  - %s", strings.Join(errs, "\n  - "))
	}
	return c, nil
}

// LoadPassword sets PGPASSWORD, for this process and the PostgreSQL tools
// it runs, from the file PGPASSWORD_FILE names (the stack's secret file).
func LoadPassword() error {
	f := os.Getenv("PGPASSWORD_FILE")
	if f == "" {
		return nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return fmt.Errorf("PGPASSWORD_FILE: %w (the stack's postgresPassword secret file)", err)
	}
	os.Unsetenv("PGPASSWORD_FILE")
	return os.Setenv("PGPASSWORD", strings.TrimRight(string(b), "\r\n"))
}

func or(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}
