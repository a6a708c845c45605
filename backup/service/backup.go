package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/backup/manifest"
	"github.com/ampledata/temporal-kit/backup/retention"
)

const partialPrefix = ".partial-"

// Service runs backups, restores and verifications for one Config.
type Service struct {
	Cfg Config
	Log *slog.Logger
	// Offsite, when set, receives a copy of every backup and follows the
	// local retention.
	Offsite Offsite
	// now is time.Now outside tests.
	now func() time.Time
}

// Offsite is a second target for backups (S3-compatible storage).
type Offsite interface {
	Name() string
	Upload(ctx context.Context, id, dir string, files []string) error
	List(ctx context.Context) ([]string, error)
	Delete(ctx context.Context, id string) error
}

// New returns a service for cfg.
func New(cfg Config, log *slog.Logger) *Service {
	return &Service{Cfg: cfg, Log: log, now: time.Now}
}

// BackupError is a failed backup: which stage, and that nothing older was lost.
type BackupError struct {
	Stage string
	Err   error
}

func (e *BackupError) Error() string {
	switch e.Stage {
	case StageDisk:
		return fmt.Sprintf("backup failed: the backup volume is full (%v); the partial backup was removed and older backups are intact; free space or grow the volume", e.Err)
	case StageOffsite:
		return fmt.Sprintf("off-site copy failed (%v); the local backup is kept and counts as good, and nothing is pruned until an off-site copy succeeds", e.Err)
	default:
		return fmt.Sprintf("backup failed (%v); the partial backup was removed and older backups are intact", e.Err)
	}
}

func (e *BackupError) Unwrap() error { return e.Err }

func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device")
}

// Backup takes one backup of every configured database into a new
// directory, which appears under its final name only once complete. It
// prunes by the retention policy only after the backup succeeded.
func (s *Service) Backup(ctx context.Context) (manifest.Manifest, error) {
	unlock, err := tryLock(s.Cfg.Dir)
	if err != nil {
		return manifest.Manifest{}, err
	}
	defer unlock()
	s.removePartials()
	start := s.now().UTC()
	m, err := s.dumpAll(ctx, start)
	if err != nil {
		stage := StageDump
		if isDiskFull(err) {
			stage = StageDisk
		}
		berr := &BackupError{Stage: stage, Err: err}
		s.recordFailure(stage, berr)
		return m, berr
	}
	end := s.now().UTC()
	good, _ := List(s.Cfg.Dir)
	if err := UpdateStatus(s.Cfg.Dir, func(st *Status) {
		for _, d := range m.Databases {
			if st.LastSuccess[d.Name] == nil {
				st.LastSuccess[d.Name] = map[string]time.Time{}
			}
			st.LastSuccess[d.Name]["local"] = end
			st.LastSize[d.Name] = d.File.Size
		}
		st.LastDuration = end.Sub(start).Seconds()
		st.Backups = len(good)
	}); err != nil {
		s.Log.Error("record status", "err", err)
	}
	s.Log.Info("backup complete", "id", m.ID, "duration", end.Sub(start).Round(time.Millisecond), "bytes", totalSize(m))

	if s.Offsite != nil {
		if err := s.copyOffsite(ctx, m); err != nil {
			// Nothing is pruned while the off-site copy fails: the local
			// backups are then the only ones, and retention waits.
			s.Log.Warn("not pruning while the off-site copy fails", "id", m.ID)
			return m, err
		}
	}
	s.prune(ctx)
	return m, nil
}

func totalSize(m manifest.Manifest) int64 {
	var n int64
	for _, f := range m.Files() {
		n += f.Size
	}
	return n
}

func (s *Service) recordFailure(stage string, err error) {
	s.Log.Error("backup failure", "stage", stage, "err", err)
	if uerr := UpdateStatus(s.Cfg.Dir, func(st *Status) {
		st.Failures[stage]++
		st.LastError = err.Error()
		st.LastErrorTime = s.now().UTC()
	}); uerr != nil {
		s.Log.Error("record failure", "err", uerr)
	}
}

// removePartials deletes what an interrupted run left behind.
func (s *Service) removePartials() {
	entries, _ := os.ReadDir(s.Cfg.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), partialPrefix) {
			os.RemoveAll(filepath.Join(s.Cfg.Dir, e.Name()))
		}
	}
}

