package deployring

import (
	"context"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/jobapi"
)

// RunJob submits a job of the recorded companies and perKind synthetic
// rows of each kind (fixture.MixedRows) to the job API at apiURL and waits,
// up to timeout, until every row is stored with some enriched; it returns
// the finished job.
func RunJob(t testing.TB, ctx context.Context, apiURL string, perKind int, timeout time.Duration) jobapi.JobView {
	t.Helper()
	api := jobapi.NewClient(apiURL)
	rows := fixture.MixedRows(1, perKind)
	created, err := api.Submit(ctx, fixture.CSV(rows))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := api.Wait(wctx, created.ID, 500*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("job %s: %v", created.ID, err)
	}
	if !v.Complete || v.Rows != len(rows) || v.Stored != len(rows) || v.OK == 0 {
		t.Fatalf("job %s: complete=%v rows=%d stored=%d ok=%d, want complete with %d rows stored, some ok", created.ID, v.Complete, v.Rows, v.Stored, v.OK, len(rows))
	}
	return v
}
