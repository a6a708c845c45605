package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ampledata/temporal-kit/backup/manifest"
	"github.com/ampledata/temporal-kit/infra/images"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// The drill's safety cases (issue 15, holes 6 and 8): what a backup leaves
// on disk when encrypted, what a write-only bucket key does to retention,
// and what a restore refuses or survives. TestBackupDrill runs them on its
// stacks.

// noPlaintextDuringDump holds a lock that stops pg_dump of the pipeline's
// database midway, looks at the partial backup while the dump waits, kills
// the backup service's process, lets pg_dump go on, and looks again: every
// file is age-encrypted from its first byte, before and after the kill.
func noPlaintextDuringDump(ctx context.Context, t *testing.T, st *stacktest.Stack) {
	db := pgConn(ctx, t, st, stacks.WorkerDatabase)
	// A table outside the public schema: the manifest's row count (public
	// tables only) passes it, pg_dump waits for its lock.
	for _, q := range []string{`CREATE SCHEMA IF NOT EXISTS drill_slow`, `CREATE TABLE IF NOT EXISTS drill_slow.t (x int)`, `INSERT INTO drill_slow.t VALUES (1)`} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer db.Exec(context.Background(), `DROP SCHEMA IF EXISTS drill_slow CASCADE`)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `LOCK TABLE drill_slow.t IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "sh", "-c", "kit-backup backup >/tmp/slow-backup.log 2>&1 & echo $!")
	pid := strings.TrimSpace(out)
	if err != nil || code != 0 || !regexp.MustCompile(`^\d+$`).MatchString(pid) {
		t.Fatalf("start a backup: %d %v %q", code, err, out)
	}
	admin := pgConn(ctx, t, st, "postgres")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = $1 AND wait_event_type = 'Lock'`, stacks.WorkerDatabase).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			_, log, _ := st.Exec(ctx, stacks.ServiceBackup, "cat", "/tmp/slow-backup.log")
			t.Fatalf("pg_dump of %s never waited for the lock; backup log:\n%s", stacks.WorkerDatabase, log)
		}
	}
	during := partialFiles(ctx, t, st)
	t.Logf("partial backup while pg_dump of %s waits: %v", stacks.WorkerDatabase, during)
	if len(during) < 4 { // globals, temporal, temporal_visibility done; ampledata begun
		t.Errorf("expected the finished dumps and the one in progress, found %v", during)
	}
	checkEncrypted(t, "while the dump runs", during)

	// A crash: the service's process dies, pg_dump goes on once the lock is gone.
	if code, out, err := st.Exec(ctx, stacks.ServiceBackup, "sh", "-c", "kill -9 "+pid); err != nil || code != 0 {
		t.Fatalf("kill the backup: %d %v %s", code, err, out)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pg_dump still runs a minute after its backup was killed")
		}
	}
	after := partialFiles(ctx, t, st)
	t.Logf("partial backup after the kill and pg_dump's end: %v", after)
	checkEncrypted(t, "after a kill mid-run", after)
}

// partialFiles maps each file of the partial backups to its first bytes.
func partialFiles(ctx context.Context, t *testing.T, st *stacktest.Stack) map[string]string {
	t.Helper()
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "sh", "-c",
		`for f in `+stacks.BackupDir+`/.partial-*/*; do [ -f "$f" ] || continue; printf '%s\t' "$f"; head -c 21 "$f" | od -An -c | tr -d ' \n'; echo; done`)
	if err != nil || code != 0 {
		t.Fatalf("list partial backups: %d %v %s", code, err, out)
	}
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, head, ok := strings.Cut(line, "\t"); ok {
			files[name] = head
		}
	}
	return files
}

func checkEncrypted(t *testing.T, when string, files map[string]string) {
	t.Helper()
	for name, head := range files {
		if !strings.HasSuffix(name, ".age") || !strings.HasPrefix(head, "age-encryption.org/v1") {
			t.Errorf("%s: %s is not an age file (first bytes %q)", when, name, head)
		}
	}
}

