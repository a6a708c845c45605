package jobcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// record is one CSV record's text, cut at a newline outside quotes.
type record struct {
	line         int // 1-based line where the record starts
	text         []byte
	unterminated bool // a quote opened on line is never closed
}

type physLine struct {
	num  int
	text []byte // without its "\n"
}

// records cuts a stream into records at newlines outside quotes, so a
// broken record never swallows the rest of the file: each record is parsed
// on its own and a bad one is reported with its line. No record, and so no
// line, may be longer than max bytes: that bounds the memory one record
// takes, whatever the file.
type records struct {
	br      *bufio.Reader
	max     int
	next    int        // number of the next line read from br
	pending []physLine // lines to read again, after an unterminated quote
	first   bool       // the first line is still to come
	eof     bool
}

func newRecords(r io.Reader, max int) *records {
	return &records{br: bufio.NewReaderSize(r, 64<<10), max: max, next: 1, first: true}
}

// read returns the next record that is not blank, or io.EOF.
func (s *records) read() (record, error) {
	for {
		l, err := s.line()
		if err != nil {
			return record{}, err
		}
		lines := []physLine{l}
		size := len(l.text)
		inQuote := bytes.Count(l.text, quote)%2 == 1
		for inQuote {
			n, err := s.line()
			if err == io.EOF {
				// An unterminated quote would swallow the rest of the file:
				// report its first line alone and go on with the next one.
				s.pending = append(lines[1:], s.pending...)
				return record{line: l.num, text: trimCR(l.text), unterminated: true}, nil
			}
			if err != nil {
				return record{}, err
			}
			if size += 1 + len(n.text); size > s.max {
				return record{}, &LimitError{Limit: LimitLineBytes, Max: int64(s.max), Line: l.num}
			}
			lines = append(lines, n)
			if bytes.Count(n.text, quote)%2 == 1 {
				inQuote = false
			}
		}
		text := l.text
		if len(lines) > 1 {
			parts := make([][]byte, len(lines))
			for i, x := range lines {
				parts[i] = x.text
			}
			text = bytes.Join(parts, []byte("\n"))
		}
		text = trimCR(text)
		if len(bytes.TrimSpace(text)) == 0 {
			continue // a blank line
		}
		return record{line: l.num, text: text}, nil
	}
}

var quote = []byte{'"'}

func trimCR(b []byte) []byte { return bytes.TrimRight(b, "\r") }

// line returns the next physical line (pushed-back ones first), checked to
// be UTF-8 and no longer than max.
func (s *records) line() (physLine, error) {
	if len(s.pending) > 0 {
		l := s.pending[0]
		s.pending = s.pending[1:]
		return l, nil
	}
	if s.eof {
		return physLine{}, io.EOF
	}
	var text []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(text)+len(chunk) > s.max+1 { // +1: the "\n" itself
			return physLine{}, &LimitError{Limit: LimitLineBytes, Max: int64(s.max), Line: s.next}
		}
		text = append(text, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			s.eof = true
			if len(text) == 0 {
				return physLine{}, io.EOF
			}
			break
		}
		if err != nil {
			return physLine{}, readError(err)
		}
		text = text[:len(text)-1]
		break
	}
	l := physLine{num: s.next, text: text}
	s.next++
	if s.first {
		s.first = false
		if err := checkFirstLine(text); err != nil {
			return physLine{}, err
		}
	}
	if err := checkLine(text, l.num); err != nil {
		return physLine{}, err
	}
	return l, nil
}

// readOne parses one record's text with the file's delimiter.
func readOne(text []byte, comma rune) ([]string, error) {
	if bytes.IndexByte(text, '"') < 0 && bytes.IndexByte(text, '\r') < 0 {
		// No quotes: the fields are the text between delimiters, as
		// encoding/csv reads them, without its reader per record.
		return strings.Split(string(text), string(comma)), nil
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma = comma
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
