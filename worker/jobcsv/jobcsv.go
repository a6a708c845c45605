// Package jobcsv reads a job's CSV: a header, a company name column, an
// optional domain column, and any other columns kept as they are. Unreadable
// rows are reported with their line and reason; the good rows go on.
// The file is UTF-8 or UTF-16 with a byte-order mark, delimited by commas,
// semicolons or tabs, and read as a stream (Reader). SafeCell makes a cell
// safe to write back into a CSV for spreadsheets.
package jobcsv

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Row is one good input row.
type Row struct {
	Num    int      // 0-based index among good rows: the row's key in the job
	Line   int      // 1-based line in the file where the record starts
	Name   string   // company name
	Domain string   // normalised host, "" when the file has none for this row
	Site   string   // home page to start from when Domain is set: see SiteURL
	Cols   []string // every column as read, in header order
}

// BadRow is a record that could not be read.
type BadRow struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// File is a parsed job file.
type File struct {
	Header []string
	Rows   []Row
	Bad    []BadRow
}

// ErrNoRows is returned for an empty or header-only file.
var ErrNoRows = errors.New("the CSV has no data rows: send a header line (with a name column) and at least one row")

var (
	nameCols   = []string{"name", "company", "company_name", "company name", "organization", "organisation"}
	domainCols = []string{"domain", "website", "url", "site", "homepage"}
)

// MaxFieldLen bounds one cell; longer cells make the row bad instead of
// filling the database with junk.
const MaxFieldLen = 4096

// Parse reads a whole job file with the default limits, holding every row:
// for tests and tools. The job API streams the rows with a Reader instead.
// A file-level problem (no header, no name column, no data rows, over a
// limit) is an error; row-level problems land in File.Bad.
func Parse(r io.Reader) (*File, error) {
	rd, err := NewReader(r, DefaultLimits())
	if err != nil {
		return nil, err
	}
	f := &File{Header: rd.Header()}
	for {
		row, err := rd.Next()
		switch {
		case err == io.EOF || errors.Is(err, ErrNoGoodRows):
			f.Bad = rd.Bad()
			return f, nil
		case err != nil:
			return nil, err
		}
		f.Rows = append(f.Rows, row)
	}
}

func checkFields(rec []string) string {
	for i, v := range rec { // UTF-8 already: toUTF8 checked the whole file
		if len(v) > MaxFieldLen {
			return fmt.Sprintf("field %d is longer than %d bytes", i+1, MaxFieldLen)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Sprintf("field %d contains a NUL byte", i+1)
		}
	}
	return ""
}

// SiteURL reads a domain cell: the host (see NormalizeDomain) and the home
// page to fetch, "https://host/" unless the cell names http:// itself.
func SiteURL(cell string) (host, site string, err error) {
	host, err = NormalizeDomain(cell)
	if err != nil {
		return "", "", err
	}
	scheme := "https"
	if c := strings.ToLower(strings.TrimSpace(cell)); strings.HasPrefix(c, "http://") {
		scheme = "http"
	}
	return host, scheme + "://" + host + "/", nil
}

// NormalizeDomain turns "https://www.Example.com/about" or "example.com" into
// "www.example.com" / "example.com", or says why it is not a host name. IP
// addresses and ports other than 80 and 443 are refused: a job names public
// web sites, and the worker must not be pointed at the services beside it.
func NormalizeDomain(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:] // user:password@ is not part of the host
	}
	if strings.HasPrefix(s, "[") {
		return "", fmt.Errorf("%q is an IP address; give the site's domain name (sites are fetched by name only)", s)
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if port := s[i+1:]; port != "" && port != "80" && port != "443" {
			return "", fmt.Errorf("%q names port %s; give the domain without a port (only 80 and 443 are fetched)", s, port)
		}
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	if isIPv4Like(s) {
		return "", fmt.Errorf("%q is an IP address; give the site's domain name (sites are fetched by name only)", s)
	}
	if s == "" || len(s) > 253 || !strings.Contains(s, ".") {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not a domain name", s)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("%q is not a domain name", s)
			}
		}
	}
	return s, nil
}

// isIPv4Like tells whether the last label is a number (decimal, or 0x hex
// as inet_aton reads "0x7f.1"): no top-level domain is, every IPv4 literal
// is, in any of the forms resolvers accept.
func isIPv4Like(s string) bool {
	last, digits := s[strings.LastIndexByte(s, '.')+1:], "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
	}
	return last != "" && strings.Trim(last, digits) == ""
}

func find(header []string, names []string) int {
	for _, n := range names {
		for i, h := range header {
			if strings.EqualFold(h, n) {
				return i
			}
		}
	}
	return -1
}
