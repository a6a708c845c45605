// Command worker is the enrichment worker: Temporal workers for the job
// workflow and batch activities, and the job API, in one process.
// Configuration comes from the environment (see worker/README.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ampledata/temporal-kit/worker/config"
	"github.com/ampledata/temporal-kit/worker/service"
)

func main() {
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: configuration:\n%v\n", err)
		os.Exit(2)
	}
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	if err := run(cfg, log); err != nil {
		log.Error("worker failed", "error", err)
		os.Exit(1)
	}
}

func run(cfg config.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("starting", "config", cfg.String())

	// The API listens from the first second: /healthz (liveness) answers
	// while Temporal and PostgreSQL are awaited, so a slow dependency does
	// not get the container restarted; the rest answers 503 until ready.
	var api atomic.Pointer[http.Handler]
	srv := service.APIServer(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := api.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok (starting)\n"))
			return
		}
		http.Error(w, "starting: waiting for PostgreSQL and Temporal", http.StatusServiceUnavailable)
	}))
	errc := make(chan error, 1)
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("API_ADDR %s: %w", cfg.APIAddr, err)
		}
	}()

	svc, err := service.New(ctx, cfg, log, 5*time.Minute)
	if err != nil {
		_ = srv.Close()
		if ctx.Err() != nil {
			log.Info("stopped before ready")
			return nil // SIGTERM while waiting for dependencies is a normal stop
		}
		return err
	}
	if err := svc.StartWorkers(); err != nil {
		_ = srv.Close()
		return err
	}
	h := svc.API.Handler()
	api.Store(&h)
	log.Info("ready", "api", cfg.APIAddr)
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("API server", "error", err)
	}
	stop()
	// Stop polling first and let in-flight batches finish (they heartbeat
	// what they stored), then stop the API and close the connections.
	shut, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout+5*time.Second)
	defer cancel()
	svc.StopWorkers()
	_ = srv.Shutdown(shut)
	svc.Close()
	return nil
}
