package service

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/backup/manifest"
	"github.com/ampledata/temporal-kit/backup/retention"
)

// fakeBackup writes a backup directory with a valid manifest.
func fakeBackup(t *testing.T, dir string, at time.Time) string {
	t.Helper()
	id := manifest.ID(at)
	d := filepath.Join(dir, id)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"globals.sql", "temporal.dump"} {
		if err := os.WriteFile(filepath.Join(d, f), []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := manifest.Describe(d, "globals.sql")
	f, _ := manifest.Describe(d, "temporal.dump")
	if err := manifest.Write(d, manifest.Manifest{Format: manifest.Format, ID: id, Time: at, Globals: g,
		Databases: []manifest.Database{{Name: "temporal", File: f}}}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPruneFollowsThePolicy(t *testing.T) {
	dir := t.TempDir()
	var times []time.Time
	for d := range 120 {
		at := time.Date(2027, 12, 1, 3, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		times = append(times, at)
		fakeBackup(t, dir, at)
	}
	// Leftovers that are not good backups: never counted, never touched by prune.
	if err := os.MkdirAll(filepath.Join(dir, partialPrefix+"20280401T030000Z"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "20280402T030000Z"), 0o700); err != nil { // no manifest
		t.Fatal(err)
	}
	p := retention.Policy{Daily: 3, Weekly: 2, Monthly: 2}
	s := &Service{Cfg: Config{Dir: dir, Retention: p}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	s.prune(context.Background())

	var want []string
	for _, d := range retention.Plan(times, p) {
		if d.Keep {
			want = append(want, manifest.ID(d.Time))
		}
	}
	good, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range good {
		got = append(got, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if got[0] != manifest.ID(times[len(times)-1]) {
		t.Errorf("newest %s not kept", manifest.ID(times[len(times)-1]))
	}
	st, _ := ReadStatus(dir)
	if st.Backups != len(want) {
		t.Errorf("status counts %d backups, want %d", st.Backups, len(want))
	}
	if s.removePartials(); exists(filepath.Join(dir, partialPrefix+"20280401T030000Z")) {
		t.Error("partial directory left by removePartials")
	}
	if !exists(filepath.Join(dir, "20280402T030000Z")) {
		t.Error("prune touched a directory that is no backup")
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// fakeOffsite holds backup ids in memory.
type fakeOffsite struct{ ids map[string]bool }

func (f *fakeOffsite) Name() string                                           { return "fake" }
func (f *fakeOffsite) Upload(context.Context, string, string, []string) error { return nil }
func (f *fakeOffsite) Delete(_ context.Context, id string) error              { delete(f.ids, id); return nil }
func (f *fakeOffsite) List(context.Context) ([]string, error) {
	var out []string
	for id := range f.ids {
		out = append(out, id)
	}
	return out, nil
}

// After a lost volume the local target holds one backup: the off-site
// copies follow the policy on their own, not the local list.
func TestOffsitePruneIgnoresTheLocalList(t *testing.T) {
	dir := t.TempDir()
	off := &fakeOffsite{ids: map[string]bool{"not-a-backup": true}}
	var times []time.Time
	for d := range 60 {
		at := time.Date(2028, 2, 1, 3, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		times = append(times, at)
		off.ids[manifest.ID(at)] = true
	}
	fakeBackup(t, dir, times[len(times)-1])
	p := retention.Policy{Daily: 7, Weekly: 4, Monthly: 12}
	s := &Service{Cfg: Config{Dir: dir, Retention: p}, Offsite: off, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	s.prune(context.Background())
	want := len(times) - len(retention.Prune(times, p)) + 1 // + the foreign object
	if len(off.ids) != want || !off.ids["not-a-backup"] {
		t.Errorf("off-site keeps %d objects, want %d (the policy over its own list, foreign objects untouched)", len(off.ids), want)
	}
}
