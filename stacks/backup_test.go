package stacks

import (
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/backup/retention"
)

const testRecipient = "age1ulydegnzz77lmxe56cnyu5xrg7s42qmvrzut493mk9tvrua2sc7str0s3t"

func TestBackupDefaults(t *testing.T) {
	d := mustBuild(t, MapSource{})
	s, ok := d.Service(ServiceBackup)
	if !ok {
		t.Fatal("no backup service")
	}
	env := s.PlainEnv()
	for k, v := range map[string]string{
		"KIT_BACKUP_SCHEDULE":  "0 3 * * *",
		"KIT_VERIFY_SCHEDULE":  "30 4 * * 0",
		"KIT_BACKUP_RETENTION": "7/4/12",
		"KIT_BACKUP_DATABASES": "temporal,temporal_visibility,ampledata",
		"KIT_HISTORY_SHARDS":   "4",
		"KIT_TEMPORAL_VERSION": "1.32.0",
		"PGPASSWORD_FILE":      SecretPath(SecretPostgresPassword),
		"KIT_BACKUP_DIR":       BackupDir,
	} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["KIT_BACKUP_AGE_RECIPIENTS"]; ok {
		t.Error("recipients set without config")
	}
	if s.MemoryMB != 256 || s.Health == nil || !strings.Contains(s.Health.Test, "/healthz") {
		t.Errorf("memory %d, health %+v", s.MemoryMB, s.Health)
	}
	if len(s.Ports) != 1 || s.Ports[0].Host != 0 {
		t.Errorf("metrics port must stay on the Docker network: %+v", s.Ports)
	}
	v, ok := d.Volume(VolumeBackups)
	if !ok || v.Discard {
		t.Errorf("backups volume %+v: must exist and be kept", v)
	}
}

func TestBackupConfig(t *testing.T) {
	c, err := LoadConfig("prod", MapSource{
		"backupSchedule": "15 2 * * *", "backupRetention": `{"daily": 3, "monthly": 24}`,
		"backupAgeRecipients":    testRecipient,
		"backupOffsite":          `{"endpoint": "fsn1.your-objectstorage.com", "bucket": "kit-b", "region": "fsn1"}`,
		"backupOffsiteAccessKey": "ak", "backupOffsiteSecretKey": "sk",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backup.Retention != (retention.Policy{Daily: 3, Weekly: 4, Monthly: 24}) {
		t.Errorf("retention %+v", c.Backup.Retention)
	}
	d, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := d.Service(ServiceBackup)
	env := s.PlainEnv()
	if env["KIT_BACKUP_SCHEDULE"] != "15 2 * * *" || env["KIT_BACKUP_AGE_RECIPIENTS"] != testRecipient || env["KIT_BACKUP_S3_BUCKET"] != "kit-b" {
		t.Errorf("env %v", env)
	}
	files := s.SecretFileEnv()
	if files["KIT_BACKUP_S3_ACCESS_KEY"] != SecretBackupOffsiteAccessKey || files["KIT_BACKUP_S3_SECRET_KEY"] != SecretBackupOffsiteSecretKey {
		t.Errorf("offsite keys are not secret files: %v", files)
	}
	for _, sec := range []string{SecretBackupOffsiteAccessKey, SecretBackupOffsiteSecretKey} {
		if got, ok := d.Secret(sec); !ok || got.ConfigKey != sec {
			t.Errorf("secret %s: %+v", sec, got)
		}
	}
}

func TestBackupConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		src  MapSource
		want string
	}{
		{MapSource{"backupSchedule": "daily at 3"}, "temporal-kit:backupSchedule"},
		{MapSource{"backupVerifySchedule": "* * *"}, "temporal-kit:backupVerifySchedule"},
		{MapSource{"backupRetention": `{"daily": 0, "weekly": 0, "monthly": 0}`}, "temporal-kit:backupRetention"},
		{MapSource{"backupRetention": `{"yearly": 3}`}, "temporal-kit:backupRetention"},
		{MapSource{"backupAgeRecipients": "AGE-SECRET-KEY-1SGS6WPF8GP0JYH3URVAMJZS5VX6DGQF04U34U9U0XU3E6SR0EJNQ2DQCWR"}, "never a private key"},
		{MapSource{"backupOffsite": `{"endpoint": "https://x.example/", "bucket": "b"}`, "backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s"}, "host[:port]"},
		{MapSource{"backupOffsite": `{"endpoint": "x.example"}`, "backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s"}, "bucket is missing"},
		{MapSource{"backupOffsite": `{"endpoint": "x.example", "bucket": "b"}`}, "backupOffsiteAccessKey"},
		{MapSource{"backupOffsite": `{"endpoint": "x.example", "bucket": "b"}`, "backupOffsiteAccessKey": "a", "backupOffsiteSecretKey": "s"}, "needs backupAgeRecipients"},
	} {
		_, err := LoadConfig("dev", tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error naming %q", tc.src, err, tc.want)
		}
	}
}
