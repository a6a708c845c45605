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
	var p problems
	if m.Format != Format {
		p.add("format %d, this program reads %d", m.Format, Format)
	}
	if _, err := time.Parse(IDFormat, m.ID); err != nil {
		p.add("id %q is not a backup id like 20261130T030000Z", m.ID)
	}
	ext := p.checkEncryption(m)
	if !serverVersion.MatchString(m.TemporalVersion) {
		p.add("temporalVersion %q is not a version", m.TemporalVersion)
	}
	if m.HistoryShards < 0 {
		p.add("historyShards %d is negative", m.HistoryShards)
	}
	p.checkFile("globals", m.Globals, "globals.sql"+ext)
	seen := p.checkDatabases(m.Databases, dbs, ext)
	for db, v := range m.SchemaVersions {
		if !seen[db] || !schemaVersion.MatchString(v) {
			p.add("schema version %q of %q", v, db)
		}
	}
	if len(p) > 0 {
		slices.Sort(p)
		return fmt.Errorf("manifest of %s is not one this stack wrote: %s", dirName, strings.Join(p, "; "))
	}
	return nil
}

// problems are what Validate found, one sentence each.
type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// checkEncryption wants age recipients exactly when the backup is
// encrypted; it returns the files' extension (".age" when encrypted).
func (p *problems) checkEncryption(m Manifest) (ext string) {
	if !m.Encrypted {
		if len(m.Recipients) > 0 {
			p.add("recipients without encryption")
		}
		return ""
	}
	if len(m.Recipients) == 0 {
		p.add("encrypted, but no recipients")
	}
	for _, r := range m.Recipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			p.add("recipient %q is not an age public key", r)
		}
	}
	return ".age"
}

// checkFile wants the file under the name a backup gives it, with a size
// and a SHA-256.
func (p *problems) checkFile(what string, f File, want string) {
	if f.Name != want {
		p.add("%s file %q, want %q", what, f.Name, want)
	}
	if f.Size < 0 || !sha256Hex.MatchString(f.SHA256) {
		p.add("%s file %q: size %d, sha256 %q", what, f.Name, f.Size, f.SHA256)
	}
}

// checkDatabases wants at least one database, each one the stack backs up
// (dbs), listed once, with its dump file and row counts; it returns the
// databases listed.
func (p *problems) checkDatabases(databases []Database, dbs []string, ext string) (seen map[string]bool) {
	if len(databases) == 0 {
		p.add("no databases")
	}
	seen = map[string]bool{}
	for _, d := range databases {
		switch {
		case !slices.Contains(dbs, d.Name):
			p.add("database %q is not one this stack backs up (%s)", d.Name, strings.Join(dbs, ", "))
			continue
		case seen[d.Name]:
			p.add("database %q listed twice", d.Name)
			continue
		}
		seen[d.Name] = true
		p.checkFile("database "+d.Name, d.File, d.Name+".dump"+ext)
		for t, n := range d.Rows {
			if n < 0 {
				p.add("database %s: %d rows in %q", d.Name, n, t)
			}
		}
	}
	return seen
}
