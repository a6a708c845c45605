package jobcsv

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// fixEncoding is the fix every encoding error names: the two ways a
// spreadsheet writes a file this package reads.
const fixEncoding = `save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8; LibreOffice: character set Unicode (UTF-8)) and send it again`

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
)

// decode returns the file as a stream of UTF-8 without a byte-order mark.
// UTF-8 (with or without a BOM) passes as it is and UTF-16 with a BOM is
// decoded as it is read, as spreadsheets write both. Anything else is an
// error naming the problem and the fix: a file is never decoded by
// guesswork, so no row is silently mangled. UTF-8 itself is checked line by
// line (checkLine), so the file is never held whole.
func decode(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read CSV: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		_, _ = br.Discard(len(bomUTF8))
	case bytes.HasPrefix(head, bomUTF32LE):
		return nil, errors.New("the file is UTF-32, which is not read here; " + fixEncoding)
	case bytes.HasPrefix(head, bomUTF16LE):
		_, _ = br.Discard(len(bomUTF16LE))
		return &utf16Reader{src: br, order: binary.LittleEndian, name: "little-endian", line: 1}, nil
	case bytes.HasPrefix(head, bomUTF16BE):
		_, _ = br.Discard(len(bomUTF16BE))
		return &utf16Reader{src: br, order: binary.BigEndian, name: "big-endian", line: 1}, nil
	}
	return br, nil
}

// checkFirstLine refuses UTF-16 (or UTF-32) without a BOM: it shows as NUL
// bytes between the header's characters, and a CSV's header never has one.
func checkFirstLine(line []byte) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errors.New("the file is not UTF-8: it has NUL bytes in its first line, as UTF-16 without a byte-order mark has; " +
			fixEncoding + " (UTF-16 with a byte-order mark is read too)")
	}
	return nil
}

// checkLine refuses a line that is not UTF-8, naming the line and the byte.
func checkLine(line []byte, num int) error {
	if utf8.Valid(line) {
		return nil
	}
	for i := 0; i < len(line); {
		r, n := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("line %d: the file is not UTF-8 (byte 0x%02X there is not valid UTF-8); it is probably in a legacy encoding such as Latin-1 or Windows-1252: %s",
				num, line[i], fixEncoding)
		}
		i += n
	}
	return nil
}

// utf16Reader decodes UTF-16 after its BOM into UTF-8 as it is read. An odd
// length or an unpaired surrogate is an error with its line rather than a
// replacement character.
type utf16Reader struct {
	src   *bufio.Reader
	order binary.ByteOrder
	name  string
	line  int
	out   []byte // decoded, not yet returned
	err   error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		u.fill()
	}
	if len(u.out) > 0 {
		n := copy(p, u.out)
		u.out = u.out[n:]
		return n, nil
	}
	return 0, u.err
}

// fill decodes up to 4096 code units into u.out, or sets u.err.
func (u *utf16Reader) fill() {
	u.out = u.out[:0]
	for range 4096 {
		unit, ok := u.unit()
		if !ok {
			return
		}
		r := rune(unit)
		if utf16.IsSurrogate(r) {
			next := rune(utf8.RuneError)
			if n, ok := u.unit(); ok {
				next = rune(n)
			} else if u.err != io.EOF {
				return
			}
			if r = utf16.DecodeRune(r, next); r == utf8.RuneError {
				u.err = fmt.Errorf("line %d: the file is UTF-16 %s but has a broken character (unpaired surrogate 0x%04X) there; %s",
					u.line, u.name, unit, fixEncoding)
				return
			}
		}
		if r == '\n' {
			u.line++
		}
		u.out = utf8.AppendRune(u.out, r)
	}
}

// unit reads one code unit; at the end or on an error it sets u.err.
func (u *utf16Reader) unit() (uint16, bool) {
	var b [2]byte
	switch _, err := io.ReadFull(u.src, b[:]); {
	case err == io.ErrUnexpectedEOF:
		u.err = fmt.Errorf("the file is UTF-16 %s but has an odd number of bytes: it is cut short or damaged; %s", u.name, fixEncoding)
		return 0, false
	case err == io.EOF:
		u.err = io.EOF
		return 0, false
	case err != nil:
		u.err = fmt.Errorf("read CSV: %w", err)
		return 0, false
	}
	return u.order.Uint16(b[:]), true
}
