// Command fixture-server serves recorded SERP JSON at POST /search and acts
// as an HTTP forward proxy serving recorded and generated pages of *.test
// sites, so the worker (HTTP_PROXY pointed here) can enrich without the
// internet. With -latency it doubles as the external world of load tests.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ampledata/temporal-kit/worker/fixture"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	latency := flag.Duration("latency", 0, "latency added to every request, e.g. 50ms")
	key := flag.String("api-key", os.Getenv("FIXTURE_API_KEY"), "require this X-API-KEY on /search (empty: any)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{Addr: *addr, Handler: fixture.New(*latency, *key), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("fixture server listening", "addr", *addr, "latency", latency.String())
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Error("fixture server", "error", err)
		os.Exit(1)
	}
}
