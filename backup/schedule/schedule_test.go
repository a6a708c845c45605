package schedule

import (
	"testing"
	"time"
)

func TestParser(t *testing.T) {
	from := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC) // a Thursday
	for expr, want := range map[string]time.Time{
		"0 3 * * *":  time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC),
		"30 4 * * 0": time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC),
		"@daily":     time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
	} {
		s, err := Parser.Parse(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if got := s.Next(from); !got.Equal(want) {
			t.Errorf("%q after %v: %v, want %v", expr, from, got, want)
		}
	}
	// Six fields (with seconds), too few fields and words are refused.
	for _, expr := range []string{"0 0 3 * * *", "* * *", "daily at 3", ""} {
		if _, err := Parser.Parse(expr); err == nil {
			t.Errorf("%q parsed; want an error", expr)
		}
	}
}
