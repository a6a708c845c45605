package enrichment

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Jobs starts and follows job workflows.
type Jobs struct {
	Client client.Client
	// Queue is the task queue of the job workflow and EnrichBatch.
	Queue string
	// Template holds the batch settings every new job gets.
	Template JobInput
}

// Start starts the job's workflow. Starting the same job twice is refused by
// the workflow ID, so a retried POST cannot run a job twice.
func (j *Jobs) Start(ctx context.Context, jobID string, rows int) error {
	in := j.Template
	in.JobID, in.TotalRows = jobID, rows
	_, err := j.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(jobID),
		TaskQueue:                j.Queue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: 0,
		// Shown in the Temporal UI beside the workflow.
		Memo: map[string]any{"job": jobID, "rows": rows},
	}, JobWorkflow, in)
	if err != nil {
		return fmt.Errorf("start job workflow: %w", err)
	}
	return nil
}

// Status is the workflow's state and, when it answers, its progress.
type Status struct {
	State      string // running, completed, failed, cancelled, terminated, timed_out, unknown
	WorkflowID string
	Progress   *Progress // nil when no worker answered the query
}

// Status describes the job's latest run and queries its progress (a closed
// workflow is queried too: its last state is replayed by a worker).
func (j *Jobs) Status(ctx context.Context, jobID string) (Status, error) {
	st := Status{WorkflowID: WorkflowID(jobID)}
	d, err := j.Client.DescribeWorkflowExecution(ctx, WorkflowID(jobID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		st.State = "unknown"
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("describe job workflow: %w", err)
	}
	s := d.GetWorkflowExecutionInfo().GetStatus()
	st.State = map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          "running",
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "completed",
		enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           "failed",
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         "cancelled",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "terminated",
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "running",
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "timed_out",
	}[s]
	if st.State == "" {
		st.State = "unknown"
	}
	v, err := j.Client.QueryWorkflow(ctx, WorkflowID(jobID), "", QueryProgress)
	if err == nil {
		var p Progress
		if err := v.Get(&p); err == nil {
			st.Progress = &p
		}
	}
	return st, nil
}

// Cancel requests cancellation; batches in flight store what they finished.
func (j *Jobs) Cancel(ctx context.Context, jobID string) error {
	return j.Client.CancelWorkflow(ctx, WorkflowID(jobID), "")
}
