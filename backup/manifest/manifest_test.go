package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample(t *testing.T, dir string) Manifest {
	t.Helper()
	for name, body := range map[string]string{"globals.sql": "CREATE ROLE x;\n", "temporal.dump": strings.Repeat("PGDMP", 1000)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g, err := Describe(dir, "globals.sql")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Describe(dir, "temporal.dump")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2028, 2, 29, 3, 0, 0, 0, time.UTC)
	return Manifest{Format: Format, ID: ID(ts), Time: ts, TemporalVersion: "1.32.0", HistoryShards: 4,
		SchemaVersions: map[string]string{"temporal": "1.19"}, Globals: g,
		Databases: []Database{{Name: "temporal", File: d, Rows: map[string]int64{"executions": 3}, Duration: Duration(2 * time.Second)}}}
}

func TestRoundTripAndCheck(t *testing.T) {
	dir := t.TempDir()
	m := sample(t, dir)
	if m.ID != "20280229T030000Z" {
		t.Errorf("id %s", m.ID)
	}
	if err := Write(dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Databases[0].File != m.Databases[0].File || time.Duration(got.Databases[0].Duration) != 2*time.Second || !got.Time.Equal(m.Time) {
		t.Errorf("round trip: %+v", got)
	}
	if err := Check(dir, got); err != nil {
		t.Fatalf("intact backup refused: %v", err)
	}
}

func TestCheckRefusesDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(p string) error
		want   string
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 100) }, "truncated"},
		{"corrupted", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("X"), 2000)
			return err
		}, "corrupted"},
		{"missing", os.Remove, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := sample(t, dir)
			if err := tc.damage(filepath.Join(dir, "temporal.dump")); err != nil {
				t.Fatal(err)
			}
			err := Check(dir, m)
			var ce *CheckError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "temporal.dump") {
				t.Fatalf("got %v, want a CheckError saying %q", err, tc.want)
			}
		})
	}
}

func TestReadRefusesIncomplete(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"format":1,"id":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("incomplete manifest: %v", err)
	}
}

func TestCompareRows(t *testing.T) {
	got := CompareRows(map[string]int64{"a": 1, "b": 2}, map[string]int64{"a": 1, "b": 3})
	if len(got) != 1 || !strings.Contains(got[0], "b: 3 rows, manifest counts 2") {
		t.Errorf("%v", got)
	}
}
