package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

// TestBackupDrill is the restore drill of every CI run: a job runs, the
// backup service backs the stack up, a new stack started from the same
// Definition refuses damaged archives, restores into its fresh
// PostgreSQL, then starts Temporal on the restored data: the same
// workflows are listed and describable in the same states, and the
// pipeline's results are equal. Then the bad cases: a full backup volume,
// an unreachable database.
func TestBackupDrill(t *testing.T) {
	stacktest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	// The original stack, with a finished job and one still running while the backup is taken.
	def := stacktest.LocalDev(t, fixtureConfig(nil))
	src := stacktest.Start(t, def, stacktest.With(fixturesvc.Service(0)))
	done := submit(ctx, t, src, fixture.SyntheticRowsFrom(3001, 60))
	waitComplete(ctx, t, src, done)
	before := observe(ctx, t, src)
	t.Logf("original stack: %d workflows in visibility, results %v", len(before.listed), before.results)
	// A second job runs while the backup is taken: its workflows change
	// between the dump of temporal and that of temporal_visibility.
	running := submit(ctx, t, src, fixture.SyntheticRowsFrom(4001, 1500))
	time.Sleep(time.Second)

	began := time.Now()
	id := backupNow(ctx, t, src)
	t.Logf("FIGURE backup of the drill stack: %s", time.Since(began).Round(100*time.Millisecond))
	manifestJSON := readFile(ctx, t, src, path.Join(stacks.BackupDir, id, "manifest.json"))
	t.Logf("manifest:\n%s", manifestJSON)
	waitComplete(ctx, t, src, running)
	final := observe(ctx, t, src)

	t.Run("metrics show the backup", func(t *testing.T) {
		m := metrics(t, src)
		for _, db := range []string{"temporal", "temporal_visibility", "ampledata"} {
			if v := m[`kit_backup_last_success_timestamp_seconds{database="`+db+`",target="local"}`]; v < float64(began.Unix()) {
				t.Errorf("%s: last success %v, want after %v", db, v, began.Unix())
			}
			if m[`kit_backup_size_bytes{database="`+db+`"}`] <= 0 {
				t.Errorf("%s: no size", db)
			}
		}
	})

	t.Run("scheduled verification restores into scratch databases", func(t *testing.T) {
		began := time.Now()
		code, out, err := src.Exec(ctx, stacks.ServiceBackup, "kit-backup", "verify")
		if err != nil || code != 0 || !strings.Contains(out, "row counts match") {
			t.Fatalf("verify: code=%d err=%v\n%s", code, err, out)
		}
		t.Logf("FIGURE verification restore of the drill stack: %s", time.Since(began).Round(100*time.Millisecond))
		if m := metrics(t, src); m["kit_backup_last_verified_restore_timestamp_seconds"] < float64(began.Unix()) {
			t.Errorf("last verified %v, want after %v", m["kit_backup_last_verified_restore_timestamp_seconds"], began.Unix())
		}
		if dbs := databases(ctx, t, src); strings.Contains(strings.Join(dbs, ","), "kit_verify_") {
			t.Errorf("scratch databases left behind: %v", dbs)
		}
	})

	// The new stack: its PostgreSQL and backup service only, until the restore.
	// Its backup volume is a small tmpfs, for the full-volume case below.
	dst := stacktest.Start(t, def, stacktest.With(fixturesvc.Service(0)), stacktest.Only(stacks.ServiceBackup),
		stacktest.WithTmpfsVolume(stacks.VolumeBackups, 48, backupUID))
	files := []string{"manifest.json", "globals.sql", "temporal.dump", "temporal_visibility.dump", "ampledata.dump"}
	content := map[string][]byte{}
	for _, f := range files {
		content[f] = []byte(readFile(ctx, t, src, path.Join(stacks.BackupDir, id, f)))
	}
	putBackup(ctx, t, dst, id, content)

	restore := func(args ...string) (int, string) {
		code, out, err := dst.Exec(ctx, stacks.ServiceBackup, append([]string{"kit-backup", "restore"}, args...)...)
		if err != nil {
			t.Fatalf("exec restore: %v", err)
		}
		return code, out
	}
	t.Run("refuses a damaged archive before touching the target", func(t *testing.T) {
		for _, tc := range []struct {
			name, id string
			damage   func(map[string][]byte)
			want     string
		}{
			{"truncated", "20000101T000000Z", func(c map[string][]byte) { c["temporal.dump"] = c["temporal.dump"][:len(c["temporal.dump"])/2] }, "truncated"},
			{"corrupted", "20000102T000000Z", func(c map[string][]byte) {
				b := bytes.Clone(c["ampledata.dump"])
				b[len(b)/2] ^= 0xff
				c["ampledata.dump"] = b
			}, "corrupted"},
		} {
			bad := map[string][]byte{}
			for k, v := range content {
				bad[k] = v
			}
			tc.damage(bad)
			putBackup(ctx, t, dst, tc.id, bad)
			code, out := restore("--backup", tc.id)
			if code == 0 || !strings.Contains(out, "restore refused, the target was not touched") || !strings.Contains(out, tc.want) {
				t.Errorf("%s: code %d\n%s", tc.name, code, out)
			}
		}
		code, out := restore("--backup", id, "--history-shards", "8")
		if code == 0 || !strings.Contains(out, "taken with 4 history shards, the target stack has 8") {
			t.Errorf("shard mismatch: code %d\n%s", code, out)
		}
		if dbs := databases(ctx, t, dst); strings.Contains(strings.Join(dbs, ","), "temporal") {
			t.Errorf("refused restores touched the target: %v", dbs)
		}
	})

	t.Run("restores into the fresh PostgreSQL", func(t *testing.T) {
		began := time.Now()
		code, out := restore("--backup", id)
		if code != 0 || !strings.Contains(out, "Next:") {
			t.Fatalf("restore: code %d\n%s", code, out)
		}
		t.Logf("FIGURE restore of the drill backup: %s\n%s", time.Since(began).Round(100*time.Millisecond), out)
		code, out = restore("--backup", id)
		if code == 0 || !strings.Contains(out, "--replace") {
			t.Errorf("a second restore over the restored databases was not refused: code %d\n%s", code, out)
		}
	})

	t.Run("Temporal on the restored data shows the same workflows", func(t *testing.T) {
		var rest []string
		for _, s := range dst.Def.Services {
			rest = append(rest, s.Name)
		}
		if err := dst.StartMore(ctx, rest...); err != nil {
			t.Fatalf("start the rest of the new stack: %v", err)
		}
		after := observe(ctx, t, dst)
		if after.results[done] != before.results[done] {
			t.Errorf("pipeline results of the finished job differ: restored %s, original %s", after.results[done], before.results[done])
		}
		// The workflows that had ended before the backup are there, in the same states.
		for key, st := range before.described {
			if got := after.described[key]; got != st {
				t.Errorf("%s: restored %q, original %q", key, got, st)
			}
		}
		// Visibility against history for the job that ran during the dumps.
		var ahead, missing []string
		for key, listed := range after.listed {
			got, ok := after.described[key]
			switch {
			case !ok:
				missing = append(missing, key)
			case got != listed:
				ahead = append(ahead, fmt.Sprintf("%s listed %s, history %s", key, listed, got))
			}
		}
		t.Logf("FIGURE restored visibility vs history: %d listed, %d describable, %d listed in another state than history says %v, %d not in history %v",
			len(after.listed), len(after.described), len(ahead), ahead, len(missing), missing)
		// The job restored mid-flight finishes on the new stack with the
		// very results the original stack produced.
		waitComplete(ctx, t, dst, running)
		end := observe(ctx, t, dst)
		if end.results[running] != final.results[running] {
			t.Errorf("results of the job restored mid-flight: %s, the original stack's %s", end.results[running], final.results[running])
		}
		for key, st := range end.listed {
			if d := end.described[key]; d != st {
				t.Errorf("after the job finished, %s is listed %s but history says %q", key, st, d)
			}
		}
	})

	t.Run("bad cases: database unreachable", func(t *testing.T) {
		failedBefore := metrics(t, dst)[`kit_backup_failures_total{stage="dump"}`]
		code, out, err := dst.Exec(ctx, stacks.ServiceBackup, "env", "PGHOST=nowhere.invalid", "kit-backup", "backup")
		if err != nil || code == 0 || !strings.Contains(out, "nowhere.invalid") || !strings.Contains(out, "older backups are intact") {
			t.Errorf("unreachable database: code %d err %v\n%s", code, err, out)
		}
		if got := metrics(t, dst)[`kit_backup_failures_total{stage="dump"}`]; got != failedBefore+1 {
			t.Errorf("dump failures %v, want %v", got, failedBefore+1)
		}
	})

	t.Run("bad cases: backup volume full during a dump", func(t *testing.T) {
		// Fill the volume but for a few hundred kB: the next dump cannot fit.
		code, out, err := dst.Exec(ctx, stacks.ServiceBackup, "sh", "-c",
			`free=$(df -k --output=avail /backups | tail -1); dd if=/dev/zero of=/backups/filler bs=1k count=$((free - 256)) 2>&1; df -k /backups`)
		if err != nil || code != 0 {
			t.Fatalf("fill volume: %d %v\n%s", code, err, out)
		}
		t.Logf("volume filled:\n%s", out)
		code, out, err = dst.Exec(ctx, stacks.ServiceBackup, "kit-backup", "backup")
		if err != nil || code == 0 || !strings.Contains(out, "backup volume is full") || !strings.Contains(out, "older backups are intact") {
			t.Errorf("full volume: code %d err %v\n%s", code, err, out)
		}
		if got := metrics(t, dst)[`kit_backup_failures_total{stage="disk"}`]; got != 1 {
			t.Errorf("disk failures %v, want 1", got)
		}
		code, out, _ = dst.Exec(ctx, stacks.ServiceBackup, "sh", "-c", "ls -a /backups; rm -f /backups/filler; kit-backup list")
		if code != 0 || strings.Contains(out, ".partial-") || !strings.Contains(out, id) {
			t.Errorf("after the full volume: partial left or the old backup gone:\n%s", out)
		}
		// The old backup is intact: it still restores, checksums first.
		code, out, _ = dst.Exec(ctx, stacks.ServiceBackup, "kit-backup", "verify")
		if code != 0 {
			t.Errorf("verify after the full volume: %d\n%s", code, out)
		}
	})
}

