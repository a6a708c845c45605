package jobapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

// repeat is a body of head then line repeated up to size bytes, made as it
// is read: a test of huge uploads holds none of them.
type repeat struct {
	head, line string
	size, off  int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < r.size {
		var src string
		if r.off < int64(len(r.head)) {
			src = r.head[r.off:]
		} else {
			src = r.line[(r.off-int64(len(r.head)))%int64(len(r.line)):]
		}
		if rest := r.size - r.off; int64(len(src)) > rest {
			src = src[:rest]
		}
		c := copy(p[n:], src)
		n += c
		r.off += int64(c)
	}
	return n, nil
}

// The worst uploads the issue names, posted to a real HTTP server: each is
// answered with the limit it broke and how to raise it, the good ones are
// read, and the server serves on afterwards.
func TestWorstCaseUploads(t *testing.T) {
	api, st, wf := newAPI()
	api.MaxBody = jobcsv.DefaultMaxBytes
	st.countOnly = true
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	const mb = 1 << 20
	cases := []struct {
		name   string
		body   io.Reader
		status int
		want   []string
	}{
		{"body over the cap", &repeat{head: "name\n", line: "Acme Corporation " + strings.Repeat("x", 110) + "\n", size: jobcsv.DefaultMaxBytes + mb}, 413,
			[]string{"larger than the limit of 67108864 bytes", "JOB_MAX_BYTES", "temporal-kit:jobMaxBytes"}},
		{"60 MB of short rows", &repeat{head: "name,note\n", line: "a,b\n", size: 60 * mb}, 413,
			[]string{"more than 1000000 rows", "JOB_MAX_ROWS", "temporal-kit:jobMaxRows"}},
		{"too many columns", strings.NewReader("name" + strings.Repeat(",c", jobcsv.DefaultMaxColumns) + "\nAcme" + strings.Repeat(",x", jobcsv.DefaultMaxColumns) + "\n"), 413,
			[]string{"line 1 (header)", "more than 200 columns", "JOB_MAX_COLUMNS", "temporal-kit:jobMaxColumns"}},
		{"a giant single line", &repeat{head: "name\nAcme\n", line: "x", size: 40 * mb}, 413,
			[]string{"line 3: a record longer than 1048576 bytes", "JOB_MAX_LINE_BYTES", "temporal-kit:jobMaxLineBytes"}},
		{"a quote never closed in a big file", &repeat{head: "name\n\"Open\n", line: "Acme\n", size: 8 * mb}, 413,
			[]string{"line 2: a record longer than", "quote", "JOB_MAX_LINE_BYTES"}},
		{"only bad rows, many", &repeat{head: "name,domain\n", line: "Acme,not a domain\n", size: 10 * mb}, 400,
			[]string{"more than 1000 bad rows", "bad_rows"}},
		{"semicolons", strings.NewReader("Firma;Website;Notiz\r\nMüller GmbH;mueller.test;\"a; b\"\r\nZoë & Co;;x\r\n"), 400,
			[]string{"no company name column", "semicolons"}},
		{"semicolons with a name column", strings.NewReader("company;website;note\r\nMüller GmbH;mueller.test;\"a; b\"\r\nZoë & Co;;1,5\r\n"), 202,
			[]string{`"rows": 2`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/jobs", "text/csv", c.body)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("answer lacks %q: %s", w, out)
				}
			}
		})
	}

	// A file of the most rows taken is taken, and the server still serves.
	resp, err := http.Post(srv.URL+"/jobs", "text/csv", &repeat{head: "name,domain\n", line: "a,\n", size: int64(len("name,domain\n") + 3*jobcsv.DefaultMaxRows)})
	if err != nil {
		t.Fatal(err)
	}
	var created JobCreated
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted || created.Rows != jobcsv.DefaultMaxRows || wf.started[created.ID] != jobcsv.DefaultMaxRows {
		t.Errorf("the largest accepted file: status %d, %+v, %v", resp.StatusCode, created, err)
	}
	for _, path := range []string{"/healthz", "/jobs/" + created.ID} {
		resp, err := http.Get(srv.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("after the worst cases, GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
}
