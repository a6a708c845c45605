package jobapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

// LimitSetting names how an operator raises one limit of a job file: the
// worker's environment variable and the stack config key that sets it.
type LimitSetting struct {
	Env       string
	ConfigKey string
}

// LimitBody is the body-size limit, beside jobcsv's own.
const LimitBody jobcsv.Limit = "bytes"

// LimitSettings is where each limit is raised; stacks passes each config key
// to its variable (a test checks the two agree).
var LimitSettings = map[jobcsv.Limit]LimitSetting{
	LimitBody:             {Env: "JOB_MAX_BYTES", ConfigKey: "jobMaxBytes"},
	jobcsv.LimitRows:      {Env: "JOB_MAX_ROWS", ConfigKey: "jobMaxRows"},
	jobcsv.LimitColumns:   {Env: "JOB_MAX_COLUMNS", ConfigKey: "jobMaxColumns"},
	jobcsv.LimitLineBytes: {Env: "JOB_MAX_LINE_BYTES", ConfigKey: "jobMaxLineBytes"},
}

// raise tells how limit l is raised.
func raise(l jobcsv.Limit) string {
	s := LimitSettings[l]
	return fmt.Sprintf("the worker's %s (stack config temporal-kit:%s) raises the limit", s.Env, s.ConfigKey)
}

// fileError answers a job file that cannot be taken: 413 when it is over a
// limit (naming the limit and how to raise it), 400 when it is malformed,
// with the bad rows found so far when there are any.
func (a *API) fileError(w http.ResponseWriter, err error, maxBody int64, bad []jobcsv.BadRow) {
	var tooBig *http.MaxBytesError
	var over *jobcsv.LimitError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the CSV is larger than the limit of %d bytes; split the job, or %s", maxBody, raise(LimitBody)))
	case errors.As(err, &over):
		writeError(w, http.StatusRequestEntityTooLarge, over.Error()+"; or "+raise(over.Limit))
	case errors.Is(err, jobcsv.ErrNoGoodRows), errors.Is(err, jobcsv.ErrTooManyBadRows):
		if bad == nil {
			bad = []jobcsv.BadRow{}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "bad_rows": bad})
	default:
		writeError(w, http.StatusBadRequest, err.Error())
	}
}
