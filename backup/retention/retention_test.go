package retention

import (
	"slices"
	"testing"
	"time"
)

func at(s string) time.Time {
	layout := "2006-01-02"
	if len(s) > 10 {
		layout = "2006-01-02 15:04"
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		panic(err)
	}
	if len(s) == 10 {
		t = t.Add(3 * time.Hour) // the default schedule: 03:00 UTC
	}
	return t
}

func days(from, to string) []time.Time {
	var out []time.Time
	for t := at(from); !t.After(at(to)); t = t.AddDate(0, 0, 1) {
		out = append(out, t)
	}
	return out
}

func list(ss ...string) []time.Time {
	var out []time.Time
	for _, s := range ss {
		out = append(out, at(s))
	}
	return out
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Time
		p     Policy
		keep  []time.Time
	}{
		{"none", nil, Default, nil},
		{"zero policy still keeps the newest", list("2027-03-01", "2027-03-02"), Policy{}, list("2027-03-02")},
		{"leap day is a day", days("2028-02-25", "2028-03-02"), Policy{Daily: 3}, list("2028-03-02", "2028-03-01", "2028-02-29")},
		{"leap day ends February", days("2028-02-25", "2028-03-02"), Policy{Monthly: 2}, list("2028-03-02", "2028-02-29")},
		{"month ends across a year", list("2026-12-31", "2027-01-01", "2027-01-31", "2027-02-28", "2027-03-01"), Policy{Monthly: 3},
			list("2027-03-01", "2027-02-28", "2027-01-31")},
		{"ISO week 53 spans the new year", list("2026-12-28", "2026-12-31", "2027-01-03", "2027-01-04"), Policy{Weekly: 2},
			list("2027-01-04", "2027-01-03")},
		{"several a day: the day's newest", list("2027-05-09", "2027-05-10", "2027-05-10 15:00"), Policy{Daily: 1},
			list("2027-05-10 15:00")},
		{"periods with backups, not calendar periods", list("2024-06-01", "2025-01-01"), Policy{Daily: 2}, list("2025-01-01", "2024-06-01")},
		{"two years of dailies, default policy", days("2027-01-01", "2028-12-31"), Default, append(append(
			days("2028-12-25", "2028-12-31"),
			list("2028-12-24", "2028-12-17", "2028-12-10")...),
			list("2028-11-30", "2028-10-31", "2028-09-30", "2028-08-31", "2028-07-31", "2028-06-30",
				"2028-05-31", "2028-04-30", "2028-03-31", "2028-02-29", "2028-01-31")...)},
		{"a year of dailies reaches back into the old year", days("2027-06-15", "2028-03-10"), Policy{Daily: 0, Weekly: 0, Monthly: 12},
			list("2028-03-10", "2028-02-29", "2028-01-31", "2027-12-31", "2027-11-30", "2027-10-31", "2027-09-30",
				"2027-08-31", "2027-07-31", "2027-06-30")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Input order must not matter.
			in := slices.Clone(tc.times)
			slices.Reverse(in)
			var got []time.Time
			for _, d := range Plan(in, tc.p) {
				if d.Keep {
					got = append(got, d.Time)
				}
			}
			want := slices.Clone(tc.keep)
			slices.SortFunc(want, func(a, b time.Time) int { return b.Compare(a) })
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("kept\n  %v\nwant\n  %v", show(got), show(want))
			}
			if len(Prune(in, tc.p))+len(got) != len(in) {
				t.Errorf("Prune and Plan disagree")
			}
		})
	}
}

func show(ts []time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format("2006-01-02 15:04 Mon"))
	}
	return out
}

func TestNewestIsNeverPruned(t *testing.T) {
	times := days("2027-01-01", "2029-12-31")
	for _, p := range []Policy{{}, {Daily: 1}, {Weekly: 1}, {Monthly: 1}, Default} {
		for _, del := range Prune(times, p) {
			if del.Equal(at("2029-12-31")) {
				t.Errorf("policy %+v prunes the newest backup", p)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Default.Check(); err != nil {
		t.Error(err)
	}
	for _, p := range []Policy{{}, {Daily: -1, Weekly: 4}} {
		if p.Check() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
