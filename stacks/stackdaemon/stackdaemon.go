// Package stackdaemon is what the kit's daemons that watch a stack's
// containers through the Docker engine (docker-gate, the container
// exporter) share: their flags, the stack's networks, their metrics.
package stackdaemon

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ampledata/temporal-kit/stacks/dockerengine"
	"github.com/ampledata/temporal-kit/stacks/serve"
)

// Flags are the flags every stack daemon takes: -addr, -stack (env
// KIT_STACK) and -socket.
type Flags struct{ Addr, Stack, Socket *string }

// StackFlags defines the Flags; addr is the default listen address, what
// says what the daemon does with the stack's containers.
func StackFlags(addr, what string) Flags {
	return Flags{
		Addr:   flag.String("addr", addr, "listen address"),
		Stack:  flag.String("stack", os.Getenv("KIT_STACK"), "the stack whose containers to "+what+" (their temporal-kit.stack label; env KIT_STACK)"),
		Socket: flag.String("socket", dockerengine.DefaultSocket, "the Docker engine's unix socket"),
	}
}

// Parse parses the command line and returns the daemon's logger; without
// a stack it exits with status 2.
func (f Flags) Parse() *slog.Logger {
	flag.Parse()
	log := serve.Logger()
	if *f.Stack == "" {
		log.Error("no stack: set -stack or KIT_STACK to the stack name (the temporal-kit.stack label of its containers)")
		os.Exit(2)
	}
	return log
}

// StackNetworks are the networks of the container this daemon runs in:
// it acts on the stack's containers on those only, since other stacks of
// the same name (test runs) may share the engine. Without them (not in a
// container, engine unreadable) it logs a warning and returns none: every
// container of the stack. The container itself is returned too.
func StackNetworks(ctx context.Context, e *dockerengine.Engine, log *slog.Logger) (dockerengine.Container, []string) {
	self, err := e.Self(ctx)
	if err != nil {
		log.Warn("cannot find this container's networks; acting on every container of the stack", "error", err)
		return dockerengine.Container{}, nil
	}
	return self, self.Networks()
}

// Metrics is a daemon's registry, with the Go runtime's and the process's
// collectors, and a mux that serves it on /metrics and "ok" on /healthz.
func Metrics() (*prometheus.Registry, *http.ServeMux) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return reg, mux
}
