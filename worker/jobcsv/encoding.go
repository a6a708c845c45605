package jobcsv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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

// toUTF8 returns the file as UTF-8 without a byte-order mark. UTF-8 (with or
// without a BOM) passes as it is and UTF-16 with a BOM is decoded, as
// spreadsheets write both. Anything else is an error naming the problem and
// the fix: a file is never decoded by guesswork, so no row is silently
// mangled.
func toUTF8(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, bomUTF8):
		data = data[len(bomUTF8):]
	case bytes.HasPrefix(data, bomUTF32LE):
		return nil, errors.New("the file is UTF-32, which is not read here; " + fixEncoding)
	case bytes.HasPrefix(data, bomUTF16LE):
		return decodeUTF16(data[len(bomUTF16LE):], binary.LittleEndian, "little-endian")
	case bytes.HasPrefix(data, bomUTF16BE):
		return decodeUTF16(data[len(bomUTF16BE):], binary.BigEndian, "big-endian")
	}
	// Without a BOM, UTF-16 (or UTF-32) shows as NUL bytes between the
	// header's characters; a CSV's header never has one.
	if first, _, _ := bytes.Cut(data, []byte("\n")); bytes.IndexByte(first, 0) >= 0 {
		return nil, errors.New("the file is not UTF-8: it has NUL bytes in its first line, as UTF-16 without a byte-order mark has; " +
			fixEncoding + " (UTF-16 with a byte-order mark is read too)")
	}
	if off, bad := firstInvalidUTF8(data); bad {
		return nil, fmt.Errorf("line %d: the file is not UTF-8 (byte 0x%02X there is not valid UTF-8); it is probably in a legacy encoding such as Latin-1 or Windows-1252: %s",
			lineAt(data, off), data[off], fixEncoding)
	}
	return data, nil
}

// decodeUTF16 decodes UTF-16 after its BOM. An odd length or an unpaired
// surrogate is an error with its line rather than a replacement character.
func decodeUTF16(data []byte, order binary.ByteOrder, name string) ([]byte, error) {
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("the file is UTF-16 %s but has an odd number of bytes: it is cut short or damaged; %s", name, fixEncoding)
	}
	out := make([]byte, 0, len(data)/2)
	line := 1
	for i := 0; i < len(data); i += 2 {
		r := rune(order.Uint16(data[i:]))
		if utf16.IsSurrogate(r) {
			next := rune(utf8.RuneError)
			if i+3 < len(data) {
				next = rune(order.Uint16(data[i+2:]))
			}
			if r = utf16.DecodeRune(r, next); r == utf8.RuneError {
				return nil, fmt.Errorf("line %d: the file is UTF-16 %s but has a broken character (unpaired surrogate 0x%04X) there; %s",
					line, name, order.Uint16(data[i:]), fixEncoding)
			}
			i += 2
		}
		if r == '\n' {
			line++
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// firstInvalidUTF8 is the offset of the first byte that is not UTF-8.
func firstInvalidUTF8(data []byte) (int, bool) {
	if utf8.Valid(data) {
		return 0, false
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i, true
		}
		i += n
	}
	return 0, false
}

// lineAt is the 1-based line of data[off], counted as Parse counts lines.
func lineAt(data []byte, off int) int {
	return bytes.Count(data[:off], []byte("\n")) + 1
}
