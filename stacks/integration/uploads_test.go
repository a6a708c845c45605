package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// lines is a body of head then line repeated n times, written as it is
// sent: the test holds none of it.
func lines(head, line string, n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := io.Writer(pw)
		_, err := io.WriteString(w, head)
		chunk := strings.Repeat(line, max(1, (64<<10)/len(line)))
		per := len(chunk) / len(line)
		for left := n; err == nil && left > 0; left -= per {
			if left < per {
				chunk = strings.Repeat(line, left)
			}
			_, err = io.WriteString(w, chunk)
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// TestWorkerSurvivesWorstUploads posts the uploads that OOM-killed the
// worker before it streamed job files (issue 15, hole 4), and the largest it
// takes, to the worker container of the dev stack under its own memory
// limit: each is answered, and the container is neither OOM-killed nor
// restarted. It logs the container's peak memory while they arrive.
func TestWorkerSurvivesWorstUploads(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t)
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServiceWorker))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	base := func() string { return "http://" + st.Endpoint(stacks.ServiceWorker, stacks.PortWorkerAPI) }

	var mu sync.Mutex
	peak := 0.0
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if mb, err := st.MemoryMB(ctx, stacks.ServiceWorker); err == nil {
				mu.Lock()
				peak = max(peak, mb)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	const mb = 1 << 20
	wideHead := "name" + strings.Repeat(",column", 199) + "\n"
	wide := "Acme Corporation" + strings.Repeat(",field value 0123", 199) + "\n"
	cases := []struct {
		name   string
		body   io.Reader
		status int
		want   string
	}{
		{"60 MB of short rows", lines("name,note\n", "a,b\n", 60*mb/4), http.StatusRequestEntityTooLarge, "JOB_MAX_ROWS"},
		{"body over the cap", lines("name\n", strings.Repeat("x", 127)+"\n", 65*mb/128+1), http.StatusRequestEntityTooLarge, "JOB_MAX_BYTES"},
		{"too many columns", lines("name"+strings.Repeat(",c", 300)+"\n", "a"+strings.Repeat(",x", 300)+"\n", 10), http.StatusRequestEntityTooLarge, "JOB_MAX_COLUMNS"},
		{"a giant single line", lines("name\n", "x", 40*mb), http.StatusRequestEntityTooLarge, "JOB_MAX_LINE_BYTES"},
		{"semicolons", strings.NewReader("company;website;note\r\nMüller GmbH;mueller.test;\"a; b\"\r\n"), http.StatusAccepted, `"rows": 1`},
		{"the most short rows taken", lines("name,note\n", "a,b\n", 1_000_000), http.StatusAccepted, `"rows": 1000000`},
		{"64 MiB of wide rows", lines(wideHead, wide, (64*mb-len(wideHead))/len(wide)), http.StatusAccepted, `"rows": `},
	}
	for _, c := range cases {
		resp, err := http.Post(base()+"/jobs", "text/csv", c.body)
		if err != nil {
			t.Errorf("%s: %v\nworker log:\n%s", c.name, err, tailOf(st.Logs(ctx, stacks.ServiceWorker), 3000))
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %d %.400s; want %d with %q", c.name, resp.StatusCode, out, c.status, c.want)
		}
		// The jobs taken need not run: cancel them, so the test measures
		// the upload and leaves the machine alone.
		var created struct{ ID string }
		if resp.StatusCode == http.StatusAccepted && json.Unmarshal(out, &created) == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, base()+"/jobs/"+created.ID, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	close(stop)
	<-sampled
	info, err := st.Container(stacks.ServiceWorker).Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.OOMKilled || info.RestartCount != 0 || !info.State.Running {
		t.Errorf("worker after the uploads: OOMKilled=%v restarts=%d running=%v", info.State.OOMKilled, info.RestartCount, info.State.Running)
	}
	resp, err := http.Get(base() + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("worker not ready after the uploads: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	mem, _ := def.Service(stacks.ServiceWorker)
	t.Logf("FIGURE worker container peak memory while the worst uploads arrived: %.0f MB (limit %d MB, %s)", peak, mem.MemoryMB, fmt.Sprint(mem.PlainEnv()["GOMEMLIMIT"]))
}
