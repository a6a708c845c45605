// Package harness runs the worker in-process against a stack started from
// the kit's Definition (stacktest), with the fixture server on loopback:
// the e2e test and the load tool share it, so both configure the worker
// from the Definition's own env contract rather than by hand.
package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
	"github.com/ampledata/temporal-kit/worker/config"
	"github.com/ampledata/temporal-kit/worker/fixture"
	"github.com/ampledata/temporal-kit/worker/service"
)

// CoreServices are the services the worker needs: PostgreSQL and the
// Temporal core (schema, server, namespace).
var CoreServices = []string{stacks.ServicePostgres, stacks.ServiceSchema, stacks.ServiceTemporal, stacks.ServiceNamespace}

// FixtureKey is the SERP API key the harness's fixture server requires.
const FixtureKey = "harness-serp-key"

// StartCore starts the Temporal core of the dev Definition with the local
// image catalog, outside a test (the load tool); Close it when done. config
// holds stack config values on top (e.g. historyShards), as
// `pulumi config set` would.
func StartCore(ctx context.Context, config map[string]string) (*stacktest.Stack, error) {
	def, err := stacktest.Build("dev", stacktest.LocalConfig(config))
	if err != nil {
		return nil, err
	}
	return stacktest.StartStack(ctx, def, stacktest.Only(CoreServices...))
}

// WorkerEnv is the env the Definition gives the worker container, with
// secrets resolved from the running stack and the addresses the container
// would use (service DNS names) replaced by their loopback endpoints, the
// SERP API and the HTTP proxy pointed at fixtureURL, and extra on top.
func WorkerEnv(st *stacktest.Stack, fixtureURL string, extra map[string]string) (map[string]string, error) {
	svc, ok := st.Def.Service(stacks.ServiceWorker)
	if !ok {
		return nil, errors.New("the Definition has no worker service")
	}
	env, err := stacks.ResolveEnvMap(svc, st.Secrets())
	if err != nil {
		return nil, err
	}
	// The container reads its secrets from files this process cannot see.
	for v, secret := range svc.SecretFileEnv() {
		delete(env, v+"_FILE")
		env[v] = st.Secret(secret)
	}
	pgHost, pgPort, err := net.SplitHostPort(st.Endpoint(stacks.ServicePostgres, stacks.PortPostgres))
	if err != nil {
		return nil, fmt.Errorf("postgresql endpoint: %w", err)
	}
	env["TEMPORAL_ADDRESS"] = st.Endpoint(stacks.ServiceTemporal, stacks.PortTemporalGRPC)
	env["PGHOST"], env["PGPORT"] = pgHost, pgPort
	env["SERP_API_URL"], env["SERP_API_KEY"], env["HTTP_PROXY"] = fixtureURL, FixtureKey, fixtureURL
	env["API_ADDR"] = "127.0.0.1:0"
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// Worker is a worker service running in this process, its API served on
// loopback.
type Worker struct {
	Svc     *service.Service
	BaseURL string
	srv     *http.Server
}

// StartWorker builds the service from env (validated like the binary's),
// starts polling and serves the job API.
func StartWorker(ctx context.Context, env map[string]string, log *slog.Logger) (*Worker, error) {
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	svc, err := service.New(ctx, cfg, log, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	if err := svc.StartWorkers(); err != nil {
		svc.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		svc.StopWorkers()
		svc.Close()
		return nil, fmt.Errorf("API_ADDR: %w", err)
	}
	w := &Worker{Svc: svc, BaseURL: "http://" + ln.Addr().String(), srv: service.APIServer(svc.Cfg, svc.API.Handler())}
	go func() { _ = w.srv.Serve(ln) }()
	return w, nil
}

// Stop shuts the worker down as SIGTERM does in the binary.
func (w *Worker) Stop() {
	w.Svc.StopWorkers()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.srv.Shutdown(ctx)
	w.Svc.Close()
}

// StartFixtures serves the fixture handler on loopback.
func StartFixtures(latency time.Duration) (*fixture.Handler, *httptest.Server) {
	h := fixture.New(latency, FixtureKey)
	return h, httptest.NewServer(h)
}
