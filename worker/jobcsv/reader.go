package jobcsv

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what one job file may hold. They bound the work a job makes
// and the memory a parse takes: a Reader holds one record and the bad rows,
// never the file.
type Limits struct {
	MaxRows      int // data records, good and bad
	MaxColumns   int // fields of the header
	MaxLineBytes int // one record, the newlines inside its quotes included
}

// Defaults of Limits and of a file's size; the worker's JOB_MAX_* variables
// change them.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultMaxRows      = 1_000_000
	DefaultMaxColumns   = 200
	DefaultMaxLineBytes = 1 << 20
)

// DefaultLimits are the limits without configuration.
func DefaultLimits() Limits {
	return Limits{MaxRows: DefaultMaxRows, MaxColumns: DefaultMaxColumns, MaxLineBytes: DefaultMaxLineBytes}
}

// MaxBadRows ends a file with this many bad rows: a file where so much is
// wrong is not the file its sender meant (a wrong delimiter or export), and
// the list of bad rows must stay small enough to answer and store.
const MaxBadRows = 1000

// Limit names one of Limits, as LimitError reports it.
type Limit string

const (
	LimitRows      Limit = "rows"
	LimitColumns   Limit = "columns"
	LimitLineBytes Limit = "line bytes"
)

// LimitError is a file over one of its Limits. The caller knows how the
// limit is raised and says so (see jobapi).
type LimitError struct {
	Limit Limit
	Max   int64
	Line  int // where the file went over the limit
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitRows:
		return fmt.Sprintf("line %d: the file has more than %d rows, the limit; split it into jobs of at most %d rows", e.Line, e.Max, e.Max)
	case LimitColumns:
		return fmt.Sprintf("line %d (header): the file has more than %d columns, the limit; remove the columns the job does not need", e.Line, e.Max)
	default:
		return fmt.Sprintf("line %d: a record longer than %d bytes, the limit (a quote opened there and never closed makes the rest of the file one record); check the quotes on that line or shorten the record", e.Line, e.Max)
	}
}

// ErrNoGoodRows ends a file whose every data row is bad (see Reader.Bad).
var ErrNoGoodRows = errors.New("no readable row in the CSV: fix the rows listed in bad_rows and send the file again")

// ErrTooManyBadRows ends a file with more than MaxBadRows bad rows.
var ErrTooManyBadRows = fmt.Errorf("more than %d bad rows: this is probably not the job file meant (a wrong delimiter, export or file?); fix the rows listed in bad_rows and send the file again", MaxBadRows)

// Reader reads a job file one row at a time: the header at NewReader, then
// the good rows from Next, while the bad ones collect in Bad.
type Reader struct {
	src       *records
	limits    Limits
	header    []string
	comma     rune
	nameIdx   int
	domainIdx int
	bad       []BadRow
	rows      int // good rows returned
	records   int // data records read
	err       error
}

// positiveOr is v, or def when v is zero (unset) or negative.
func positiveOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// NewReader reads the file's encoding and header. A file-level problem (an
// encoding, no header, no name column, over a limit) is an error.
func NewReader(r io.Reader, lim Limits) (*Reader, error) {
	def := DefaultLimits()
	lim.MaxRows = positiveOr(lim.MaxRows, def.MaxRows)
	lim.MaxColumns = positiveOr(lim.MaxColumns, def.MaxColumns)
	lim.MaxLineBytes = positiveOr(lim.MaxLineBytes, def.MaxLineBytes)
	utf8, err := decode(r)
	if err != nil {
		return nil, err
	}
	rd := &Reader{src: newRecords(utf8, lim.MaxLineBytes), limits: lim}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// delimiters are the ones spreadsheets write: ',' and, where the comma is the
// decimal separator (many European locales), ';'; tab-separated exports too.
var delimiters = []rune{',', ';', '\t'}

func (rd *Reader) readHeader() error {
	rec, err := rd.src.read()
	if err == io.EOF {
		return ErrNoRows
	}
	if err != nil {
		return err
	}
	if rec.unterminated {
		return fmt.Errorf("line %d (header): quoted field not terminated", rec.line)
	}
	// Excel reads and writes a first line "sep=;" naming the delimiter.
	forced := rune(0)
	if t := string(rec.text); len(t) == 5 && strings.HasPrefix(strings.ToLower(t), "sep=") {
		forced = rune(t[4])
		if rec, err = rd.src.read(); err == io.EOF {
			return ErrNoRows
		} else if err != nil {
			return err
		}
	}
	var firstErr error
	for _, comma := range delimiters {
		if forced != 0 && comma != forced {
			continue
		}
		header, err := readOne(rec.text, comma)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("line %d (header): %v", rec.line, err)
			}
			continue
		}
		for i := range header {
			header[i] = strings.TrimSpace(header[i])
		}
		if len(header) > rd.limits.MaxColumns {
			return &LimitError{Limit: LimitColumns, Max: int64(rd.limits.MaxColumns), Line: rec.line}
		}
		if name := find(header, nameCols); name >= 0 {
			rd.header, rd.comma, rd.nameIdx, rd.domainIdx = header, comma, name, find(header, domainCols)
			return nil
		}
	}
	if firstErr != nil && forced == 0 && !strings.ContainsAny(string(rec.text), ";\t") {
		return firstErr
	}
	return fmt.Errorf("line %d (header): no company name column; name one of %s, delimited by commas (or by semicolons or tabs, as some spreadsheets save)",
		rec.line, strings.Join(nameCols, ", "))
}

