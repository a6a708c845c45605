package jobapi

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampledata/temporal-kit/worker/jobcsv"
)

// BenchmarkUploadMemory posts the largest files the API takes with its
// defaults, and the 60 MB file that OOM-killed the worker before it
// streamed, and reports the peak Go heap and the process's peak RSS while
// each is read:
//
//	go test -run '^$' -bench UploadMemory -benchtime 1x ./worker/jobapi/
//
// The rows go to a store that drops them once read, as PostgreSQL takes
// them off the worker: what is left is the API's own memory.
func BenchmarkUploadMemory(b *testing.B) {
	wide := "Acme Corporation" + strings.Repeat(",field value 0123", jobcsv.DefaultMaxColumns-1) + "\n"
	wideHead := "name" + strings.Repeat(",column", jobcsv.DefaultMaxColumns-1) + "\n"
	cases := []struct {
		name   string
		body   func() io.Reader
		status int
	}{
		{"short-rows-1M", func() io.Reader {
			return &repeat{head: "name,note\n", line: "a,b\n", size: int64(len("name,note\n") + 4*jobcsv.DefaultMaxRows)}
		}, http.StatusAccepted},
		{"wide-rows-64MiB", func() io.Reader {
			n := (jobcsv.DefaultMaxBytes - int64(len(wideHead))) / int64(len(wide))
			return &repeat{head: wideHead, line: wide, size: int64(len(wideHead)) + n*int64(len(wide))}
		}, http.StatusAccepted},
		{"short-rows-60MB-refused", func() io.Reader {
			return &repeat{head: "name,note\n", line: "a,b\n", size: 60 << 20}
		}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			api, st, _ := newAPI()
			api.MaxBody = jobcsv.DefaultMaxBytes
			st.countOnly = true
			h := api.Handler()
			var peakHeap, peakRSS float64
			for b.Loop() {
				runtime.GC()
				_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
				stop := sampleHeap()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/jobs", c.body()))
				peakHeap = max(peakHeap, float64(stop())/(1<<20))
				peakRSS = max(peakRSS, float64(vmHWM())/(1<<20))
				if rec.Code != c.status {
					b.Fatalf("status %d, want %d: %.300s", rec.Code, c.status, rec.Body.String())
				}
			}
			b.ReportMetric(peakHeap, "peak-heap-MiB")
			b.ReportMetric(peakRSS, "peak-RSS-MiB")
		})
	}
}

// sampleHeap samples the heap in use every millisecond until the returned
// func is called, which returns the largest sample.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak.Load() }
}

// vmHWM is the process's peak RSS in bytes (0 where /proc is missing).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
