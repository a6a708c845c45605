package harness

import (
	"context"
	"fmt"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
)

// Run is one run of a workflow (the first, or one after a continue-as-new)
// and its full history.
type Run struct {
	RunID   string
	History *historypb.History
}

// Histories returns every run of a workflow, oldest first, by walking back
// from the latest run through each run's continued-from link.
func Histories(ctx context.Context, c client.Client, workflowID string) ([]Run, error) {
	var runs []Run
	runID := ""
	for i := 0; i < 1000; i++ {
		h, id, err := history(ctx, c, workflowID, runID)
		if err != nil {
			return nil, err
		}
		runs = append([]Run{{RunID: id, History: h}}, runs...)
		prev := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if prev == "" {
			return runs, nil
		}
		runID = prev
	}
	return nil, fmt.Errorf("workflow %s: more than 1000 runs", workflowID)
}

func history(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, string, error) {
	if runID == "" {
		d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			return nil, "", fmt.Errorf("describe %s: %w", workflowID, err)
		}
		runID = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, "", fmt.Errorf("history of %s/%s: %w", workflowID, runID, err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		return nil, "", fmt.Errorf("history of %s/%s is empty", workflowID, runID)
	}
	return h, runID, nil
}

// HistoryJSON renders a history the way `temporal workflow show -o json`
// does, which client.HistoryFromJSON reads back.
func HistoryJSON(h *historypb.History) ([]byte, error) {
	return temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
}