// Header is the header's fields, trimmed.
func (rd *Reader) Header() []string { return rd.header }

// Comma is the delimiter the header was read with.
func (rd *Reader) Comma() rune { return rd.comma }

// Bad is the bad rows read so far.
func (rd *Reader) Bad() []BadRow { return rd.bad }

// Rows is the number of good rows Next returned.
func (rd *Reader) Rows() int { return rd.rows }

// Err is the first error Next returned other than io.EOF: whether a failed
// store of the rows was the file's fault or the store's.
func (rd *Reader) Err() error { return rd.err }

// Next returns the next good row. At the end it returns io.EOF, or
// ErrNoRows (no data at all) or ErrNoGoodRows (only bad rows).
func (rd *Reader) Next() (Row, error) {
	if rd.err != nil {
		return Row{}, rd.err
	}
	row, err := rd.next()
	if err != nil && err != io.EOF {
		rd.err = err
	}
	return row, err
}

func (rd *Reader) next() (Row, error) {
	for {
		rec, err := rd.src.read()
		if err == io.EOF {
			switch {
			case rd.rows > 0:
				return Row{}, io.EOF
			case len(rd.bad) > 0:
				return Row{}, ErrNoGoodRows
			}
			return Row{}, ErrNoRows
		}
		if err != nil {
			return Row{}, err
		}
		if rd.records++; rd.records > rd.limits.MaxRows {
			return Row{}, &LimitError{Limit: LimitRows, Max: int64(rd.limits.MaxRows), Line: rec.line}
		}
		row, reason := rd.row(rec)
		if reason == "" {
			row.Num = rd.rows
			rd.rows++
			return row, nil
		}
		if rd.bad = append(rd.bad, BadRow{Line: rec.line, Reason: reason}); len(rd.bad) > MaxBadRows {
			rd.bad = rd.bad[:MaxBadRows]
			return Row{}, ErrTooManyBadRows
		}
	}
}

// row reads one record, or says why it is bad.
func (rd *Reader) row(rec record) (Row, string) {
	if rec.unterminated {
		return Row{}, "quoted field not terminated"
	}
	cols, err := readOne(rec.text, rd.comma)
	switch {
	case err != nil:
		return Row{}, err.Error()
	case len(cols) != len(rd.header):
		return Row{}, fmt.Sprintf("has %d fields, the header has %d", len(cols), len(rd.header))
	}
	if reason := checkFields(cols); reason != "" {
		return Row{}, reason
	}
	row := Row{Line: rec.line, Name: strings.TrimSpace(cols[rd.nameIdx]), Cols: cols}
	if row.Name == "" {
		return Row{}, fmt.Sprintf("empty company name (column %q)", rd.header[rd.nameIdx])
	}
	if rd.domainIdx >= 0 && strings.TrimSpace(cols[rd.domainIdx]) != "" {
		d, site, err := SiteURL(cols[rd.domainIdx])
		if err != nil {
			return Row{}, fmt.Sprintf("column %q: %v", rd.header[rd.domainIdx], err)
		}
		row.Domain, row.Site = d, site
	}
	return row, ""
}

func readError(err error) error { return fmt.Errorf("read CSV: %w", err) }
