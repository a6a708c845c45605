package service

import (
	"net/http"
	"time"

	"github.com/ampledata/temporal-kit/worker/config"
)

// slowUploadBytesPerSecond is the slowest link a full-size job file is
// given time for: 256 KiB/s (about 2 Mbit/s) takes a 64 MiB file in 4 min.
const slowUploadBytesPerSecond = 256 << 10

// APIServer is the job API's HTTP server, bounded so that a slow or stalled
// client cannot hold a connection (and a job's transaction) for ever:
// headers in 10 s, a whole request in the time the largest job file takes
// on a slow link, idle keep-alive connections closed after 2 min.
func APIServer(cfg config.Config, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              cfg.APIAddr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       UploadTimeout(cfg.JobMaxBytes),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// UploadTimeout is the time a request, body included, may take to arrive:
// maxBytes at slowUploadBytesPerSecond, and never less than a minute.
func UploadTimeout(maxBytes int64) time.Duration {
	return max(time.Minute, time.Duration(maxBytes/slowUploadBytesPerSecond)*time.Second)
}
