package jobapi

import (
	"github.com/ampledata/temporal-kit/worker/enrichment"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// JobView is the answer to GET /jobs/{id}. Row counts come from the
// results table (exact, whatever Temporal's state); Stages and Workflow
// come from the workflow's progress query and are absent when no worker
// answers it.
type JobView struct {
	ID    string `json:"id"`
	State string `json:"state"` // running, completed, cancelled, failed, terminated, timed_out, unknown
	// Complete is true once the workflow completed; every row is then stored.
	Complete      bool                             `json:"complete"`
	Rows          int                              `json:"rows"`   // good rows of the file
	Stored        int                              `json:"stored"` // rows with a stored result (= ok + failed)
	OK            int                              `json:"ok"`
	Failed        int                              `json:"failed"`
	Pending       int                              `json:"pending"`
	Percent       float64                          `json:"percent"`
	ErrorClasses  map[string]int                   `json:"error_classes"`   // failed rows by error class
	FailedByStage map[string]int                   `json:"failed_by_stage"` // failed rows by the stage that failed
	Stages        map[string]enrichment.StageCount `json:"stages,omitempty"`
	BadRows       []jobcsv.BadRow                  `json:"bad_rows"`
	Workflow      *WorkflowView                    `json:"workflow,omitempty"`
}

// WorkflowView is the Temporal side of a job.
type WorkflowView struct {
	ID               string  `json:"id"`
	Runs             int     `json:"runs"`
	Batches          int     `json:"batches"`
	BatchesDone      int     `json:"batches_done"`
	BatchErrors      int     `json:"batch_errors"`
	ActivityAttempts int     `json:"activity_attempts"`
	Actions          int     `json:"temporal_actions"`
	ActionsPerRow    float64 `json:"temporal_actions_per_row"`
}

// NewJobView assembles the view from the stored job, its result counts and
// the workflow's status.
func NewJobView(job *store.Job, c store.Counts, st enrichment.Status) JobView {
	v := JobView{
		ID: job.ID, State: st.State, Complete: st.State == enrichment.StateCompleted,
		Rows: job.TotalRows, Stored: c.Done, OK: c.OK, Failed: c.Failed, Pending: max(job.TotalRows-c.Done, 0),
		ErrorClasses: c.ByErrorClass, FailedByStage: c.ByStage, BadRows: job.Bad,
	}
	if v.BadRows == nil {
		v.BadRows = []jobcsv.BadRow{}
	}
	if v.Rows > 0 {
		v.Percent = float64(int(1000*float64(v.Stored)/float64(v.Rows))) / 10
	}
	if p := st.Progress; p != nil {
		v.Stages = p.Stages
		v.Workflow = &WorkflowView{ID: st.WorkflowID, Runs: p.Runs, Batches: p.Batches, BatchesDone: p.BatchesDone,
			BatchErrors: p.BatchErrors, ActivityAttempts: p.ActivityAttempts, Actions: p.Actions(), ActionsPerRow: p.ActionsPerRow()}
	}
	return v
}