// writeOnlyOffsite makes a bucket key that can write and read but not
// delete (versitygw's IAM user and a bucket policy without s3:DeleteObject,
// as docs/runbook.md, "Restore", tells for a real bucket), backs up with it, and
// checks the run succeeds, the copies stay, and the denial is counted.
func writeOnlyOffsite(ctx context.Context, t *testing.T, st *stacktest.Stack) {
	ak, sk := st.Secret(stacks.SecretBackupOffsiteAccessKey), st.Secret(stacks.SecretBackupOffsiteSecretKey)
	writer, secret := "kitwriter", randomHex(t, 20)
	code, out, err := st.Exec(ctx, offsiteName, "versitygw", "admin", "-a", ak, "-s", sk, "-er", fmt.Sprintf("http://127.0.0.1:%d", images.VersityGWPort),
		"create-user", "-a", writer, "-s", secret, "-r", "user")
	if err != nil || code != 0 {
		t.Fatalf("create the write-only user: %d %v %s", code, err, out)
	}
	root := offsiteClient(t, st, ak, sk)
	policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["` + writer + `"]},
		"Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::kit-backups", "arn:aws:s3:::kit-backups/*"]}]}`
	if err := root.SetBucketPolicy(ctx, "kit-backups", policy); err != nil {
		t.Fatalf("bucket policy: %v", err)
	}
	before := offsiteObjects(ctx, t, st, "drill/")
	if len(before) == 0 {
		t.Fatal("nothing off-site before the write-only run")
	}
	// The setup itself: the key may not delete.
	err = offsiteClient(t, st, writer, secret).RemoveObject(ctx, "kit-backups", before[0], minio.RemoveObjectOptions{})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("the write-only key deleted %s: %v", before[0], err)
	}
	putFile(ctx, t, st, "/tmp/writer-access-key", []byte(writer))
	putFile(ctx, t, st, "/tmp/writer-secret-key", []byte(secret))
	failedBefore := metrics(t, st)[`kit_backup_failures_total{stage="offsite"}`]
	code, out, err = st.Exec(ctx, stacks.ServiceBackup, "env", "KIT_BACKUP_S3_ACCESS_KEY_FILE=/tmp/writer-access-key", "KIT_BACKUP_S3_SECRET_KEY_FILE=/tmp/writer-secret-key",
		"kit-backup", "backup")
	t.Logf("backup with the write-only key: exit %d\n%s", code, out)
	if err != nil || code != 0 || !strings.Contains(out, "off-site retention skipped") {
		t.Fatalf("backup with a write-only key: code %d err %v", code, err)
	}
	id := regexp.MustCompile(`(?m)^\d{8}T\d{6}Z$`).FindString(out)
	after := offsiteObjects(ctx, t, st, "drill/")
	for _, o := range before {
		if !strings.Contains(strings.Join(after, " "), o) {
			t.Errorf("%s is gone off-site", o)
		}
	}
	if n := len(offsiteObjects(ctx, t, st, "drill/"+id+"/")); id == "" || n != 5 {
		t.Errorf("new backup %q: %d objects off-site, want 5 (manifest, globals, 3 dumps); all: %v", id, n, after)
	}
	m := metrics(t, st)
	if m["kit_backup_offsite_delete_denied_total"] != 1 || m[`kit_backup_failures_total{stage="offsite"}`] != failedBefore {
		t.Errorf("metrics after a denied delete: delete_denied %v, offsite failures %v (before %v)", m["kit_backup_offsite_delete_denied_total"], m[`kit_backup_failures_total{stage="offsite"}`], failedBefore)
	}
	if m[`kit_backup_last_success_timestamp_seconds{database="temporal",target="offsite"}`] == 0 {
		t.Error("no off-site success recorded for the write-only run")
	}
}

func offsiteClient(t *testing.T, st *stacktest.Stack, ak, sk string) *minio.Client {
	t.Helper()
	c, err := minio.New(st.Endpoint(offsiteName, images.VersityGWPort), &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// restoreRefusesForeignManifests puts backups whose manifests name other
// databases than the stack's, and checks each is refused before the target
// changes.
func restoreRefusesForeignManifests(ctx context.Context, t *testing.T, st *stacktest.Stack, man manifest.Manifest, content map[string][]byte) {
	for i, name := range []string{"dbname=postgres host=elsewhere.invalid", "postgres", "template1"} {
		bad := man
		bad.ID = fmt.Sprintf("200001%02dT000000Z", 10+i)
		bad.Databases = append([]manifest.Database(nil), man.Databases...)
		bad.Databases[0].Name = name
		files := map[string][]byte{}
		for k, v := range content {
			files[k] = v
		}
		mj, err := json.Marshal(bad)
		if err != nil {
			t.Fatal(err)
		}
		files[manifest.FileName] = mj
		putBackup(ctx, t, st, bad.ID, files)
		code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "restore", "--backup", bad.ID, "--identity", "/tmp/identity", "--replace")
		if err != nil || code == 0 || !strings.Contains(out, "restore refused, the target was not touched") || !strings.Contains(out, fmt.Sprintf("%q is not one this stack backs up", name)) {
			t.Errorf("manifest naming %q: code %d err %v\n%s", name, code, err, out)
		}
	}
}

// restoreRefusesDuringABackup holds the run lock as a backup does and
// restores meanwhile.
func restoreRefusesDuringABackup(ctx context.Context, t *testing.T, st *stacktest.Stack, id string) {
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "sh", "-c",
		"flock "+stacks.BackupDir+"/.run.lock sleep 4 & sleep 1; kit-backup restore --backup "+id+" --identity /tmp/identity; echo exit=$?; wait")
	if err != nil || code != 0 || !strings.Contains(out, "another backup, restore or verification is running") || strings.Contains(out, "exit=0") {
		t.Errorf("restore during a backup: code %d err %v\n%s", code, err, out)
	}
}

// restoreRefusesConnectedClients restores over the running stack: refused,
// naming the clients (Temporal's address among them).
func restoreRefusesConnectedClients(ctx context.Context, t *testing.T, st *stacktest.Stack, id string) {
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "restore", "--backup", id, "--identity", "/tmp/identity", "--replace")
	t.Logf("restore over the running stack: exit %d\n%s", code, out)
	if err != nil || code == 0 || !strings.Contains(out, "other clients are connected") || !strings.Contains(out, "stop them first") {
		t.Fatalf("restore over the running stack was not refused: code %d err %v", code, err)
	}
	info, err := st.Container(stacks.ServiceTemporal).Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, n := range info.NetworkSettings.Networks {
		named = named || (n.IPAddress.IsValid() && strings.Contains(out, "connection(s) from "+n.IPAddress.String()))
	}
	if !named || !strings.Contains(out, stacks.DatabaseTemporal+": ") || !strings.Contains(out, stacks.DatabaseVisibility+": ") {
		t.Errorf("the refusal does not name Temporal's connections (%s at %v)", info.Name, info.NetworkSettings.Networks)
	}
}

// failingRestoreKeepsLiveData restores a backup whose pg_restore fails
// midway (a GRANT to a role the target does not have) over the live
// pipeline database: the live database is left as it was, and no scratch
// database remains.
func failingRestoreKeepsLiveData(ctx context.Context, t *testing.T, st *stacktest.Stack) {
	setup := `set -e
export PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
psql -X -q -d postgres -c 'CREATE ROLE drill_ghost'
createdb drill_src
psql -X -q -d drill_src -c 'CREATE TABLE results (job_id text, row_num int); INSERT INTO results VALUES ($$x$$, 1); GRANT SELECT ON results TO drill_ghost'
mkdir -p /tmp/failing
pg_dump --format=custom --file /tmp/failing/ampledata.dump --dbname drill_src
pg_dumpall --globals-only --no-role-passwords --file /tmp/failing/globals.sql
dropdb drill_src
psql -X -q -d postgres -c 'DROP ROLE drill_ghost'`
	if code, out, err := st.Exec(ctx, stacks.ServiceBackup, "sh", "-c", setup); err != nil || code != 0 {
		t.Fatalf("make the failing backup: %d %v\n%s", code, err, out)
	}
	files := map[string][]byte{}
	m := manifest.Manifest{Format: manifest.Format, ID: "20000120T000000Z", Time: time.Date(2000, 1, 20, 0, 0, 0, 0, time.UTC)}
	describe := func(name string) manifest.File {
		b := []byte(readFile(ctx, t, st, path.Join("/tmp/failing", name)))
		files[name] = b
		sum := sha256.Sum256(b)
		return manifest.File{Name: name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
	}
	m.Globals = describe("globals.sql")
	m.Databases = []manifest.Database{{Name: stacks.WorkerDatabase, File: describe("ampledata.dump")}}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	files[manifest.FileName] = mj
	putBackup(ctx, t, st, m.ID, files)

	before := resultsDigest(ctx, t, st)
	if err := st.Stop(ctx, stacks.ServiceWorker); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Start(ctx, stacks.ServiceWorker); err != nil {
			t.Error(err)
		}
	}()
	code, out, err := st.Exec(ctx, stacks.ServiceBackup, "kit-backup", "restore", "--backup", m.ID, "--replace")
	t.Logf("failing restore: exit %d\n%s", code, out)
	if err != nil || code == 0 || !strings.Contains(out, "drill_ghost") || !strings.Contains(out, "the live databases ("+stacks.WorkerDatabase+") are untouched") {
		t.Errorf("failing restore: code %d err %v", code, err)
	}
	if after := resultsDigest(ctx, t, st); after != before {
		t.Errorf("the live %s changed: %s, before %s", stacks.WorkerDatabase, after, before)
	}
	if dbs := strings.Join(databases(ctx, t, st), ","); strings.Contains(dbs, "_restore_") || strings.Contains(dbs, "_old_") {
		t.Errorf("scratch or renamed databases left after the failed restore: %s", dbs)
	}
}

// resultsDigest sums up the pipeline's results table.
func resultsDigest(ctx context.Context, t *testing.T, st *stacktest.Stack) string {
	t.Helper()
	var n int64
	var digest string
	c := pgConn(ctx, t, st, stacks.WorkerDatabase)
	defer c.Close(context.Background()) // now: a restore refuses while it is connected
	if err := c.QueryRow(ctx,
		`SELECT count(*), coalesce(md5(string_agg(to_jsonb(r)::text, E'\n' ORDER BY job_id, row_num)), '') FROM results r`).Scan(&n, &digest); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d rows, md5 %s", n, digest)
}