func (s *Service) dumpAll(ctx context.Context, start time.Time) (m manifest.Manifest, err error) {
	id := manifest.ID(start)
	final := filepath.Join(s.Cfg.Dir, id)
	if _, err := os.Stat(final); err == nil {
		return m, fmt.Errorf("backup %s already exists; wait a second and try again", id)
	}
	partial := filepath.Join(s.Cfg.Dir, partialPrefix+id)
	if err := os.MkdirAll(partial, 0o700); err != nil {
		return m, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(partial)
		}
	}()
	m = manifest.Manifest{Format: manifest.Format, ID: id, Time: start, TemporalVersion: s.Cfg.TemporalVersion,
		SchemaVersions: map[string]string{}, Recipients: s.Cfg.Recipients, Encrypted: len(s.Cfg.Recipients) > 0}

	if m.Globals, err = s.dump(ctx, partial, "globals.sql", "pg_dumpall", "--globals-only", "--no-role-passwords", "--no-password"); err != nil {
		return m, err
	}
	for _, db := range s.Cfg.Databases {
		d, ver, shards, err := s.dumpDatabase(ctx, partial, db)
		if err != nil {
			return m, err
		}
		if ver != "" {
			m.SchemaVersions[db] = ver
		}
		if shards > 0 {
			m.HistoryShards = shards
		}
		m.Databases = append(m.Databases, d)
	}
	if err := manifest.Write(partial, m); err != nil {
		return m, err
	}
	if err := syncDir(partial); err != nil {
		return m, err
	}
	if err := os.Rename(partial, final); err != nil {
		return m, err
	}
	return m, syncDir(s.Cfg.Dir)
}

// dumpDatabase dumps db in custom format from a snapshot that the row
// counts, schema version and shard count are read from too: the manifest
// describes exactly what the dump holds.
func (s *Service) dumpDatabase(ctx context.Context, dir, db string) (d manifest.Database, ver string, shards int, err error) {
	began := time.Now()
	conn, err := connect(ctx, db)
	if err != nil {
		return d, "", 0, err
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return d, "", 0, fmt.Errorf("database %s: %w", db, err)
	}
	defer tx.Rollback(context.Background())
	var snap string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snap); err != nil {
		return d, "", 0, fmt.Errorf("database %s: export snapshot: %w", db, err)
	}
	rows, err := countRows(ctx, tx, db)
	if err != nil {
		return d, "", 0, fmt.Errorf("database %s: %w", db, err)
	}
	if ver, err = schemaVersion(ctx, tx); err != nil {
		return d, "", 0, fmt.Errorf("database %s: schema version: %w", db, err)
	}
	if shards, err = historyShards(ctx, tx); err != nil {
		return d, "", 0, fmt.Errorf("database %s: history shards: %w", db, err)
	}
	f, err := s.dump(ctx, dir, db+".dump", "pg_dump", "--format=custom", "--snapshot="+snap, "--no-password", "--dbname", db)
	if err != nil {
		return d, "", 0, err
	}
	return manifest.Database{Name: db, File: f, Rows: rows, Duration: manifest.Duration(time.Since(began))}, ver, shards, nil
}

