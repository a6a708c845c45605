package dockerstats

import (
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       Sample
	}{
		{"cgroup v2", `{"pids_stats":{"current":12},"cpu_stats":{"cpu_usage":{"total_usage":2500000000,"usage_in_kernelmode":1}},
			"memory_stats":{"usage":104857600,"stats":{"inactive_file":4194304,"anon":1}}}`,
			Sample{CPU: 2500 * time.Millisecond, Memory: 100<<20 - 4<<20, Running: true}},
		{"cgroup v1", `{"pids_stats":{"current":3},"cpu_stats":{"cpu_usage":{"total_usage":1000}},
			"memory_stats":{"usage":2048,"stats":{"total_inactive_file":1024}}}`,
			Sample{CPU: 1000, Memory: 1024, Running: true}},
		{"cache larger than usage is not subtracted", `{"pids_stats":{"current":1},"cpu_stats":{"cpu_usage":{"total_usage":1}},
			"memory_stats":{"usage":100,"stats":{"inactive_file":200}}}`,
			Sample{CPU: 1, Memory: 100, Running: true}},
		{"stopped", `{"read":"0001-01-01T00:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":0}},"memory_stats":{}}`,
			Sample{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Decode = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := Decode(strings.NewReader("not json")); err == nil {
		t.Error("Decode of a non-JSON answer: no error")
	}
}
