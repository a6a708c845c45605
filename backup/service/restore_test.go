package service

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/ampledata/temporal-kit/backup/manifest"
)

func quietService(dir string) *Service {
	return &Service{Cfg: Config{Dir: dir, Databases: []string{"temporal", "temporal_visibility", "ampledata"}, HistoryShards: 4},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
}

// A restore while a backup (or verification) runs would restore over
// databases being dumped, or under a dump's feet: it waits for no one and
// is refused.
func TestRestoreTakesTheRunLock(t *testing.T) {
	dir := t.TempDir()
	id := fakeBackup(t, dir, time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC))
	unlock, err := tryLock(dir) // what a running backup holds
	if err != nil {
		t.Fatal(err)
	}
	s := quietService(dir)
	_, err = s.Restore(context.Background(), RestoreOptions{ID: id})
	if !IsRefused(err) || !strings.Contains(err.Error(), "another backup, restore or verification is running") {
		t.Errorf("restore during a backup: %v", err)
	}
	unlock()
	// And a backup while a restore holds the lock.
	unlock, err = tryLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := s.Backup(context.Background()); err == nil || !strings.Contains(err.Error(), "another backup, restore or verification is running") {
		t.Errorf("backup during a restore: %v", err)
	}
}

// A manifest is unauthenticated: a database name from it never reaches
// pg_restore --dbname, where libpq reads key=value as a connection string.
func TestRestoreRefusesAManifestNamingAnotherDatabase(t *testing.T) {
	for _, name := range []string{"dbname=x host=y", "postgres", "postgresql://attacker/x"} {
		dir := t.TempDir()
		id := fakeBackup(t, dir, time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC))
		m, err := manifest.Read(filepath.Join(dir, id))
		if err != nil {
			t.Fatal(err)
		}
		m.Databases[0].Name = name
		if err := manifest.Write(filepath.Join(dir, id), m); err != nil {
			t.Fatal(err)
		}
		_, err = quietService(dir).Restore(context.Background(), RestoreOptions{ID: id})
		if !IsRefused(err) || !strings.Contains(err.Error(), "is not one this stack backs up") {
			t.Errorf("%q: %v", name, err)
		}
	}
}

func TestRestoreTargetNames(t *testing.T) {
	for _, ok := range []string{"temporal", ScratchPrefix + "temporal_visibility"} {
		if err := checkTargetName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"dbname=x host=y", ScratchPrefix + "a b", "x y"} {
		if err := checkTargetName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The longest names fit PostgreSQL's 63 bytes with the scratch suffix.
	w := newSwap(nil, nil, time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC))
	if n := len(w.add(ScratchPrefix + strings.Repeat("a", manifest.MaxDatabaseName))); n > 63 {
		t.Errorf("scratch database name of %d bytes", n)
	}
}

// denyingOffsite refuses every delete, like a bucket whose key may write but not delete.
type denyingOffsite struct {
	fakeOffsite
	deletes int
}

func (f *denyingOffsite) Delete(context.Context, string) error {
	f.deletes++
	return ErrDeleteDenied
}

// A write-only off-site key is the recommended setup: its denied deletes
// are counted, not failures, and every copy stays.
func TestOffsitePruneCopesWithADeniedDelete(t *testing.T) {
	dir := t.TempDir()
	off := &denyingOffsite{fakeOffsite: fakeOffsite{ids: map[string]bool{}}}
	for d := range 30 {
		off.ids[manifest.ID(time.Date(2028, 2, 1, 3, 0, 0, 0, time.UTC).AddDate(0, 0, d))] = true
	}
	s := quietService(dir)
	s.Cfg.Retention.Daily = 3
	s.Offsite = off
	s.pruneOffsite(context.Background())
	st, err := ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Failures[StageOffsite] != 0 || st.OffsiteDeleteDenied != 1 || off.deletes != 1 || len(off.ids) != 30 {
		t.Errorf("offsite failures %d, denied %d, delete calls %d, copies %d; want 0, 1, 1, 30",
			st.Failures[StageOffsite], st.OffsiteDeleteDenied, off.deletes, len(off.ids))
	}
}

// fakeDumpTool writes numbered plaintext lines slowly, to --file when
// given (as pg_dump does), else to stdout.
const fakeDumpTool = `#!/bin/sh
out=/dev/stdout
while [ $# -gt 0 ]; do [ "$1" = --file ] && out=$2; shift; done
for i in 1 2 3 4 5 6 7 8 9 10; do echo "PLAINTEXT-MARKER $i"; sleep 0.05; done > "$out"
`

// With recipients, no plaintext byte of a dump is on disk at any moment of
// the dump, and what is there decrypts to the whole dump.
func TestDumpWritesNoPlaintext(t *testing.T) {
	dir, bin := t.TempDir(), t.TempDir()
	tool := filepath.Join(bin, "fake-dump")
	if err := os.WriteFile(tool, []byte(fakeDumpTool), 0o755); err != nil {
		t.Fatal(err)
	}
	id, recipient := testIdentity(t)
	s := quietService(dir)
	s.Cfg.Recipients = []string{recipient}
	done := make(chan error, 1)
	var f manifest.File
	go func() {
		var err error
		f, err = s.dump(context.Background(), dir, "temporal.dump", tool)
		done <- err
	}()
	var seen, looks int
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		case <-time.After(5 * time.Millisecond):
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			looks++
			if !strings.HasSuffix(e.Name(), ".age") || strings.Contains(string(b), "PLAINTEXT-MARKER") {
				seen++
				t.Errorf("plaintext on disk during the dump: %s holds %q", e.Name(), b)
			}
		}
		if seen > 0 {
			break
		}
	}
	if looks < 10 {
		t.Errorf("looked at the directory %d times only", looks)
	}
	if f.Name != "temporal.dump.age" {
		t.Errorf("dumped to %q", f.Name)
	}
	r, err := archive{dir: dir, ids: id}.open(f.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || strings.Count(string(b), "PLAINTEXT-MARKER") != 10 {
		t.Errorf("decrypted dump %q, %v", b, err)
	}
}

func testIdentity(t *testing.T) ([]age.Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return []age.Identity{id}, id.Recipient().String()
}
