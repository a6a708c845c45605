// Command docker-gate is the one container of a temporal-kit stack that
// holds the Docker engine's socket. It restarts the stack's containers that
// stay unhealthy and serves the container exporter a read-only engine API;
// its own metrics are on /metrics, its health on /healthz.
//
//	docker-gate -stack dev -socket /var/run/docker.sock -addr :2375 -reader container-exporter
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ampledata/temporal-kit/infra/dockergate"
)

func main() {
	addr := flag.String("addr", ":2375", "listen address of the read-only API, /metrics and /healthz")
	socket := flag.String("socket", "/var/run/docker.sock", "the Docker engine's unix socket")
	stack := flag.String("stack", os.Getenv("KIT_STACK"), "the stack whose containers to heal and show (their temporal-kit.stack label; env KIT_STACK)")
	readers := flag.String("reader", "", "comma-separated host names whose addresses may read the engine API (the container exporter)")
	interval := flag.Duration("interval", 10*time.Second, "how often to look for unhealthy containers")
	after := flag.Int("after", 2, "restart a container seen unhealthy on this many looks in a row")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if *stack == "" {
		log.Error("no stack: set -stack or KIT_STACK to the stack name (the temporal-kit.stack label of its containers)")
		os.Exit(2)
	}
	if *interval < time.Second || *after < 1 {
		log.Error("-interval must be at least 1s and -after at least 1", "interval", *interval, "after", *after)
		os.Exit(2)
	}
	engine := dockergate.NewEngine(*socket)
	// Only the containers on this one's networks: other stacks of the same
	// name (test runs) may share the engine.
	var self string
	var networks []string
	if host, err := os.Hostname(); err == nil {
		var c dockergate.Container
		c, networks, err = engine.Self(context.Background(), host)
		self = c.ID
		if err != nil {
			log.Warn("cannot find this container's networks; acting on every container of the stack", "error", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	healer := dockergate.NewHealer(engine, *stack, networks, self, *after, log, reg)
	var names []string
	for _, n := range strings.Split(*readers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	api := dockergate.NewReadOnly(engine, *stack, networks, names, log, reg)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/", api)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go healer.Run(ctx, *interval)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("docker-gate listening", "addr", *addr, "stack", *stack, "networks", networks, "readers", names,
		"interval", *interval, "after", *after)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("docker-gate", "error", err)
		os.Exit(1)
	}
}
