package integration

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/fixturesvc"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

// buildInfo is the Prometheus endpoint the hostile site aims the worker at:
// nothing else in the stack calls it, so its request counter shows whether
// the worker got there.
const buildInfo = "/api/v1/status/buildinfo"

// TestRedirectIntoTheStackIsBlocked: a site on the internet (a fixture
// site) redirects the worker to Prometheus, a service beside it on the
// stack network. The worker is told to reach Prometheus directly
// (NO_PROXY), as it would in prod, where no proxy stands in between. The
// row ends with class blocked in results.csv and the metrics, Prometheus
// never sees the request, and job-file domains that name the stack's
// addresses are refused at upload.
func TestRedirectIntoTheStackIsBlocked(t *testing.T) {
	stacktest.RequireDocker(t)
	target := "http://" + stacks.ServicePrometheus + ":" + strconv.Itoa(stacks.PortPrometheus) + buildInfo
	def := stacktest.LocalDev(t, fixtureConfig(map[string]string{"NO_PROXY": stacks.ServicePrometheus}))
	fx := fixturesvc.Service(0)
	fx.Env = append(fx.Env, stacks.EnvVar{Name: "FIXTURE_REDIRECT_URL", Value: target})
	st := stacktest.Start(t, def, stacktest.With(fx), stacktest.Only(stacks.ServiceWorker, stacks.ServicePrometheus, fixturesvc.Name))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prom := "http://" + st.Endpoint(stacks.ServicePrometheus, stacks.PortPrometheus)
	worker := "http://" + st.Endpoint(stacks.ServiceWorker, stacks.PortWorkerAPI)

	good, hostile := fixture.SyntheticName(fixture.KindOK, 91001), fixture.SyntheticName(fixture.KindRedirect, 91001)
	job := "company,website\n" + good + ",\n" + hostile + ",\nMetadata,169.254.169.254\nOwn API,127.0.0.1:8000\nGateway,http://172.17.0.1/\n"
	created, err := api(st).Submit(ctx, []byte(job))
	if err != nil {
		t.Fatal(err)
	}
	if created.Rows != 2 || len(created.BadRows) != 3 {
		t.Fatalf("job took %d rows, bad %+v; want 2 rows and the 3 rows naming addresses refused", created.Rows, created.BadRows)
	}
	for _, b := range created.BadRows {
		if !strings.Contains(b.Reason, `column "website"`) || !strings.Contains(b.Reason, "domain") {
			t.Errorf("bad row %d: %q does not name the column and the fix", b.Line, b.Reason)
		}
	}
	v := waitComplete(ctx, t, st, created.ID)
	if v.OK != 1 || v.Failed != 1 {
		t.Errorf("job: %d ok, %d failed; want the good row ok and the hostile one failed", v.OK, v.Failed)
	}

	header, recs, err := api(st).Results(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(header, name) }
	if col("error_class") < 0 || col("company") < 0 {
		t.Fatalf("results.csv header %v", header)
	}
	classes := map[string]string{}
	for _, r := range recs {
		classes[r[col("company")]] = r[col("error_class")]
		for _, cell := range r {
			if strings.Contains(cell, "goVersion") || strings.Contains(cell, "revision") {
				t.Errorf("Prometheus' answer landed in results.csv: %q", cell)
			}
		}
	}
	t.Logf("results.csv error_class: %q -> %q, %q -> %q", good, classes[good], hostile, classes[hostile])
	if classes[good] != "" || classes[hostile] != "blocked" {
		t.Errorf("error_class %v; want %q empty and %q blocked", classes, good, hostile)
	}

	if n := counter(ctx, t, worker+"/metrics", "enrichment_rows_total", `outcome="blocked"`, `stage="fetch"`); n != 1 {
		t.Errorf(`enrichment_rows_total{stage="fetch",outcome="blocked"} = %v, want 1`, n)
	}
	n := counter(ctx, t, prom+"/metrics", "prometheus_http_requests_total", `handler="`+buildInfo+`"`)
	t.Logf("FIGURE Prometheus %s requests after the hostile redirect: %v", buildInfo, n)
	if n != 0 {
		t.Errorf("Prometheus served %s %v times: the worker reached it", buildInfo, n)
	}
}

// counter sums the samples of a metric whose labels contain all of labels,
// read from a Prometheus text endpoint.
func counter(ctx context.Context, t *testing.T, endpoint, metric string, labels ...string) float64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		matched := true
		for _, l := range labels {
			matched = matched && strings.Contains(line, l)
		}
		if !matched {
			continue
		}
		f := strings.Fields(line)
		x, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", endpoint, line, err)
		}
		sum += x
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	return sum
}
