package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
)

// MaxDatabaseName is the longest database name a stack may back up: a
// restore adds a prefix (verification's scratch databases) and a suffix
// (its own scratch and replaced copies) within PostgreSQL's 63 bytes.
const MaxDatabaseName = 32

var (
	databaseName  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	sha256Hex     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	schemaVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,3}$`)
	serverVersion = regexp.MustCompile(`^[A-Za-z0-9._+-]{0,64}$`)
)

// CheckDatabaseName accepts plain lower-case identifiers only: a name goes
// to libpq's --dbname, which reads anything with "=" or a URI scheme as a
// connection string (another host, another user).
func CheckDatabaseName(name string) error {
	if !databaseName.MatchString(name) || len(name) > MaxDatabaseName {
		return fmt.Errorf("%q is not a database name of this kit (lower-case letters, digits and _, at most %d)", name, MaxDatabaseName)
	}
	return nil
}

// Validate checks every field a restore acts on. A manifest is not
// authenticated (whoever can write the backup directory or the bucket can
// write one), so it is held to what this stack writes: it names only the
// databases the stack backs up (dbs), and its files are the ones a backup
// of those databases consists of. dirName only names the backup in errors
// (an operator may copy a backup under another name).
func Validate(m Manifest, dirName string, dbs []string) error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if m.Format != Format {
		bad("format %d, this program reads %d", m.Format, Format)
	}
	if _, err := time.Parse(IDFormat, m.ID); err != nil {
		bad("id %q is not a backup id like 20261130T030000Z", m.ID)
	}
	ext := ""
	if m.Encrypted {
		ext = ".age"
		if len(m.Recipients) == 0 {
			bad("encrypted, but no recipients")
		}
		for _, r := range m.Recipients {
			if _, err := age.ParseX25519Recipient(r); err != nil {
				bad("recipient %q is not an age public key", r)
			}
		}
	} else if len(m.Recipients) > 0 {
		bad("recipients without encryption")
	}
	if !serverVersion.MatchString(m.TemporalVersion) {
		bad("temporalVersion %q is not a version", m.TemporalVersion)
	}
	if m.HistoryShards < 0 {
		bad("historyShards %d is negative", m.HistoryShards)
	}
	checkFile := func(what string, f File, want string) {
		if f.Name != want {
			bad("%s file %q, want %q", what, f.Name, want)
		}
		if f.Size < 0 || !sha256Hex.MatchString(f.SHA256) {
			bad("%s file %q: size %d, sha256 %q", what, f.Name, f.Size, f.SHA256)
		}
	}
	checkFile("globals", m.Globals, "globals.sql"+ext)
	if len(m.Databases) == 0 {
		bad("no databases")
	}
	seen := map[string]bool{}
	for _, d := range m.Databases {
		switch {
		case !slices.Contains(dbs, d.Name):
			bad("database %q is not one this stack backs up (%s)", d.Name, strings.Join(dbs, ", "))
			continue
		case seen[d.Name]:
			bad("database %q listed twice", d.Name)
			continue
		}
		seen[d.Name] = true
		checkFile("database "+d.Name, d.File, d.Name+".dump"+ext)
		for t, n := range d.Rows {
			if n < 0 {
				bad("database %s: %d rows in %q", d.Name, n, t)
			}
		}
	}
	for db, v := range m.SchemaVersions {
		if !seen[db] || !schemaVersion.MatchString(v) {
			bad("schema version %q of %q", v, db)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("manifest of %s is not one this stack wrote: %s", dirName, strings.Join(errs, "; "))
	}
	return nil
}
