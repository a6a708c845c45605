// Command container-exporter serves per-container metrics of one
// temporal-kit stack (memory against its limit, CPU, restarts, OOM kills,
// health) on /metrics, read from the Docker Engine API at each scrape: in
// a stack, docker-gate's read-only view of it (-engine); the socket itself
// otherwise (-socket).
//
//	container-exporter -stack dev -engine http://docker-gate:2375 -addr :9338
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ampledata/temporal-kit/prometheus/containers"
)

func main() {
	addr := flag.String("addr", ":9338", "listen address")
	socket := flag.String("socket", "/var/run/docker.sock", "the Docker engine's unix socket (without -engine)")
	engineURL := flag.String("engine", "", "the engine API over HTTP, read-only (docker-gate: http://docker-gate:2375); replaces -socket")
	stack := flag.String("stack", os.Getenv("KIT_STACK"), "the stack whose containers to report (their temporal-kit.stack label; env KIT_STACK)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if *stack == "" {
		log.Error("no stack: set -stack or KIT_STACK to the stack name (the temporal-kit.stack label of its containers)")
		os.Exit(2)
	}
	engine, source := containers.NewEngine(*socket), *socket
	if *engineURL != "" {
		engine, source = containers.NewEngineURL(*engineURL), *engineURL
	}
	// Only the containers on this one's networks: other stacks of the same
	// name (test runs) may share the engine.
	var networks []string
	if host, err := os.Hostname(); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		networks, err = engine.Networks(ctx, host)
		cancel()
		if err != nil {
			log.Warn("cannot find this container's networks; reporting every container of the stack", "error", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&containers.Collector{Engine: engine, Stack: *stack, Networks: networks, Timeout: 8 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("container-exporter listening", "addr", *addr, "stack", *stack, "networks", networks, "engine", source)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("container-exporter", "error", err)
		os.Exit(1)
	}
}
