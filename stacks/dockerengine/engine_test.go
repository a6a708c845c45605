package dockerengine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// onSocket serves h on a unix socket, as the engine does, and returns an
// Engine that talks to it and the requests it received.
func onSocket(t *testing.T, h http.HandlerFunc) (*Engine, *[]string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
		h(w, r)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return New(sock), &got
}

func TestListInspectRestartOverTheSocket(t *testing.T) {
	e, reqs := onSocket(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/containers/json":
			_, _ = w.Write([]byte(`[{"Id":"a1","Names":["/kit-dev-temporal"],"Labels":{"temporal-kit.stack":"dev"},"State":"running"},{"Id":"b2"}]`))
		case "/containers/kit-dev-temporal/json":
			_, _ = w.Write([]byte(`{"Id":"a1","Name":"/kit-dev-temporal","RestartCount":2,"Config":{"Labels":{"temporal-kit.service":"temporal"},"Env":["X=1"]},
				"State":{"Running":true,"OOMKilled":true,"StartedAt":"2026-12-03T10:00:00Z","Health":{"Status":"unhealthy","FailingStreak":3}},
				"NetworkSettings":{"Networks":{"kit-dev":{"NetworkID":"n1"}}}}`))
		case "/containers/a1/restart":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"No such container: gone"}`))
		}
	})
	ctx := context.Background()
	list, err := e.List(ctx, true, map[string][]string{"label": {"temporal-kit.stack=dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name() != "kit-dev-temporal" || list[0].Labels["temporal-kit.stack"] != "dev" || list[0].State != "running" || list[1].Name() != "b2" {
		t.Errorf("List = %+v", list)
	}
	c, err := e.Inspect(ctx, "kit-dev-temporal")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if c.ID != "a1" || c.RestartCount != 2 || c.Config.Labels["temporal-kit.service"] != "temporal" || !c.State.Running || !c.State.OOMKilled ||
		!c.State.StartedAt.Equal(started) || c.State.Health == nil || c.State.Health.Status != "unhealthy" || c.State.Health.FailingStreak != 3 {
		t.Errorf("Inspect = %+v", c)
	}
	if n := c.Networks(); !slices.Equal(n, []string{"kit-dev"}) {
		t.Errorf("Networks = %v", n)
	}
	if err := e.Restart(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.Inspect(ctx, "gone")
	var ee *Error
	if !errors.As(err, &ee) || ee.Status != http.StatusNotFound || !strings.Contains(ee.Msg, "No such container: gone") {
		t.Errorf("Inspect of a missing container: %v, want an *Error 404 with the engine's message", err)
	}
	want := []string{
		`GET /containers/json?filters=%7B%22label%22%3A%5B%22temporal-kit.stack%3Ddev%22%5D%7D&all=1`,
		"GET /containers/kit-dev-temporal/json",
		"POST /containers/a1/restart",
		"GET /containers/gone/json",
	}
	if !slices.Equal(*reqs, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(*reqs, "\n"), strings.Join(want, "\n"))
	}
}

func TestStatsWorkingSetAndCPU(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ws, limit  uint64
		cpu        time.Duration
	}{
		{"cgroup v2", `{"pids_stats":{"current":12},"cpu_stats":{"cpu_usage":{"total_usage":2500000000}},
			"memory_stats":{"usage":104857600,"limit":536870912,"stats":{"inactive_file":4194304,"anon":1}}}`, 100<<20 - 4<<20, 512 << 20, 2500 * time.Millisecond},
		{"cgroup v1", `{"cpu_stats":{"cpu_usage":{"total_usage":1000}},"memory_stats":{"usage":2048,"stats":{"total_inactive_file":1024}}}`, 1024, 0, 1000},
		{"cache larger than usage is not subtracted", `{"memory_stats":{"usage":100,"stats":{"inactive_file":200}}}`, 100, 0, 0},
		{"no cache figure", `{"memory_stats":{"usage":300}}`, 300, 0, 0},
		{"stopped", `{"read":"0001-01-01T00:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":0}},"memory_stats":{}}`, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, reqs := onSocket(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tc.body)) })
			st, err := e.Stats(context.Background(), "a1")
			if err != nil {
				t.Fatal(err)
			}
			if st.WorkingSet() != tc.ws || st.MemoryStats.Limit != tc.limit || st.CPU() != tc.cpu {
				t.Errorf("working set %d, limit %d, CPU %s; want %d, %d, %s", st.WorkingSet(), st.MemoryStats.Limit, st.CPU(), tc.ws, tc.limit, tc.cpu)
			}
			// docker-gate serves only one-shot, non-streaming stats.
			if want := "GET /containers/a1/stats?stream=false&one-shot=true"; len(*reqs) != 1 || (*reqs)[0] != want {
				t.Errorf("requests %v, want %s", *reqs, want)
			}
		})
	}
	if _, err := DecodeStats(strings.NewReader("not json")); err == nil {
		t.Error("DecodeStats of a non-JSON answer: no error")
	}
}

// NewAt reads an engine API served over HTTP (docker-gate's view).
func TestNewAtOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"Id":"` + strings.Split(r.URL.Path, "/")[2] + `"}`))
	}))
	defer srv.Close()
	c, err := NewAt(srv.URL+"/", nil).Inspect(context.Background(), "x y")
	if err != nil || c.ID != "x y" {
		t.Errorf("Inspect over HTTP = %+v, %v", c, err)
	}
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct{ host, tls, base, err string }{
		{"", "", "http://docker", ""},
		{"unix:///run/user/1000/docker.sock", "", "http://docker", ""},
		{"tcp://10.0.0.5:2375", "", "http://10.0.0.5:2375", ""},
		{"ssh://me@host", "", "", "DOCKER_HOST"},
		{"tcp://10.0.0.5:2376", "1", "", "DOCKER_TLS_VERIFY"},
	} {
		t.Setenv("DOCKER_HOST", tc.host)
		t.Setenv("DOCKER_TLS_VERIFY", tc.tls)
		e, err := FromEnv()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("DOCKER_HOST=%q TLS=%q: err %v, want one naming %s", tc.host, tc.tls, err, tc.err)
			}
		case err != nil:
			t.Errorf("DOCKER_HOST=%q: %v", tc.host, err)
		case e.base != tc.base:
			t.Errorf("DOCKER_HOST=%q: base %s, want %s", tc.host, e.base, tc.base)
		}
	}
}
