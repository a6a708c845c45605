package jobcsv

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseGoodAndBadRows(t *testing.T) {
	in := "Company,Domain,Owner\n" +
		"Acme 0001,,alice\n" + // line 2
		"Globex,https://www.Globex.test/about,bob\n" + // line 3
		"Too,many,fields,here\n" + // line 4
		",nodomain.test,carol\n" + // line 5: empty name
		"\"Multi\nline Inc\",,dave\n" + // lines 6-7: one record
		"Bad Domain,not a domain,erin\n" + // line 8
		"\n" + // blank line 9: skipped
		"Quote \"inside\" bare,,frank\n" + // line 10: bare quote
		"Initech,initech.test,a\x00b\n" + // line 11: a NUL byte
		"Last Co,last.test,gina" // line 12, no final newline
	f, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range f.Rows {
		names = append(names, r.Name+"@"+r.Domain)
	}
	want := "Acme 0001@|Globex@www.globex.test|Multi\nline Inc@|Last Co@last.test"
	if got := strings.Join(names, "|"); got != want {
		t.Errorf("rows = %q, want %q", got, want)
	}
	if f.Rows[2].Line != 6 || f.Rows[3].Num != 3 || f.Rows[3].Line != 12 {
		t.Errorf("lines/nums: %+v", f.Rows)
	}
	wantBad := map[int]string{4: "4 fields", 5: "empty company name", 8: "not a domain", 10: "quote", 11: "NUL byte"}
	if len(f.Bad) != len(wantBad) {
		t.Errorf("bad rows = %+v", f.Bad)
	}
	for _, b := range f.Bad {
		if w, ok := wantBad[b.Line]; !ok || !strings.Contains(b.Reason, w) {
			t.Errorf("bad row %+v, want reason with %q", b, w)
		}
	}
}

