package stacks

import "strconv"

// JobLimits bound one job file the worker's API takes (POST /jobs). The
// worker streams a file into PostgreSQL, so its memory does not grow with
// them; they bound the work one upload makes. Each is passed to the worker
// as the variable jobLimitEnv names.
type JobLimits struct {
	MaxBytes     int // request body
	MaxRows      int // data records
	MaxColumns   int // header fields
	MaxLineBytes int // one record, newlines inside quotes included
}

// jobLimitKeys are the config keys, their worker variables, defaults and
// bounds (the worker's own, so a value the loader takes the worker takes).
var jobLimitKeys = []struct {
	key, env    string
	def, lo, hi int
	field       func(*JobLimits) *int
}{
	{"jobMaxBytes", "JOB_MAX_BYTES", 64 << 20, 1 << 10, 1 << 30, func(j *JobLimits) *int { return &j.MaxBytes }},
	{"jobMaxRows", "JOB_MAX_ROWS", 1_000_000, 1, 10_000_000, func(j *JobLimits) *int { return &j.MaxRows }},
	{"jobMaxColumns", "JOB_MAX_COLUMNS", 200, 1, 1000, func(j *JobLimits) *int { return &j.MaxColumns }},
	{"jobMaxLineBytes", "JOB_MAX_LINE_BYTES", 1 << 20, 1 << 10, 16 << 20, func(j *JobLimits) *int { return &j.MaxLineBytes }},
}

func loadJobLimits(l *loader) JobLimits {
	var j JobLimits
	for _, k := range jobLimitKeys {
		v := l.integer(k.key, k.def)
		if v < k.lo || v > k.hi {
			l.fail(k.key, "%d is out of range; use %d to %d (default %d)", v, k.lo, k.hi, k.def)
			v = k.def
		}
		*k.field(&j) = v
	}
	return j
}

// env is the worker's environment for the limits.
func (j JobLimits) env() []EnvVar {
	out := make([]EnvVar, 0, len(jobLimitKeys))
	for _, k := range jobLimitKeys {
		out = append(out, EnvVar{Name: k.env, Value: strconv.Itoa(*k.field(&j))})
	}
	return out
}

// jobLimitKey is the config key that sets worker variable env, if any.
func jobLimitKey(env string) (string, bool) {
	for _, k := range jobLimitKeys {
		if k.env == env {
			return k.key, true
		}
	}
	return "", false
}
