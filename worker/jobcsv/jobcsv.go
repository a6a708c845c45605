// Package jobcsv reads a job's CSV: a header, a company name column, an
// optional domain column, and any other columns kept as they are. Unreadable
// rows are reported with their line and reason; the good rows go on.
// The file is UTF-8 or UTF-16 with a byte-order mark. SafeCell makes a cell
// safe to write back into a CSV for spreadsheets.
package jobcsv

import (
	"bytes"
	"encoding/csv"
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

// Parse reads a whole job file. A file-level problem (no header, no name
// column, no data rows) is an error; row-level problems land in File.Bad.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read CSV: %w", err)
	}
	if data, err = toUTF8(data); err != nil {
		return nil, err
	}
	lines := splitRecords(data)
	if len(lines) == 0 {
		return nil, ErrNoRows
	}
	header, err := readOne(lines[0].text)
	if err != nil {
		return nil, fmt.Errorf("line 1 (header): %v", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	nameIdx, domainIdx := find(header, nameCols), find(header, domainCols)
	if nameIdx < 0 {
		return nil, fmt.Errorf("line 1 (header): no company name column; name one of %s", strings.Join(nameCols, ", "))
	}
	f := &File{Header: header}
	for _, l := range lines[1:] {
		rec, err := readOne(l.text)
		switch {
		case l.unterminated:
			f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: "quoted field not terminated"})
			continue
		case err != nil:
			f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: err.Error()})
			continue
		case len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(header) > 1:
			continue // a blank line
		case len(rec) != len(header):
			f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		if reason := checkFields(rec); reason != "" {
			f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: reason})
			continue
		}
		row := Row{Num: len(f.Rows), Line: l.line, Name: strings.TrimSpace(rec[nameIdx]), Cols: rec}
		if row.Name == "" {
			f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: fmt.Sprintf("empty company name (column %q)", header[nameIdx])})
			continue
		}
		if domainIdx >= 0 && strings.TrimSpace(rec[domainIdx]) != "" {
			d, site, err := SiteURL(rec[domainIdx])
			if err != nil {
				f.Bad = append(f.Bad, BadRow{Line: l.line, Reason: fmt.Sprintf("column %q: %v", header[domainIdx], err)})
				continue
			}
			row.Domain, row.Site = d, site
		}
		f.Rows = append(f.Rows, row)
	}
	if len(f.Rows) == 0 && len(f.Bad) == 0 {
		return nil, ErrNoRows
	}
	return f, nil
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

type record struct {
	line         int
	text         []byte
	unterminated bool
}

// splitRecords cuts the file into records at newlines outside quotes, so a
// broken record never swallows the rest of the file: each record is parsed on
// its own and a bad one is reported with its line.
func splitRecords(data []byte) []record {
	var out []record
	line, start, startLine := 1, 0, 1
	inQuote := false
	flush := func(end int) {
		text := bytes.TrimRight(data[start:end], "\r")
		if len(bytes.TrimSpace(text)) > 0 || len(out) == 0 && len(text) > 0 {
			out = append(out, record{line: startLine, text: text})
		}
	}
	for i, b := range data {
		switch b {
		case '"':
			inQuote = !inQuote
		case '\n':
			line++
			if inQuote {
				continue
			}
			flush(i)
			start, startLine = i+1, line
		}
	}
	if inQuote {
		// An unterminated quote would swallow the rest of the file: report
		// its first line alone and go on with the next one.
		nl := bytes.IndexByte(data[start:], '\n')
		if nl < 0 {
			nl = len(data) - start
		}
		out = append(out, record{line: startLine, text: bytes.TrimRight(data[start:start+nl], "\r"), unterminated: true})
		if start+nl+1 < len(data) {
			for _, r := range splitRecords(data[start+nl+1:]) {
				r.line += startLine
				out = append(out, r)
			}
		}
		return out
	}
	if start < len(data) {
		flush(len(data))
	}
	return out
}

func readOne(text []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	if _, err := r.Read(); err != io.EOF {
		return nil, errors.New("unbalanced quotes")
	}
	return rec, nil
}
