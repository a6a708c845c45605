package store_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/extract"
	"github.com/ampledata/temporal-kit/worker/jobcsv"
	"github.com/ampledata/temporal-kit/worker/store"
)

// The store runs against the Definition's PostgreSQL (local image).
func TestStoreAgainstPostgres(t *testing.T) {
	def := stacktest.LocalDev(t)
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServicePostgres))
	svc, _ := def.Service(stacks.ServiceWorker)
	user := svc.PlainEnv()["PGUSER"]
	pgURL := func(db string) string {
		u := url.URL{Scheme: "postgres", User: url.UserPassword(user, st.Secret(stacks.SecretPostgresPassword)),
			Host: st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres), Path: "/" + db}
		return u.String()
	}
	if _, _, err := net.SplitHostPort(st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Two workers starting at once: both create the database and migrate.
	var wg sync.WaitGroup
	stores := make([]*store.Store, 2)
	errs := make([]error, 2)
	created := make([]bool, 2)
	applied := make([][]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if created[i], errs[i] = store.EnsureDatabase(ctx, pgURL("postgres"), "ampledata_test"); errs[i] != nil {
				return
			}
			if stores[i], errs[i] = store.Open(ctx, pgURL("ampledata_test"), 4); errs[i] != nil {
				return
			}
			applied[i], errs[i] = stores[i].Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if created[0] == created[1] || len(applied[0])+len(applied[1]) != 1 {
		t.Errorf("created %v, applied %v: exactly one worker creates and migrates", created, applied)
	}
	s := stores[0]
	if again, err := s.Migrate(ctx); err != nil || len(again) != 0 {
		t.Errorf("migrate again: %v %v", again, err)
	}

	file := []byte("company,website,note\nAcme,,a\nGlobex,http://globex.example,b\nInitech,,c\n\"bad,x\n")
	rd, err := jobcsv.NewReader(bytes.NewReader(file), jobcsv.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(ctx, "job-a", rd); err != nil {
		t.Fatal(err)
	}
	// A file over a limit part way through leaves nothing behind.
	rd, err = jobcsv.NewReader(bytes.NewReader(file), jobcsv.Limits{MaxRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	var over *jobcsv.LimitError
	if err := s.CreateJob(ctx, "job-over", rd); !errors.As(err, &over) || !errors.As(rd.Err(), &over) {
		t.Errorf("a file over its row limit: %v (reader: %v), want a LimitError", err, rd.Err())
	}
	if _, err := s.GetJob(ctx, "job-over"); err != store.ErrNotFound {
		t.Errorf("the job over its limit was kept: %v", err)
	}
	job, err := s.GetJob(ctx, "job-a")
	if err != nil || job.TotalRows != 3 || len(job.Bad) != 1 || job.Bad[0].Line != 5 {
		t.Fatalf("job %+v %v", job, err)
	}
	if _, err := s.GetJob(ctx, "job-none"); err != store.ErrNotFound {
		t.Errorf("unknown job: %v", err)
	}
	search, err := s.RowsToSearch(ctx, "job-a", 0, 3)
	if err != nil || len(search) != 2 || search[0].Name != "Acme" || search[1].Num != 2 {
		t.Fatalf("rows to search %+v %v", search, err)
	}
	if err := s.SaveSites(ctx, "job-a", []store.SiteFound{{Row: 0, SiteURL: "http://acme.example/"}}); err != nil {
		t.Fatal(err)
	}
	enrich, err := s.RowsToEnrich(ctx, "job-a", 0, 3)
	if err != nil || len(enrich) != 2 || enrich[0].SiteURL != "http://acme.example/" || enrich[1].SiteURL != "http://globex.example/" {
		t.Fatalf("rows to enrich %+v %v", enrich, err)
	}

	ok := store.Result{JobID: "job-a", Row: 0, OK: true, SiteURL: "http://acme.example/", Pages: 2, Fields: extract.Fields{
		Title:  extract.Found{Value: "Acme", URL: "http://acme.example/"},
		Emails: []extract.Found{{Value: "a@acme.example", URL: "http://acme.example/contact"}},
	}}
	failed := store.Result{JobID: "job-a", Row: 2, Stage: "search", ErrorClass: "no_search_result", Error: "none"}
	// Written three times, as retries do: still one row each.
	for range 3 {
		if err := s.SaveResults(ctx, []store.Result{ok, failed}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.CountResults(ctx, "job-a")
	if err != nil || c.Done != 2 || c.OK != 1 || c.Failed != 1 || c.ByErrorClass["no_search_result"] != 1 || c.ByStage["search"] != 1 {
		t.Errorf("counts %+v %v", c, err)
	}
	got, err := s.ReadResults(ctx, "job-a")
	if err != nil || len(got) != 2 || got[0].Fields.Emails[0].URL != "http://acme.example/contact" || got[1].ErrorClass != "no_search_result" {
		t.Errorf("read results %+v %v", got, err)
	}
	var lines [][]string
	err = s.EachResult(ctx, "job-a", func(cols []string) error { lines = append(lines, append([]string{}, cols...)); return nil })
	if err != nil || len(lines) != 3 || lines[0][3] != "ok" || lines[1][3] != "pending" || lines[2][5] != "no_search_result" ||
		lines[0][len(lines[0])-3] != "a@acme.example <http://acme.example/contact>" {
		t.Errorf("results.csv rows %q %v", lines, err)
	}
	if err := s.DeleteJob(ctx, "job-a"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.CountResults(ctx, "job-a"); c.Done != 0 {
		t.Errorf("results left after delete: %+v", c)
	}
}
