package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protowire"
)

// keyTables are the tables whose rows a manifest counts, per database;
// a database not listed here gets every table of its public schema counted.
var keyTables = map[string][]string{
	"temporal":            {"namespaces", "shards", "executions", "current_executions", "history_node", "history_tree", "timer_tasks", "transfer_tasks"},
	"temporal_visibility": {"executions_visibility"},
}

// connect opens a connection to database on the server the PG* environment names.
func connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL settings (PGHOST, PGPORT, PGUSER, PGPASSWORD_FILE): %w", err)
	}
	cfg.Database = database
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database %s at %s:%d as %s: %w", database, cfg.Host, cfg.Port, cfg.User, err)
	}
	return c, nil
}

// q quotes an identifier.
func q(ident string) string { return pgx.Identifier{ident}.Sanitize() }

// countRows counts the key tables of database that exist, in the
// transaction (so in the snapshot) tx sees.
func countRows(ctx context.Context, tx pgx.Tx, database string) (map[string]int64, error) {
	tables := keyTables[database]
	if tables == nil {
		rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
		if err != nil {
			return nil, err
		}
		tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
	}
	out := map[string]int64{}
	for _, t := range tables {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "public."+q(t)).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			continue
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM public.`+q(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", database, t, err)
		}
		out[t] = n
	}
	return out, nil
}

// schemaVersion reads a Temporal database's schema version ("" when the
// database has no Temporal schema).
func schemaVersion(ctx context.Context, tx pgx.Tx) (string, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('public.schema_version') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return "", err
	}
	var v string
	err := tx.QueryRow(ctx, `SELECT curr_version FROM schema_version ORDER BY version_partition LIMIT 1`).Scan(&v)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return v, err
}

// historyShards reads the shard count the cluster was created with from
// its cluster metadata (field 2 of persistence.v1.ClusterMetadata); 0 when
// the server has not initialised it.
func historyShards(ctx context.Context, tx pgx.Tx) (int, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('public.cluster_metadata_info') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var data []byte
	var enc string
	err := tx.QueryRow(ctx, `SELECT data, data_encoding FROM cluster_metadata_info ORDER BY metadata_partition, cluster_name LIMIT 1`).Scan(&data, &enc)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !strings.EqualFold(enc, "proto3") {
		return 0, fmt.Errorf("cluster metadata encoding %q, want proto3", enc)
	}
	return shardsFromClusterMetadata(data)
}

func shardsFromClusterMetadata(b []byte) (int, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("cluster metadata: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 2 && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, fmt.Errorf("cluster metadata: %w", protowire.ParseError(m))
			}
			return int(int32(v)), nil
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0, fmt.Errorf("cluster metadata: %w", protowire.ParseError(m))
		}
		b = b[m:]
	}
	return 0, nil
}

// run runs a PostgreSQL client tool; the error carries its stderr.
func run(ctx context.Context, name string, args ...string) error {
	return runIO(ctx, nil, nil, name, args...)
}

// runIO runs a PostgreSQL client tool with stdin and stdout connected
// (nil: none); the error carries its stderr.
func runIO(ctx context.Context, stdin io.Reader, stdout io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}
