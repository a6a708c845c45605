package jobcsv

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

// encodeUTF16 writes s as UTF-16 in the given byte order, after bom.
func encodeUTF16(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := append([]byte{}, bom...)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// A job with non-ASCII names, a character outside the BMP (a surrogate pair
// in UTF-16), CRLF line ends and a bad row: read the same in every encoding.
const utf8Job = "company,website,note\r\nMüller GmbH,mueller.test,Ärger 😀\r\nZoë & Co,,\"a, b\"\r\nToo,many,fields,here\r\n"

func TestUTF16WithBOMReadsAsUTF8(t *testing.T) {
	want, err := Parse(strings.NewReader(utf8Job))
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Rows) != 2 || want.Rows[0].Cols[2] != "Ärger 😀" || len(want.Bad) != 1 || want.Bad[0].Line != 4 {
		t.Fatalf("UTF-8 job: %+v", want)
	}
	for name, data := range map[string][]byte{
		"UTF-16LE": encodeUTF16(utf8Job, binary.LittleEndian, bomUTF16LE),
		"UTF-16BE": encodeUTF16(utf8Job, binary.BigEndian, bomUTF16BE),
	} {
		got, err := Parse(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

// Every file that is neither UTF-8 nor UTF-16 with a BOM is refused as a
// whole, naming the problem (and the line when there is one) and the fix.
func TestEncodingErrors(t *testing.T) {
	latin1 := []byte("company,note\nAcme,ok\nM\xfcller GmbH,x\n") // ü in Latin-1 on line 3
	broken := encodeUTF16("company\nAcme\n", binary.LittleEndian, bomUTF16LE)
	broken = binary.LittleEndian.AppendUint16(broken, 0xD83D) // a high surrogate alone on line 3
	broken = binary.LittleEndian.AppendUint16(broken, 'x')
	cases := map[string]struct {
		data []byte
		want []string
	}{
		"UTF-16LE without BOM": {encodeUTF16(utf8Job, binary.LittleEndian, nil), []string{"not UTF-8", "UTF-16 without a byte-order mark"}},
		"UTF-16BE without BOM": {encodeUTF16(utf8Job, binary.BigEndian, nil), []string{"not UTF-8", "UTF-16 without a byte-order mark"}},
		"Latin-1":              {latin1, []string{"line 3:", "not UTF-8", "0xFC", "Latin-1"}},
		"UTF-8 BOM, Latin-1":   {append(append([]byte{}, bomUTF8...), latin1...), []string{"line 3:", "not UTF-8"}},
		"UTF-16 odd length":    {append(encodeUTF16("company\nAcme\n", binary.BigEndian, bomUTF16BE), 'x'), []string{"UTF-16 big-endian", "odd number of bytes"}},
		"UTF-16 unpaired":      {broken, []string{"line 3:", "UTF-16 little-endian", "unpaired surrogate 0xD83D"}},
		"UTF-16 cut in a pair": {broken[:len(broken)-2], []string{"line 3:", "unpaired surrogate"}},
		"UTF-32LE":             {[]byte("\xff\xfe\x00\x00c\x00\x00\x00"), []string{"UTF-32"}},
	}
	for name, c := range cases {
		f, err := Parse(bytes.NewReader(c.data))
		if err == nil {
			t.Errorf("%s: accepted: %+v", name, f)
			continue
		}
		for _, w := range append(c.want, `save it as "CSV UTF-8"`) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", name, err, w)
			}
		}
	}
}
