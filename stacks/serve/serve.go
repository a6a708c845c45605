// Package serve runs the kit's small HTTP daemons (docker-gate, the
// container exporter, the fixture server) the same way: JSON logs on
// standard error, and a server that stops cleanly at SIGINT or SIGTERM.
package serve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Logger logs JSON lines to standard error, which Docker keeps.
func Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stderr, nil)) }

// Signalled is a context that ends at SIGINT or SIGTERM (docker stop).
func Signalled() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// Server is an HTTP server with the kit's header timeout: a client that
// trickles its headers does not hold a connection.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
}

// Run serves srv until ctx ends, then gives open requests 5 seconds. It
// logs "<name> listening" with attrs first, and exits the process with
// status 1 when the server cannot serve.
func Run(ctx context.Context, srv *http.Server, log *slog.Logger, name string, attrs ...any) {
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info(name+" listening", append([]any{"addr", srv.Addr}, attrs...)...)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(name, "error", err)
		os.Exit(1)
	}
}
