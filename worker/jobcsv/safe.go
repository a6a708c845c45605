package jobcsv

import "strings"

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (OWASP, CSV injection): = + - @, tab and carriage return.
const formulaStarts = "=+-@\t\r"

// SafeCell neutralises a cell for a CSV that is opened in spreadsheets: a
// cell starting with one of formulaStarts gets a leading single quote, so it
// is shown as text instead of evaluated. Numeric-looking cells such as
// "+49 30 1234" or "-5" are prefixed too, as OWASP advises: telling a number
// from a formula depends on the spreadsheet and its locale, and any
// exception is a way around the guard.
func SafeCell(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// SafeRecord returns a copy of rec with every cell passed through SafeCell;
// rec itself is left as it is, so the caller's raw values stay raw.
func SafeRecord(rec []string) []string {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = SafeCell(c)
	}
	return out
}