func TestUnterminatedQuoteDoesNotSwallowTheFile(t *testing.T) {
	f, err := Parse(strings.NewReader("name\n\"Open quote\nAcme\nGlobex\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 2 || f.Rows[0].Name != "Acme" || f.Rows[0].Line != 3 {
		t.Errorf("rows = %+v", f.Rows)
	}
	if len(f.Bad) != 1 || f.Bad[0].Line != 2 {
		t.Errorf("bad = %+v", f.Bad)
	}
}

func TestFileLevelErrors(t *testing.T) {
	cases := map[string]string{
		"":                           "no data rows",
		"name,domain\n":              "no data rows",
		"name,domain\r\n\r\n":        "no data rows",
		"\xef\xbb\xbfname\n":         "no data rows",
		"company_id,city\n1,Paris\n": "no company name column",
	}
	for in, want := range cases {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := Parse(strings.NewReader("name\n")); !errors.Is(err, ErrNoRows) {
		t.Errorf("header-only: %v", err)
	}
}

func TestBOMAndCRLF(t *testing.T) {
	f, err := Parse(strings.NewReader("\xef\xbb\xbfName,x\r\nAcme,1\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || f.Rows[0].Name != "Acme" || f.Rows[0].Cols[1] != "1" || f.Header[0] != "Name" {
		t.Errorf("got %+v", f)
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com": "example.com", "https://WWW.Example.com/a?b": "www.example.com", "example.com:443": "example.com",
		"http://acme-0001.test/": "acme-0001.test", "example.com.": "example.com", "http://example.com:80/": "example.com",
		"1password.com": "1password.com", "a1.b2.c3.io": "a1.b2.c3.io",
	} {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost", "not a domain", "-a.com", "a..com", "exa_mple.com", ""} {
		if _, err := NormalizeDomain(bad); err == nil {
			t.Errorf("NormalizeDomain(%q) accepted", bad)
		}
	}
}

// TestDomainsMustNotPointInside: IP literals (every form a resolver reads)
// and ports other than 80/443 would let a job aim the worker at the
// services beside it (issue 15: 127.0.0.1:8000, 172.17.0.1, 169.254.169.254).
func TestDomainsMustNotPointInside(t *testing.T) {
	for cell, want := range map[string]string{
		"127.0.0.1:8000":                    "port 8000",
		"172.17.0.1":                        "IP address",
		"169.254.169.254":                   "IP address",
		"http://169.254.169.254/":           "IP address",
		"127.1":                             "IP address",
		"0x7f.0.0.1":                        "IP address",
		"10.0.0.0x1":                        "IP address",
		"[::1]":                             "IP address",
		"http://[::ffff:127.0.0.1]:80/":     "IP address",
		"example.com:8080":                  "port 8080",
		"https://grafana.example.com:3000/": "port 3000",
		"user:pw@169.254.169.254":           "IP address",
	} {
		_, err := NormalizeDomain(cell)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeDomain(%q) = %v, want an error saying %q", cell, err, want)
		}
	}
	f, err := Parse(strings.NewReader("name,domain\nAcme,acme.example\nEvil,127.0.0.1:8000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || len(f.Bad) != 1 || f.Bad[0].Line != 3 ||
		!strings.Contains(f.Bad[0].Reason, `column "domain"`) || !strings.Contains(f.Bad[0].Reason, "without a port") {
		t.Errorf("rows %+v, bad %+v; want line 3 refused naming the column and the fix", f.Rows, f.Bad)
	}
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("name,domain,note\n")
	for i := 0; i < 10000; i++ {
		sb.WriteString("Acme ")
		sb.WriteString(strings.Repeat("x", i%7))
		sb.WriteString(",,\"a note, with a comma\"\n")
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(strings.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// A file saved by a spreadsheet in a locale whose decimal separator is the
// comma is delimited by ';' (or, exported as text, by tabs); Excel may name
// the delimiter in a first "sep=" line. Each is read as the comma file is.
func TestDelimiterFromTheHeader(t *testing.T) {
	want, err := Parse(strings.NewReader("company,website,note\nMüller GmbH,mueller.test,\"3,5; x\"\nZoë,,y\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"semicolons": "company;website;note\r\nMüller GmbH;mueller.test;\"3,5; x\"\r\nZoë;;y\r\n",
		"tabs":       "company\twebsite\tnote\nMüller GmbH\tmueller.test\t\"3,5; x\"\nZoë\t\ty\n",
		"sep= line":  "sep=;\ncompany;website;note\nMüller GmbH;mueller.test;\"3,5; x\"\nZoë;;y\n",
	} {
		got, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got.Header, want.Header) || len(got.Rows) != 2 || !reflect.DeepEqual(got.Rows[0].Cols, want.Rows[0].Cols) || got.Rows[0].Domain != "mueller.test" {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	_, err = Parse(strings.NewReader("Firma;Website\nMüller GmbH;mueller.test\n"))
	if err == nil || !strings.Contains(err.Error(), "no company name column") || !strings.Contains(err.Error(), "semicolons") {
		t.Errorf("a ';' file without a name column: %v", err)
	}
}

// Each limit ends the file at the line that broke it.
func TestLimits(t *testing.T) {
	lim := Limits{MaxRows: 3, MaxColumns: 3, MaxLineBytes: 1024}
	cases := []struct {
		name, in string
		limit    Limit
		line     int
	}{
		{"rows", "name\na\nb\n\nc\nd\ne\n", LimitRows, 6},
		{"columns", "name,a,b,c\nx,1,2,3\n", LimitColumns, 1},
		{"line", "name\nAcme\n" + strings.Repeat("x", 1100) + "\nGlobex\n", LimitLineBytes, 3},
		{"quoted record", "name\n\"Acme\n" + strings.Repeat("x\n", 600) + "\"\n", LimitLineBytes, 2},
	}
	for _, c := range cases {
		rd, err := NewReader(strings.NewReader(c.in), lim)
		for err == nil {
			_, err = rd.Next()
		}
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != c.limit || le.Line != c.line {
			t.Errorf("%s: %v, want the %s limit at line %d", c.name, err, c.limit, c.line)
		}
	}
	var bad strings.Builder
	bad.WriteString("name,domain\n")
	for range MaxBadRows + 1 {
		bad.WriteString("Acme,not a domain\n")
	}
	if _, err := Parse(strings.NewReader(bad.String())); !errors.Is(err, ErrTooManyBadRows) {
		t.Errorf("%d bad rows: %v", MaxBadRows+1, err)
	}
}
