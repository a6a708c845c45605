package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampledata/temporal-kit/backup/manifest"
)

// swap restores into scratch databases and renames them to their targets
// in one transaction, so a target is either the old database or the fully
// restored one, never a half-restored or missing one. A target that
// existed is kept under <target>_old_<suffix>.
type swap struct {
	admin    *pgx.Conn
	exists   map[string]bool
	suffix   string
	order    []string
	scratch  map[string]string // target -> scratch database
	replaced map[string]string // target -> the name the old database is kept under
	done     bool
}

func newSwap(admin *pgx.Conn, exists map[string]bool, now time.Time) *swap {
	return &swap{admin: admin, exists: exists, suffix: strconv.FormatInt(now.Unix(), 36), scratch: map[string]string{}}
}

// add returns the scratch database that target is restored into.
func (w *swap) add(target string) string {
	w.order = append(w.order, target)
	w.scratch[target] = target + "_restore_" + w.suffix
	return w.scratch[target]
}

// untouched says what a failure before the swap left as it was.
func (w *swap) untouched() string {
	var live []string
	for _, t := range w.order {
		if w.exists[t] {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return "no target database was created; the scratch databases are dropped"
	}
	return "the live databases (" + strings.Join(live, ", ") + ") are untouched; the scratch databases are dropped"
}

// commit renames every target aside and every scratch database to its
// target, in one transaction. PostgreSQL refuses to rename a database a
// client is connected to: then nothing is renamed.
func (w *swap) commit(ctx context.Context) error {
	tx, err := w.admin.Begin(ctx)
	if err != nil {
		return fmt.Errorf("swap: %w; %s", err, w.untouched())
	}
	defer tx.Rollback(context.Background())
	replaced := map[string]string{}
	for _, t := range w.order {
		if w.exists[t] {
			old := t + "_old_" + w.suffix
			if _, err := tx.Exec(ctx, `ALTER DATABASE `+q(t)+` RENAME TO `+q(old)); err != nil {
				return w.swapFailed(ctx, err)
			}
			replaced[t] = old
		}
		if _, err := tx.Exec(ctx, `ALTER DATABASE `+q(w.scratch[t])+` RENAME TO `+q(t)); err != nil {
			return w.swapFailed(ctx, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return w.swapFailed(ctx, err)
	}
	w.done, w.replaced = true, replaced
	return nil
}

func (w *swap) swapFailed(ctx context.Context, err error) error {
	msg := fmt.Sprintf("swap the restored databases in: %v; %s", err, w.untouched())
	if clients, cerr := connectedClients(ctx, w.admin, w.order); cerr == nil && len(clients) > 0 {
		msg += "; connected meanwhile: " + strings.Join(clients, "; ")
	}
	return fmt.Errorf("%s", msg)
}

// cleanup drops the scratch databases of a restore that did not swap.
func (w *swap) cleanup(log *slog.Logger) {
	if w.done || len(w.scratch) == 0 {
		return
	}
	w.drop(log, w.scratch)
}

// dropReplaced drops the databases the swap renamed aside.
func (w *swap) dropReplaced(log *slog.Logger) { w.drop(log, w.replaced) }

func (w *swap) drop(log *slog.Logger, dbs map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A fresh connection: the restore's may have died with its context.
	admin, err := connect(ctx, "postgres")
	if err != nil {
		log.Error("drop databases", "err", err)
		return
	}
	defer admin.Close(context.Background())
	for _, db := range dbs {
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+q(db)+` WITH (FORCE)`); err != nil {
			log.Error("drop database", "database", db, "err", err)
		}
	}
}

// checkTargetName accepts a configured database name, or one with the
// verification's scratch prefix.
func checkTargetName(target string) error {
	return manifest.CheckDatabaseName(strings.TrimPrefix(target, ScratchPrefix))
}

// connectedClients describes the other sessions on dbs, grouped by
// database, user, application and address; the address is named by its
// reverse DNS (on a Docker network: the container).
func connectedClients(ctx context.Context, admin *pgx.Conn, dbs []string) ([]string, error) {
	if len(dbs) == 0 {
		return nil, nil
	}
	rows, err := admin.Query(ctx, `SELECT datname, coalesce(usename, ''), coalesce(application_name, ''), coalesce(host(client_addr), ''), count(*)
		FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, dbs)
	if err != nil {
		return nil, fmt.Errorf("list the clients of %s: %w", strings.Join(dbs, ", "), err)
	}
	var out []string
	for rows.Next() {
		var db, user, app, addr string
		var n int
		if err := rows.Scan(&db, &user, &app, &addr, &n); err != nil {
			return nil, err
		}
		from := "a local socket"
		if addr != "" {
			from = addr + hostName(ctx, addr)
		}
		c := fmt.Sprintf("%s: %d connection(s) from %s as %s", db, n, from, user)
		if app != "" {
			c += fmt.Sprintf(", application %q", app)
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out, rows.Err()
}

func hostName(ctx context.Context, addr string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, addr)
	if err != nil || len(names) == 0 {
		return ""
	}
	return " (" + strings.TrimSuffix(names[0], ".") + ")"
}
