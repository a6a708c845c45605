package service

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ampledata/temporal-kit/backup/manifest"
)

// archive reads a backup's files for a restore: an encrypted one is
// decrypted as a stream into the PostgreSQL tools, so its plaintext never
// lands on disk.
type archive struct {
	dir string
	ids identities // nil: the backup is not encrypted
}

func (a archive) open(name string) (io.ReadCloser, error) {
	return a.ids.open(filepath.Join(a.dir, name))
}

// check reads every file through before the target is touched: each
// dump's table of contents, and (encrypted) every byte's authentication.
func (a archive) check(ctx context.Context, m manifest.Manifest) error {
	for _, d := range m.Databases {
		if err := a.checkDump(ctx, d.File.Name); err != nil {
			return fmt.Errorf("%s is not a readable pg_dump archive: %w", d.File.Name, err)
		}
	}
	if a.ids == nil {
		return nil
	}
	r, err := a.open(m.Globals.Name)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

func (a archive) checkDump(ctx context.Context, name string) error {
	if a.ids == nil {
		return run(ctx, "pg_restore", "--list", "--file", os.DevNull, filepath.Join(a.dir, name))
	}
	r, err := a.open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	// pg_restore stops reading after the table of contents; the rest is
	// decrypted too, which authenticates every chunk.
	if err := runIO(ctx, r, nil, "pg_restore", "--list", "--file", os.DevNull); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}

// restore fills the database db from the dump file name. db is a checked
// identifier (checkTargetName), never a manifest's text.
func (a archive) restore(ctx context.Context, name, db string) error {
	args := []string{"--no-password", "--exit-on-error", "--no-owner", "--dbname", db}
	if a.ids == nil {
		return run(ctx, "pg_restore", append(args, "--jobs", "2", filepath.Join(a.dir, name))...)
	}
	// A stream restores in one job: parallel jobs need a seekable file.
	r, err := a.open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	return runIO(ctx, r, nil, "pg_restore", args...)
}

// replayGlobals runs the pg_dumpall --globals-only script against the server.
func (a archive) replayGlobals(ctx context.Context, name string) error {
	r, err := a.open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	return runIO(ctx, r, nil, "psql", "-X", "--no-password", "-q", "-d", "postgres", "-f", "-")
}
