package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/backup/manifest"
)

// RestoreOptions choose what to restore where. The target server is the
// one the PG* environment names.
type RestoreOptions struct {
	// ID of the backup; "" or "latest" is the newest good one.
	ID string
	// From is the directory holding the backups (default Config.Dir).
	From string
	// Identity is an age identity file, needed for encrypted backups.
	Identity string
	// Replace allows restoring over databases that hold tables: they are
	// renamed aside (RestoreReport.Replaced) when the restored copies take their names.
	Replace bool
	// DropReplaced drops the replaced databases after the swap instead of keeping them.
	DropReplaced bool
	// Globals also replays pg_dumpall --globals-only (roles, tablespaces)
	// into the target; off by default, since a stack's PostgreSQL creates its user itself.
	Globals bool
	// Rename maps a dumped database to another target name (verification's scratch databases).
	Rename map[string]string
	// HistoryShards is the target stack's shard count; 0 takes Config.HistoryShards.
	HistoryShards int
	// KeepOrphans keeps visibility records of workflows the restored
	// history does not have (see reconcileVisibility).
	KeepOrphans bool
}

// RestoreReport says what was restored.
type RestoreReport struct {
	Manifest manifest.Manifest
	// Targets maps dumped database -> restored database.
	Targets  map[string]string
	Duration time.Duration
	// Orphans are the visibility records removed because history has no such run.
	Orphans []string
	// Replaced maps a target that existed to the name it is kept under.
	Replaced map[string]string
}

// RefusedError is a restore that stopped before it touched the target.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string {
	return "restore refused, the target was not touched: " + e.Reason
}

// Resolve finds the backup directory of id ("latest" = newest good one).
func Resolve(from, id string) (string, error) {
	if id == "" || id == "latest" {
		good, err := List(from)
		if err != nil {
			return "", err
		}
		if len(good) == 0 {
			return "", fmt.Errorf("no good backup in %s", from)
		}
		return good[0].Dir, nil
	}
	if id != filepath.Base(id) || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("%q is not a backup id (like 20261130T030000Z); `kit-backup list` shows them", id)
	}
	dir := filepath.Join(from, id)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("backup %s: %w; `kit-backup list` shows the backups", id, err)
	}
	return dir, nil
}

// Restore checks a backup completely, then restores it, holding the same
// lock as backups and verifications: checksums, the manifest's fields and
// decryption first, then the history shard count, then the target (its
// databases, and that no other client is connected to them). Only when all
// pass does it restore, into scratch databases; they replace the targets
// in one transaction once every pg_restore succeeded.
func (s *Service) Restore(ctx context.Context, o RestoreOptions) (RestoreReport, error) {
	unlock, err := tryLock(s.Cfg.Dir)
	if err != nil {
		return RestoreReport{}, &RefusedError{err.Error()}
	}
	defer unlock()
	return s.restore(ctx, o)
}

// restore is Restore under the run lock the caller holds.
func (s *Service) restore(ctx context.Context, o RestoreOptions) (RestoreReport, error) {
	began := time.Now()
	from := o.From
	if from == "" {
		from = s.Cfg.Dir
	}
	dir, err := Resolve(from, o.ID)
	if err != nil {
		return RestoreReport{}, &RefusedError{err.Error()}
	}
	m, err := manifest.Read(dir)
	if err != nil {
		return RestoreReport{}, &RefusedError{err.Error()}
	}
	rep := RestoreReport{Manifest: m, Targets: map[string]string{}}
	arc, err := s.checkBackup(ctx, dir, m, o)
	if err != nil {
		return rep, &RefusedError{err.Error()}
	}
	rep.Targets = targetNames(m.Databases, o.Rename)
	admin, err := connect(ctx, "postgres")
	if err != nil {
		return rep, &RefusedError{err.Error()}
	}
	defer admin.Close(context.Background())
	exists, err := s.checkTargets(ctx, admin, rep.Targets, o.Replace)
	if err != nil {
		return rep, err
	}

	// From here on the server changes, but the targets only at the swap.
	sw := newSwap(admin, exists, s.now())
	defer sw.cleanup(s.Log)
	if err := s.restoreIntoScratch(ctx, sw, arc, m, rep.Targets); err != nil {
		return rep, err
	}
	if !o.KeepOrphans {
		if rep.Orphans, err = s.removeOrphans(ctx, sw, rep.Targets); err != nil {
			return rep, err
		}
	}
	if o.Globals {
		if err := arc.replayGlobals(ctx, m.Globals.Name); err != nil {
			return rep, fmt.Errorf("globals; %s: %w", sw.untouched(), err)
		}
	}
	if err := sw.commit(ctx); err != nil {
		return rep, err
	}
	rep.Replaced = sw.replaced
	if o.DropReplaced {
		sw.dropReplaced(s.Log)
		rep.Replaced = nil
	}
	rep.Duration = time.Since(began)
	return rep, nil
}

