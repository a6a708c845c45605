package jobcsv

import (
	"slices"
	"testing"
)

func TestSafeCell(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"Acme", "Acme"},
		{"=1+2", "'=1+2"},
		{`=HYPERLINK("http://evil.example","x")`, `'=HYPERLINK("http://evil.example","x")`},
		{"+49 30 1234", "'+49 30 1234"}, // numeric-looking: prefixed anyway (OWASP)
		{"-5", "'-5"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1+2", "'\t=1+2"},
		{"\r=1+2", "'\r=1+2"},
		{"'=already quoted", "'=already quoted"}, // starts with a quote: shown as is
		{"a=b", "a=b"},                           // only the first character counts
		{" =1+2", " =1+2"},                       // OWASP lists first characters only; a leading space is text
		{"info@acme.example", "info@acme.example"},
		{"Ünïcode", "Ünïcode"},
	}
	for _, c := range cases {
		if got := SafeCell(c.in); got != c.want {
			t.Errorf("SafeCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSafeRecordLeavesItsInputRaw(t *testing.T) {
	rec := []string{"=1+2", "Acme", "@x"}
	got := SafeRecord(rec)
	if !slices.Equal(got, []string{"'=1+2", "Acme", "'@x"}) {
		t.Errorf("SafeRecord = %q", got)
	}
	if !slices.Equal(rec, []string{"=1+2", "Acme", "@x"}) {
		t.Errorf("SafeRecord changed its input: %q", rec)
	}
}
