// Command fixture-server serves recorded SERP JSON at POST /search and acts
// as a plain-HTTP forward proxy serving the recorded and synthetic pages of
// *.example sites, so a worker with SERP_API_URL and HTTP_PROXY pointed here
// enriches without the internet. With -latency it doubles as the external
// world of load tests.
package main

import (
	"context"
	"errors"
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
	addr := flag.String("addr", envOr("FIXTURE_ADDR", ":8080"), "listen address (env FIXTURE_ADDR)")
	latency := flag.Duration("latency", 0, "latency added to every SERP call and page, e.g. 50ms (env FIXTURE_LATENCY)")
	key := flag.String("api-key", os.Getenv("FIXTURE_API_KEY"), "require this X-API-KEY on /search; empty accepts any (env FIXTURE_API_KEY)")
	redirect := flag.String("redirect-to", os.Getenv("FIXTURE_REDIRECT_URL"), "where the home pages of redirect-* sites send the client (env FIXTURE_REDIRECT_URL)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if v := os.Getenv("FIXTURE_LATENCY"); v != "" && *latency == 0 {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			log.Error("FIXTURE_LATENCY is not a duration; use e.g. 50ms", "value", v)
			os.Exit(2)
		}
		*latency = d
	}
	h := fixture.New(*latency, *key)
	h.RedirectTo = *redirect
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("fixture server listening", "addr", *addr, "latency", latency.String(), "api_key_required", *key != "")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("fixture server", "error", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