// targetNames maps each dumped database to the database it is restored
// into: its own name, unless rename gives another.
func targetNames(dbs []manifest.Database, rename map[string]string) map[string]string {
	targets := map[string]string{}
	for _, d := range dbs {
		targets[d.Name] = d.Name
		if t, ok := rename[d.Name]; ok {
			targets[d.Name] = t
		}
	}
	return targets
}

// checkBackup checks the backup in dir completely before anything is
// touched: the manifest's fields, the checksums, the history shard count
// against the target stack's, and decryption with o.Identity. An error is
// the reason to refuse; the archive it returns reads the backup's dumps.
func (s *Service) checkBackup(ctx context.Context, dir string, m manifest.Manifest, o RestoreOptions) (archive, error) {
	arc := archive{dir: dir}
	if err := manifest.Validate(m, filepath.Base(dir), s.Cfg.Databases); err != nil {
		return arc, err
	}
	if err := manifest.Check(dir, m); err != nil {
		return arc, err
	}
	want := o.HistoryShards
	if want == 0 {
		want = s.Cfg.HistoryShards
	}
	switch {
	case want == 0:
		return arc, fmt.Errorf("the target stack's history shard count is unknown; set %s (the stack's historyShards) or pass --history-shards", EnvHistoryShards)
	case m.HistoryShards != 0 && m.HistoryShards != want:
		return arc, fmt.Errorf("backup %s was taken with %d history shards, the target stack has %d; Temporal cannot change its shard count: set the stack's historyShards to %d before restoring", m.ID, m.HistoryShards, want, m.HistoryShards)
	}
	if m.Encrypted {
		if o.Identity == "" {
			return arc, fmt.Errorf("backup %s is encrypted to %s; pass --identity FILE with a matching age private key", m.ID, strings.Join(m.Recipients, ", "))
		}
		var err error
		if arc.ids, err = readIdentities(o.Identity); err != nil {
			return arc, err
		}
	}
	return arc, arc.check(ctx, m)
}

// restoreIntoScratch restores each dumped database into a new scratch
// database of sw, which stands in for its target until the swap.
func (s *Service) restoreIntoScratch(ctx context.Context, sw *swap, arc archive, m manifest.Manifest, targets map[string]string) error {
	for _, d := range m.Databases {
		scratch := sw.add(targets[d.Name])
		if _, err := sw.admin.Exec(ctx, `CREATE DATABASE `+q(scratch)); err != nil {
			return fmt.Errorf("create scratch database %s: %w", scratch, err)
		}
		if err := arc.restore(ctx, d.File.Name, scratch); err != nil {
			return fmt.Errorf("restore %s into the scratch database %s failed; %s: %w", d.Name, scratch, sw.untouched(), err)
		}
		s.Log.Info("restored", "database", d.Name, "into", scratch)
	}
	return nil
}

// removeOrphans removes, in the scratch copies, the visibility records of
// runs the restored history does not have, when both Temporal databases
// are restored; it returns the removed ones.
func (s *Service) removeOrphans(ctx context.Context, sw *swap, targets map[string]string) ([]string, error) {
	t, hasT := targets["temporal"]
	v, hasV := targets["temporal_visibility"]
	if !hasT || !hasV {
		return nil, nil
	}
	orphans, err := reconcileVisibility(ctx, sw.scratch[t], sw.scratch[v])
	if err != nil {
		return nil, fmt.Errorf("the visibility check failed; %s: %w", sw.untouched(), err)
	}
	if len(orphans) > 0 {
		s.Log.Info("removed visibility records without history", "count", len(orphans))
	}
	return orphans, nil
}

// checkTargets refuses targets that hold tables (unless replace) and
// targets other clients are connected to, naming those clients. It
// returns which targets exist.
func (s *Service) checkTargets(ctx context.Context, admin *pgx.Conn, targets map[string]string, replace bool) (map[string]bool, error) {
	exists := map[string]bool{}
	var busy, live []string
	for _, target := range targets {
		if err := checkTargetName(target); err != nil {
			return nil, &RefusedError{err.Error()}
		}
		var ok bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, target).Scan(&ok); err != nil {
			return nil, &RefusedError{err.Error()}
		}
		exists[target] = ok
		if !ok {
			continue
		}
		live = append(live, target)
		n, err := tableCount(ctx, target)
		if err != nil {
			return nil, &RefusedError{err.Error()}
		}
		if n > 0 {
			busy = append(busy, fmt.Sprintf("%s (%d tables)", target, n))
		}
	}
	if len(busy) > 0 && !replace {
		sort.Strings(busy)
		return nil, &RefusedError{fmt.Sprintf("the target already holds %s; restore into a fresh PostgreSQL, or pass --replace to replace these databases", strings.Join(busy, ", "))}
	}
	clients, err := connectedClients(ctx, admin, live)
	if err != nil {
		return nil, &RefusedError{err.Error()}
	}
	if len(clients) > 0 {
		return nil, &RefusedError{fmt.Sprintf("other clients are connected to the target databases: %s; stop them first (Temporal, the UI and the worker: docker stop temporal-kit-<stack>-worker temporal-kit-<stack>-temporal temporal-kit-<stack>-temporal-ui), then restore again",
			strings.Join(clients, "; "))}
	}
	return exists, nil
}

