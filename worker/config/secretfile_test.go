package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// files is a fake file system for LoadWith: path → content; a missing path
// fails as os.ReadFile does.
func files(m map[string]string) ReadFile {
	return func(path string) ([]byte, error) {
		c, ok := m[path]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return []byte(c), nil
	}
}

func TestSecretFromFile(t *testing.T) {
	cases := []struct {
		name          string
		env, files    map[string]string
		wantPG, wantK string
	}{
		{"password file, one newline trimmed", map[string]string{"PGPASSWORD_FILE": "/run/secrets/pg"},
			map[string]string{"/run/secrets/pg": "pw\n"}, "pw", ""},
		{"key file without a newline", map[string]string{"SERP_API_KEY_FILE": "/run/secrets/serp"},
			map[string]string{"/run/secrets/serp": "sk-1"}, "", "sk-1"},
		{"only one newline is trimmed", map[string]string{"PGPASSWORD_FILE": "/s/pg"},
			map[string]string{"/s/pg": "pw\n\n"}, "pw\n", ""},
		{"spaces and CR are part of the secret", map[string]string{"SERP_API_KEY_FILE": "/s/k"},
			map[string]string{"/s/k": " sk \r\n"}, "", " sk \r"},
		{"both from files", map[string]string{"PGPASSWORD_FILE": "/s/pg", "SERP_API_KEY_FILE": "/s/k"},
			map[string]string{"/s/pg": "pw\n", "/s/k": "sk\n"}, "pw", "sk"},
		// an empty variable counts as unset, as in the postgres image
		{"empty PGPASSWORD beside the file", map[string]string{"PGPASSWORD": "", "PGPASSWORD_FILE": "/s/pg"},
			map[string]string{"/s/pg": "pw"}, "pw", ""},
		// without a _FILE variable nothing is read and the plain ones behave as before
		{"plain variables", map[string]string{"PGPASSWORD": " pw ", "SERP_API_KEY": "sk"}, nil, "pw", "sk"},
		{"empty _FILE leaves the plain variable", map[string]string{"PGPASSWORD": "plain", "PGPASSWORD_FILE": "", "SERP_API_KEY_FILE": "/s/k"},
			map[string]string{"/s/k": "sk"}, "plain", "sk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadWith(env(tc.env), files(tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if c.PGPassword != tc.wantPG || c.SerpAPIKey != tc.wantK {
				t.Errorf("PGPassword %q SerpAPIKey %q, want %q %q", c.PGPassword, c.SerpAPIKey, tc.wantPG, tc.wantK)
			}
		})
	}
}

func TestSecretAndFileBothSet(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"PGPASSWORD": "pw-plain", "PGPASSWORD_FILE": "/s/pg"},
			[]string{"PGPASSWORD_FILE and PGPASSWORD are both set", "unset one"}},
		{map[string]string{"SERP_API_KEY": "sk-plain", "SERP_API_KEY_FILE": "/s/k"},
			[]string{"SERP_API_KEY_FILE and SERP_API_KEY are both set", "unset one"}},
	}
	fake := files(map[string]string{"/s/pg": "pw-in-file", "/s/k": "sk-in-file"})
	for _, tc := range cases {
		_, err := LoadWith(env(tc.env), fake)
		if err == nil {
			t.Errorf("%v: no error", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", tc.env, err, w)
			}
		}
		assertNoSecret(t, err.Error())
	}
}

func TestSecretFileErrorsNameTheVariablePathAndFix(t *testing.T) {
	denied := func(string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: "/s/pg", Err: fs.ErrPermission}
	}
	cases := []struct {
		name string
		env  map[string]string
		read ReadFile
		want []string
	}{
		{"missing", map[string]string{"PGPASSWORD_FILE": "/s/none"}, files(nil),
			[]string{`PGPASSWORD_FILE "/s/none" cannot be read (file does not exist)`, "mount the secret file"}},
		{"denied", map[string]string{"PGPASSWORD_FILE": "/s/pg"}, denied,
			[]string{`PGPASSWORD_FILE "/s/pg" cannot be read (permission denied)`, "point PGPASSWORD_FILE at it"}},
		{"empty", map[string]string{"SERP_API_KEY_FILE": "/s/k"}, files(map[string]string{"/s/k": ""}),
			[]string{`SERP_API_KEY_FILE "/s/k" is empty`, "write the secret into it or unset SERP_API_KEY_FILE"}},
		{"only a newline", map[string]string{"SERP_API_KEY_FILE": "/s/k"}, files(map[string]string{"/s/k": "\n"}),
			[]string{`SERP_API_KEY_FILE "/s/k" is empty`}},
		// a good file beside a bad variable: the secret stays out of the message
		{"other variable fails", map[string]string{"PGPASSWORD_FILE": "/s/pg", "PGPORT": "x"},
			files(map[string]string{"/s/pg": "pw-in-file"}), []string{"PGPORT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWith(env(tc.env), tc.read)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Count(err.Error(), "/s/") > 1 {
				t.Errorf("error %q names the path more than once", err)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestSecretsFromFilesNeverPrinted(t *testing.T) {
	c, err := LoadWith(env(map[string]string{"PGPASSWORD_FILE": "/s/pg", "SERP_API_KEY_FILE": "/s/k"}),
		files(map[string]string{"/s/pg": "pw-in-file\n", "/s/k": "sk-in-file\n"}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	assertNoSecret(t, s)
	for _, w := range []string{"pgpassword=(set)", "serpkey=(set)"} {
		if !strings.Contains(s, w) {
			t.Errorf("String() %s lacks %s", s, w)
		}
	}
}

// One real file, through Load's os.ReadFile.
func TestSecretFileOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pg")
	if err := os.WriteFile(path, []byte("pw-on-disk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"PGPASSWORD_FILE": path}))
	if err != nil || c.PGPassword != "pw-on-disk" {
		t.Fatalf("PGPassword %q, err %v", c.PGPassword, err)
	}
	missing := filepath.Join(dir, "none")
	_, err = Load(env(map[string]string{"SERP_API_KEY_FILE": missing}))
	if err == nil || !strings.Contains(err.Error(), `SERP_API_KEY_FILE "`+missing+`" cannot be read`) {
		t.Errorf("missing file: %v", err)
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{"pw-plain", "sk-plain", "pw-in-file", "sk-in-file"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaks %s", s, secret)
		}
	}
}
