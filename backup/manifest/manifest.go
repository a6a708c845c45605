// Package manifest describes one backup: when it was taken, what it holds
// (the Temporal server version, history shard count and schema versions,
// row counts of key tables) and each file's size and SHA-256, so a restore
// can refuse a truncated or corrupted archive before it touches anything.
package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// FileName is the manifest's name inside a backup directory.
const FileName = "manifest.json"

// Format is the manifest format version.
const Format = 1

// Manifest is one backup's description.
type Manifest struct {
	Format int       `json:"format"`
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	// TemporalVersion is the server version the stack ran.
	TemporalVersion string `json:"temporalVersion"`
	// HistoryShards is read from the dumped cluster metadata.
	HistoryShards int `json:"historyShards"`
	// SchemaVersions of the Temporal databases, by database name.
	SchemaVersions map[string]string `json:"schemaVersions"`
	// Databases are the dumped databases, in dump order.
	Databases []Database `json:"databases"`
	// Globals is the pg_dumpall --globals-only file.
	Globals File `json:"globals"`
	// Encrypted tells that every file is an age file to the recipients listed.
	Encrypted  bool     `json:"encrypted,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
}

// Database is one pg_dump of one database, with the row counts seen in the
// very snapshot the dump was taken from.
type Database struct {
	Name string `json:"name"`
	File File   `json:"file"`
	// Rows counts rows of key tables (table name -> count).
	Rows     map[string]int64 `json:"rows"`
	Duration Duration         `json:"duration"`
}

// File is a file of the backup, relative to its directory.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Duration marshals as a Go duration string.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// IDFormat names backups by their UTC start time; IDs sort like times.
const IDFormat = "20060102T150405Z"

// ID is the backup ID of a start time.
func ID(t time.Time) string { return t.UTC().Format(IDFormat) }

// Files lists every file of the backup.
func (m Manifest) Files() []File {
	out := []File{m.Globals}
	for _, d := range m.Databases {
		out = append(out, d.File)
	}
	return out
}

// Database returns the named database entry.
func (m Manifest) Database(name string) (Database, bool) {
	if i := slices.IndexFunc(m.Databases, func(d Database) bool { return d.Name == name }); i >= 0 {
		return m.Databases[i], true
	}
	return Database{}, false
}

// Describe hashes the file at dir/name.
func Describe(dir, name string) (File, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", name, err)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Write stores m as dir/manifest.json, atomically.
func Write(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+FileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, FileName))
}

// Read loads dir/manifest.json and checks that it is complete.
func Read(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: not a backup manifest: %w", filepath.Join(dir, FileName), err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("%s: manifest format %d, this program reads %d", dir, m.Format, Format)
	}
	if m.ID == "" || len(m.Databases) == 0 || m.Globals.Name == "" {
		return m, fmt.Errorf("%s: manifest is incomplete (no id, databases or globals)", dir)
	}
	return m, nil
}

// Problem is one file that does not match its manifest entry.
type Problem struct {
	File   string
	Reason string
}

// CheckError lists every mismatching file of a backup.
type CheckError struct {
	Dir      string
	Problems []Problem
}

func (e *CheckError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.File+": "+p.Reason)
	}
	return fmt.Sprintf("backup %s is damaged; nothing was touched: %s", e.Dir, strings.Join(parts, "; "))
}

// Check compares every file of m with the files in dir: size first (a
// truncated copy), then SHA-256 (a corrupted one). It reads every byte.
func Check(dir string, m Manifest) error {
	var probs []Problem
	for _, want := range m.Files() {
		if want.Name != filepath.Base(want.Name) {
			probs = append(probs, Problem{want.Name, "file name leaves the backup directory"})
			continue
		}
		got, err := Describe(dir, want.Name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			probs = append(probs, Problem{want.Name, "missing"})
		case err != nil:
			probs = append(probs, Problem{want.Name, err.Error()})
		case got.Size != want.Size:
			probs = append(probs, Problem{want.Name, fmt.Sprintf("truncated or grown: %d bytes, manifest says %d", got.Size, want.Size)})
		case got.SHA256 != want.SHA256:
			probs = append(probs, Problem{want.Name, fmt.Sprintf("corrupted: SHA-256 %s, manifest says %s", got.SHA256, want.SHA256)})
		}
	}
	if len(probs) > 0 {
		return &CheckError{Dir: dir, Problems: probs}
	}
	return nil
}

// CompareRows returns a message per table whose count differs from want.
func CompareRows(want, got map[string]int64) []string {
	var out []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("%s: missing, manifest counts %d rows", k, want[k]))
		} else if g != want[k] {
			out = append(out, fmt.Sprintf("%s: %d rows, manifest counts %d", k, g, want[k]))
		}
	}
	return out
}