// dump runs a PostgreSQL dump tool into dir/name and describes the file.
// With recipients the tool's output is streamed through age into
// dir/name.age: no plaintext byte reaches the disk, not even in a partial
// backup a crash leaves behind. Without, the tool writes the file itself
// (a seekable archive, which a parallel pg_restore needs).
func (s *Service) dump(ctx context.Context, dir, name, tool string, args ...string) (manifest.File, error) {
	if len(s.Cfg.Recipients) == 0 {
		if err := run(ctx, tool, append(args, "--file", filepath.Join(dir, name))...); err != nil {
			return manifest.File{}, err
		}
	} else {
		name += ".age"
		if err := runEncrypted(ctx, filepath.Join(dir, name), s.Cfg.Recipients, tool, args...); err != nil {
			return manifest.File{}, err
		}
	}
	if err := syncFile(filepath.Join(dir, name)); err != nil {
		return manifest.File{}, err
	}
	return manifest.Describe(dir, name)
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(p string) error { return syncFile(p) }

// Entry is one good backup of the local target.
type Entry struct {
	ID       string
	Time     time.Time
	Dir      string
	Manifest manifest.Manifest
}

// List returns the good backups in dir (complete, with a readable manifest), newest first.
func List(dir string) ([]Entry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		t, err := time.Parse(manifest.IDFormat, e.Name())
		if err != nil {
			continue
		}
		m, err := manifest.Read(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, Entry{ID: e.Name(), Time: t, Dir: filepath.Join(dir, e.Name()), Manifest: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// prune deletes the local (and off-site) backups the policy does not keep.
func (s *Service) prune(ctx context.Context) {
	good, err := List(s.Cfg.Dir)
	if err != nil {
		s.recordFailure(StagePrune, err)
		return
	}
	var times []time.Time
	byTime := map[time.Time]Entry{}
	for _, e := range good {
		times = append(times, e.Time)
		byTime[e.Time] = e
	}
	for _, d := range retention.Plan(times, s.Cfg.Retention) {
		e := byTime[d.Time]
		if d.Keep {
			continue
		}
		if err := os.RemoveAll(e.Dir); err != nil {
			s.recordFailure(StagePrune, fmt.Errorf("delete %s: %w", e.ID, err))
			continue
		}
		s.Log.Info("pruned", "id", e.ID)
	}
	if s.Offsite != nil {
		s.pruneOffsite(ctx)
	}
	remaining, _ := List(s.Cfg.Dir)
	_ = UpdateStatus(s.Cfg.Dir, func(st *Status) { st.Backups = len(remaining) })
}

// pruneOffsite applies the retention policy to the backups the off-site
// target holds, on their own: after a lost volume the local list is short,
// and must not decide what the off-site copies keep.
func (s *Service) pruneOffsite(ctx context.Context) {
	ids, err := s.Offsite.List(ctx)
	if err != nil {
		s.recordFailure(StageOffsite, fmt.Errorf("list %s: %w", s.Offsite.Name(), err))
		return
	}
	var times []time.Time
	byTime := map[time.Time]string{}
	for _, id := range ids {
		t, err := time.Parse(manifest.IDFormat, id)
		if err != nil {
			continue // not a backup of ours
		}
		times = append(times, t)
		byTime[t] = id
	}
	for _, del := range retention.Prune(times, s.Cfg.Retention) {
		err := s.Offsite.Delete(ctx, byTime[del])
		if errors.Is(err, ErrDeleteDenied) {
			// A write-only key is the recommended setup, not a failure:
			// count it, keep everything, and stop asking for this run.
			s.Log.Warn("off-site retention skipped: the key may not delete; the bucket's own rules must expire old copies", "id", byTime[del], "err", err)
			_ = UpdateStatus(s.Cfg.Dir, func(st *Status) { st.OffsiteDeleteDenied++ })
			return
		}
		if err != nil {
			s.recordFailure(StageOffsite, fmt.Errorf("delete %s from %s: %w", byTime[del], s.Offsite.Name(), err))
			continue
		}
		s.Log.Info("pruned off-site", "id", byTime[del])
	}
}

func (s *Service) copyOffsite(ctx context.Context, m manifest.Manifest) error {
	dir := filepath.Join(s.Cfg.Dir, m.ID)
	files := []string{manifest.FileName}
	for _, f := range m.Files() {
		files = append(files, f.Name)
	}
	if err := s.Offsite.Upload(ctx, m.ID, dir, files); err != nil {
		berr := &BackupError{Stage: StageOffsite, Err: fmt.Errorf("backup %s to %s: %w", m.ID, s.Offsite.Name(), err)}
		s.recordFailure(StageOffsite, berr)
		return berr
	}
	end := s.now().UTC()
	_ = UpdateStatus(s.Cfg.Dir, func(st *Status) {
		for _, d := range m.Databases {
			if st.LastSuccess[d.Name] == nil {
				st.LastSuccess[d.Name] = map[string]time.Time{}
			}
			st.LastSuccess[d.Name]["offsite"] = end
		}
	})
	s.Log.Info("off-site copy complete", "id", m.ID, "target", s.Offsite.Name())
	return nil
}
