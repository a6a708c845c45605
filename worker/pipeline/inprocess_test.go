package pipeline_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/store"
)

type memSaver struct {
	mu  sync.Mutex
	got map[int]store.Result
}

func (m *memSaver) SaveResults(_ context.Context, rs []store.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.got[r.Row] = r
	}
	return nil
}

func TestRunInProcessStoresEveryRow(t *testing.T) {
	st := newStages(t, fixture.New(0, "test-key"))
	var rows []fixture.Row
	for _, name := range fixture.RecordedCompanies() {
		rows = append(rows, fixture.Row{Name: name})
	}
	rows = append(rows, fixture.SyntheticRows(40)...)
	in := make([]store.InputRow, len(rows))
	for i, r := range rows {
		in[i] = store.InputRow{Num: i, Name: r.Name}
	}
	db := &memSaver{got: map[int]store.Result{}}
	var last int
	stats, err := st.RunInProcess(context.Background(), "j", in, db, 7, func(n int) { last = n })
	if err != nil {
		t.Fatal(err)
	}
	if len(db.got) != len(rows) || last != len(rows) || stats.OK+stats.Failed != len(rows) {
		t.Fatalf("stored %d, progress %d, stats %+v; want %d", len(db.got), last, stats, len(rows))
	}
	for i, r := range rows {
		want, err := fixture.ExpectedFor(r.Name, r.Domain)
		if err != nil {
			t.Fatal(err)
		}
		assertResult(t, want, db.got[i])
	}
}
