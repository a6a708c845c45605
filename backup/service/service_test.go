package service

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ampledata/temporal-kit/backup/retention"
)

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupSchedule != "0 3 * * *" || c.Retention != retention.Default || c.Dir != "/backups" {
		t.Errorf("defaults %+v", c)
	}
	env := map[string]string{EnvSchedule: "every day", EnvRetention: "7/4", EnvHistoryShards: "x"}
	_, err = FromEnv(func(k string) string { return env[k] })
	for _, want := range []string{"backupSchedule", "backupRetention", "historyShards"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestShardsFromClusterMetadata(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "active")
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 512)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "id")
	n, err := shardsFromClusterMetadata(b)
	if err != nil || n != 512 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := shardsFromClusterMetadata([]byte{0x12}); err == nil {
		t.Error("truncated metadata accepted")
	}
}

func TestCollectorReadsStatus(t *testing.T) {
	dir := t.TempDir()
	when := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	if err := UpdateStatus(dir, func(s *Status) {
		s.LastSuccess["temporal"] = map[string]time.Time{"local": when}
		s.LastSize["temporal"] = 1234
		s.Failures[StageDisk] = 2
	}); err != nil {
		t.Fatal(err)
	}
	c := NewCollector(dir)
	want := `
# HELP kit_backup_failures_total Failed backup runs by stage (dump, disk, offsite, prune, verify).
# TYPE kit_backup_failures_total counter
kit_backup_failures_total{stage="disk"} 2
kit_backup_failures_total{stage="dump"} 0
kit_backup_failures_total{stage="offsite"} 0
kit_backup_failures_total{stage="prune"} 0
kit_backup_failures_total{stage="verify"} 0
# HELP kit_backup_last_success_timestamp_seconds End of the last successful backup, per database and target (local, offsite).
# TYPE kit_backup_last_success_timestamp_seconds gauge
kit_backup_last_success_timestamp_seconds{database="temporal",target="local"} 1.7960076e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "kit_backup_failures_total", "kit_backup_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// Off-site copies are of encrypted backups only, and a database name is
// never something libpq would read as a connection string.
func TestFromEnvRefusesPlaintextOffsiteAndForeignDatabaseNames(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvS3Endpoint: "fsn1.your-objectstorage.com"}, "set backupAgeRecipients"},
		{map[string]string{EnvDatabases: "temporal,dbname=x host=y"}, `"dbname=x host=y" is not a database name`},
		{map[string]string{EnvRecipients: "age1notakey"}, "backupAgeRecipients"},
	} {
		_, err := FromEnv(func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error with %q", tc.env, err, tc.want)
		}
	}
}
