package enrichment

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from a real
// server (worker/e2e with WORKER_RECORD_HISTORIES=1): a change to
// JobWorkflow that would break running jobs fails here. An intended change
// needs a workflow.GetVersion branch, or new recordings once no old job runs.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded history in worker/testdata/histories: record them with WORKER_RECORD_HISTORIES=1 go test ./worker/e2e")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("read history: %v", err)
			}
			if len(h.Events) < 10 {
				t.Fatalf("history has %d events: not a real job", len(h.Events))
			}
			rp := worker.NewWorkflowReplayer()
			rp.RegisterWorkflow(JobWorkflow)
			if err := rp.ReplayWorkflowHistory(nil, h); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}
