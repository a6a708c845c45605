package manifest

import (
	"strings"
	"testing"
	"time"
)

func validManifest() Manifest {
	sum := strings.Repeat("ab", 32)
	return Manifest{Format: Format, ID: "20261130T030000Z", Time: time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC),
		TemporalVersion: "1.32.0", HistoryShards: 4, SchemaVersions: map[string]string{"temporal": "1.19"},
		Globals:   File{Name: "globals.sql", Size: 10, SHA256: sum},
		Databases: []Database{{Name: "temporal", File: File{Name: "temporal.dump", Size: 10, SHA256: sum}, Rows: map[string]int64{"shards": 4}}}}
}

func TestValidateRefusesWhatTheStackDidNotWrite(t *testing.T) {
	dbs := []string{"temporal", "temporal_visibility", "ampledata"}
	if err := Validate(validManifest(), "20261130T030000Z", dbs); err != nil {
		t.Fatalf("a valid manifest: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Manifest)
		want   string
	}{
		{"a connection string as database", func(m *Manifest) { m.Databases[0].Name = "dbname=x host=y" }, `"dbname=x host=y" is not one this stack backs up`},
		{"a URI as database", func(m *Manifest) { m.Databases[0].Name = "postgres://evil/x" }, "not one this stack backs up"},
		{"another database", func(m *Manifest) { m.Databases[0].Name = "postgres" }, `"postgres" is not one this stack backs up`},
		{"a database twice", func(m *Manifest) { m.Databases = append(m.Databases, m.Databases[0]) }, "listed twice"},
		{"a file outside the backup", func(m *Manifest) { m.Databases[0].File.Name = "../../etc/passwd" }, "want \"temporal.dump\""},
		{"another file name", func(m *Manifest) { m.Globals.Name = "x.sql" }, "want \"globals.sql\""},
		{"encrypted names without .age", func(m *Manifest) {
			m.Encrypted, m.Recipients = true, []string{"age1ulydegnzz77lmxe56cnyu5xrg7s42qmvrzut493mk9tvrua2sc7str0s3t"}
		}, `want "temporal.dump.age"`},
		{"encrypted without recipients", func(m *Manifest) { m.Encrypted = true }, "no recipients"},
		{"a bad checksum", func(m *Manifest) { m.Globals.SHA256 = "x" }, "sha256"},
		{"a negative size", func(m *Manifest) { m.Globals.Size = -1 }, "size -1"},
		{"an id that is no time", func(m *Manifest) { m.ID = "../x" }, "is not a backup id"},
		{"a format from elsewhere", func(m *Manifest) { m.Format = 2 }, "format 2"},
		{"a terminal escape as version", func(m *Manifest) { m.TemporalVersion = "1.0\x1b[2J" }, "temporalVersion"},
		{"negative shards", func(m *Manifest) { m.HistoryShards = -1 }, "historyShards"},
		{"a schema version of another database", func(m *Manifest) { m.SchemaVersions["x"] = "1.0" }, `of "x"`},
	} {
		m := validManifest()
		tc.change(&m)
		err := Validate(m, "20261130T030000Z", dbs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckDatabaseName(t *testing.T) {
	for _, ok := range []string{"temporal", "temporal_visibility", "ampledata", "_x1"} {
		if err := CheckDatabaseName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "dbname=x host=y", "Temporal", "a b", "x;y", "postgresql://h/d", "1db", strings.Repeat("a", MaxDatabaseName+1)} {
		if err := CheckDatabaseName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
