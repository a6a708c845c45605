// Package retention decides which backups to keep: the newest backup of
// each of the last Daily days, Weekly ISO weeks and Monthly months that
// have a backup (a grandfather-father-son rotation). Periods are counted
// among those that hold a backup, not on the calendar: a pause in backups
// never makes the next run delete everything older. Everything is in UTC.
package retention

import (
	"fmt"
	"sort"
	"time"
)

// Policy is how many periods of each kind keep their newest backup.
type Policy struct {
	Daily, Weekly, Monthly int
}

// Default is 7 daily, 4 weekly, 12 monthly.
var Default = Policy{Daily: 7, Weekly: 4, Monthly: 12}

// Check refuses a policy that would keep nothing or counts below zero.
func (p Policy) Check() error {
	if p.Daily < 0 || p.Weekly < 0 || p.Monthly < 0 {
		return fmt.Errorf("retention %d/%d/%d: counts must not be negative", p.Daily, p.Weekly, p.Monthly)
	}
	if p.Daily+p.Weekly+p.Monthly == 0 {
		return fmt.Errorf("retention 0/0/0 would keep only the newest backup; keep at least one daily")
	}
	return nil
}

// Reason says why a backup is kept.
type Reason string

const (
	Newest  Reason = "newest"
	Daily   Reason = "daily"
	Weekly  Reason = "weekly"
	Monthly Reason = "monthly"
)

// Decision is the outcome for one backup time.
type Decision struct {
	Time    time.Time
	Keep    bool
	Reasons []Reason
}

// Plan returns one decision per backup time (good backups only: partial or
// failed ones are not the policy's business), newest first. The newest
// backup is always kept, whatever the policy.
func Plan(times []time.Time, p Policy) []Decision {
	sorted := make([]time.Time, len(times))
	for i, t := range times {
		sorted[i] = t.UTC()
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].After(sorted[j]) })
	out := make([]Decision, len(sorted))
	for i, t := range sorted {
		out[i].Time = t
	}
	if len(out) == 0 {
		return out
	}
	out[0].Keep = true
	out[0].Reasons = append(out[0].Reasons, Newest)
	bucket := func(n int, reason Reason, key func(time.Time) string) {
		seen := map[string]bool{}
		for i := range out {
			if len(seen) >= n {
				return
			}
			k := key(out[i].Time)
			if seen[k] {
				continue
			}
			// Newest first: the first backup of a period is its newest.
			seen[k] = true
			out[i].Keep = true
			out[i].Reasons = append(out[i].Reasons, reason)
		}
	}
	bucket(p.Daily, Daily, func(t time.Time) string { return t.Format("2006-01-02") })
	bucket(p.Weekly, Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) })
	bucket(p.Monthly, Monthly, func(t time.Time) string { return t.Format("2006-01") })
	return out
}

// Prune returns the backup times to delete.
func Prune(times []time.Time, p Policy) []time.Time {
	var del []time.Time
	for _, d := range Plan(times, p) {
		if !d.Keep {
			del = append(del, d.Time)
		}
	}
	return del
}