// backupUID is the backup image's user (infra/images/recipes/backup).
const backupUID = 10002

// backupNow runs one backup in the stack's backup service and returns its id.
func backupNow(ctx context.Context, t *testing.T, st *stacktest.Stack) string {
	t.Helper()
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "backup")
	if err != nil || code != 0 {
		t.Fatalf("backup: code=%d err=%v\n%s", code, err, out)
	}
	id := regexp.MustCompile(`\d{8}T\d{6}Z`).FindString(out)
	if id == "" {
		t.Fatalf("backup printed no id:\n%s", out)
	}
	return id
}

func readFile(ctx context.Context, t *testing.T, st *stacktest.Stack, p string) string {
	t.Helper()
	r, err := st.Container(stacks.ServiceBackup).CopyFileFromContainer(ctx, p)
	if err != nil {
		t.Fatalf("copy %s: %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// putBackup writes a backup's files into the stack's backup volume, as an
// operator copies one from off-site storage.
func putBackup(ctx context.Context, t *testing.T, st *stacktest.Stack, id string, files map[string][]byte) {
	t.Helper()
	dir := path.Join(stacks.BackupDir, id)
	if code, out, err := st.Exec(ctx, stacks.ServiceBackup, "mkdir", "-p", dir); err != nil || code != 0 {
		t.Fatalf("mkdir %s: %d %v %s", dir, code, err, out)
	}
	for name, b := range files {
		if err := st.Container(stacks.ServiceBackup).CopyToContainer(ctx, b, path.Join(dir, name), 0o644); err != nil {
			t.Fatalf("copy %s: %v", name, err)
		}
	}
}

// metrics scrapes the backup service.
func metrics(t *testing.T, st *stacktest.Stack) map[string]float64 {
	t.Helper()
	body := httpGet(t, "http://"+st.Endpoint(stacks.ServiceBackup, stacks.PortBackupMetrics)+"/metrics")
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, "kit_backup_") {
			continue
		}
		i := strings.LastIndex(line, " ")
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func pgConn(ctx context.Context, t *testing.T, st *stacktest.Stack, db string) *pgx.Conn {
	t.Helper()
	pg, _ := st.Def.Service(stacks.ServicePostgres)
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pg.PlainEnv()["POSTGRES_USER"], st.Secret(stacks.SecretPostgresPassword)),
		Host: st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres), Path: "/" + db, RawQuery: "sslmode=disable"}
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect %s: %v", db, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func databases(ctx context.Context, t *testing.T, st *stacktest.Stack) []string {
	t.Helper()
	rows, err := pgConn(ctx, t, st, "postgres").Query(ctx, `SELECT datname FROM pg_database ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	dbs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return dbs
}

// observation is what a stack shows of its state: workflows as visibility
// lists them, as history describes them, and a digest of the results.
type observation struct {
	listed, described map[string]string // "workflowID/runID" -> status
	results           map[string]string  // job -> row count and digest (updated_at aside)
}

func observe(ctx context.Context, t *testing.T, st *stacktest.Stack) observation {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC), Namespace: "ampledata"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := observation{listed: map[string]string{}, described: map[string]string{}}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "ampledata", PageSize: 1000, NextPageToken: token})
		if err != nil {
			t.Fatalf("list workflows: %v", err)
		}
		for _, e := range resp.Executions {
			o.listed[e.Execution.WorkflowId+"/"+e.Execution.RunId] = e.Status.String()
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	keys := make([]string, 0, len(o.listed))
	for k := range o.listed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wid, rid, _ := strings.Cut(k, "/")
		d, err := c.DescribeWorkflowExecution(ctx, wid, rid)
		if err != nil {
			continue // not in history
		}
		o.described[k] = d.WorkflowExecutionInfo.Status.String()
	}
	rows, err := pgConn(ctx, t, st, stacks.WorkerDatabase).Query(ctx,
		`SELECT job_id, count(*), md5(string_agg((to_jsonb(r) - 'updated_at')::text, E'\n' ORDER BY row_num)) FROM results r GROUP BY job_id`)
	if err != nil {
		t.Fatalf("results digest: %v", err)
	}
	o.results = map[string]string{}
	for rows.Next() {
		var job, digest string
		var n int64
		if err := rows.Scan(&job, &n, &digest); err != nil {
			t.Fatal(err)
		}
		o.results[job] = fmt.Sprintf("%d rows, md5 %s", n, digest)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return o
}