// reconcileVisibility deletes the visibility records of runs the restored
// history does not know. The databases are dumped one after the other,
// temporal first, so visibility can only be ahead: a workflow started
// between the two dumps is listed but has no history. The server cannot
// describe, delete or ever finish such a run, and retention never removes
// its record (retention follows history); the list would show it forever.
// Records of runs history does know are left alone: a state a little ahead
// of history is rewritten on the run's next transition.
func reconcileVisibility(ctx context.Context, temporalDB, visibilityDB string) ([]string, error) {
	tc, err := connect(ctx, temporalDB)
	if err != nil {
		return nil, err
	}
	defer tc.Close(context.Background())
	rows, err := tc.Query(ctx, `SELECT encode(run_id, 'hex') FROM executions`)
	if err != nil {
		return nil, fmt.Errorf("read history runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read history runs: %w", err)
	}
	known := map[string]bool{}
	for _, r := range runs {
		known[r] = true
	}
	vc, err := connect(ctx, visibilityDB)
	if err != nil {
		return nil, err
	}
	defer vc.Close(context.Background())
	type rec struct{ ns, run, wf string }
	vrows, err := vc.Query(ctx, `SELECT namespace_id, run_id, workflow_id FROM executions_visibility`)
	if err != nil {
		return nil, fmt.Errorf("read visibility records: %w", err)
	}
	recs, err := pgx.CollectRows(vrows, func(r pgx.CollectableRow) (rec, error) {
		var x rec
		err := r.Scan(&x.ns, &x.run, &x.wf)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("read visibility records: %w", err)
	}
	var removed []string
	for _, r := range recs {
		run := strings.TrimSpace(r.run)
		if known[strings.ReplaceAll(run, "-", "")] {
			continue
		}
		if _, err := vc.Exec(ctx, `DELETE FROM executions_visibility WHERE namespace_id = $1 AND run_id = $2`, r.ns, r.run); err != nil {
			return removed, fmt.Errorf("delete visibility record of %s/%s: %w", r.wf, run, err)
		}
		removed = append(removed, r.wf+"/"+run)
	}
	return removed, nil
}

// tableCount counts the user tables of database.
func tableCount(ctx context.Context, database string) (int, error) {
	c, err := connect(ctx, database)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`).Scan(&n)
	return n, err
}

// NextSteps is what an operator runs after a restore.
func NextSteps(r RestoreReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Restored backup %s (taken %s, Temporal %s, %d history shards, schema %v) in %s.\n",
		r.Manifest.ID, r.Manifest.Time.Format(time.RFC3339), r.Manifest.TemporalVersion, r.Manifest.HistoryShards, r.Manifest.SchemaVersions, r.Duration.Round(time.Second))
	if len(r.Orphans) > 0 {
		fmt.Fprintf(&b, "Removed %d visibility record(s) of runs the restored history does not have (started between the dumps of temporal and temporal_visibility): %s\n",
			len(r.Orphans), strings.Join(r.Orphans, ", "))
	}
	if len(r.Replaced) > 0 {
		var names []string
		for t, old := range r.Replaced {
			names = append(names, t+" -> "+old)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "The databases it replaced are kept under new names (%s); once the stack runs well on the restored data, free their space:\n", strings.Join(names, ", "))
		for _, n := range names {
			_, old, _ := strings.Cut(n, " -> ")
			fmt.Fprintf(&b, "  docker exec temporal-kit-<stack>-postgresql dropdb -U <postgres user> %s\n", old)
		}
	}
	b.WriteString(`Next:
  1. Bring Temporal up on the restored data: pulumi up --stack <stack>
     (the schema job finds the schema in place and only applies newer
     versions; keep historyShards as the backup has it).
  2. Check the cluster and the namespace:
     docker exec temporal-kit-<stack>-temporal-admin-tools temporal operator cluster health
     docker exec temporal-kit-<stack>-temporal-admin-tools temporal workflow list -n <namespace>
  3. Workflows that were running when the backup was taken resume from
     their last recorded event; work done after the backup is lost
     (resubmit those jobs). The workflow list can show a run in a later
     state than its history for a while: history wins on the run's next
     step (see docs/runbook.md, "Restore").
`)
	return b.String()
}

// IsRefused tells a refusal (nothing touched) from a failure midway.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
