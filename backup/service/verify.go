package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/backup/manifest"
)

// ErrChecksumsOnly tells that an encrypted backup's checksums were checked,
// but no restore was tried: the identity is not on this host.
var ErrChecksumsOnly = errors.New("the backup is encrypted and no age identity is on this host: its checksums match the manifest, but no restore was tried; run `kit-backup verify --identity FILE` where the private key is")

// ScratchPrefix names the databases a verification restores into.
const ScratchPrefix = "kit_verify_"

// Verify restores the newest backup into scratch databases on the stack's
// server, compares their row counts with the manifest, drops them again and
// records the outcome. identity is needed for encrypted backups only.
func (s *Service) Verify(ctx context.Context, identity string) (manifest.Manifest, error) {
	unlock, err := tryLock(s.Cfg.Dir)
	if err != nil {
		return manifest.Manifest{}, err
	}
	defer unlock()
	began := time.Now()
	m, err := s.verify(ctx, identity)
	if err == ErrChecksumsOnly {
		end := s.now().UTC()
		_ = UpdateStatus(s.Cfg.Dir, func(st *Status) { st.LastChecksumCheck = end })
		s.Log.Info("encrypted backup: checksums verified; no identity here for a restore check", "id", m.ID)
		return m, err
	}
	if err != nil {
		s.recordFailure(StageVerify, fmt.Errorf("verify: %w", err))
		return m, err
	}
	end := s.now().UTC()
	_ = UpdateStatus(s.Cfg.Dir, func(st *Status) {
		st.LastVerified = end
		st.LastVerifiedBackup = m.ID
		st.LastVerifyDuration = time.Since(began).Seconds()
	})
	s.Log.Info("verified", "id", m.ID, "duration", time.Since(began).Round(time.Millisecond))
	return m, nil
}

func (s *Service) verify(ctx context.Context, identity string) (manifest.Manifest, error) {
	good, err := List(s.Cfg.Dir)
	if err != nil {
		return manifest.Manifest{}, err
	}
	if len(good) == 0 {
		return manifest.Manifest{}, fmt.Errorf("no good backup in %s to verify", s.Cfg.Dir)
	}
	m := good[0].Manifest
	if m.Encrypted && identity == "" {
		// The private key is not on the host: check what can be checked
		// without it. The full restore check runs where the key is (the
		// drill, an operator's machine: kit-backup verify --identity).
		if err := manifest.Check(good[0].Dir, m); err != nil {
			return m, err
		}
		return m, ErrChecksumsOnly
	}
	rename := map[string]string{}
	for _, d := range m.Databases {
		rename[d.Name] = ScratchPrefix + d.Name
	}
	defer s.dropScratch(rename)
	shards := s.Cfg.HistoryShards
	if shards == 0 {
		shards = m.HistoryShards
	}
	if _, err := s.restore(ctx, RestoreOptions{ID: m.ID, Identity: identity, Replace: true, DropReplaced: true, Rename: rename, HistoryShards: max(shards, 1), KeepOrphans: true}); err != nil {
		return m, err
	}
	var diffs []string
	for _, d := range m.Databases {
		got, err := countIn(ctx, rename[d.Name], d.Name)
		if err != nil {
			return m, err
		}
		for _, msg := range manifest.CompareRows(d.Rows, got) {
			diffs = append(diffs, d.Name+"."+msg)
		}
	}
	if len(diffs) > 0 {
		return m, fmt.Errorf("backup %s restored, but its rows differ from the manifest: %s", m.ID, strings.Join(diffs, "; "))
	}
	return m, nil
}

// countIn counts the key tables of the dumped database name in the scratch database db.
func countIn(ctx context.Context, db, name string) (map[string]int64, error) {
	c, err := connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	return countRows(ctx, tx, name)
}

func (s *Service) dropScratch(rename map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := connect(ctx, "postgres")
	if err != nil {
		s.Log.Error("drop scratch databases", "err", err)
		return
	}
	defer admin.Close(context.Background())
	for _, db := range rename {
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+q(db)+` WITH (FORCE)`); err != nil {
			s.Log.Error("drop scratch database", "database", db, "err", err)
		}
	}
}
