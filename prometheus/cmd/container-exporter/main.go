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
	"flag"
	"net/http"
	"time"

	"github.com/ampledata/temporal-kit/prometheus/containers"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
	"github.com/ampledata/temporal-kit/stacks/serve"
	"github.com/ampledata/temporal-kit/stacks/stackdaemon"
)

func main() {
	f := stackdaemon.StackFlags(":9338", "report")
	engineURL := flag.String("engine", "", "the engine API over HTTP, read-only (docker-gate: http://docker-gate:2375); replaces -socket")
	log := f.Parse()
	engine, source := dockerengine.New(*f.Socket), *f.Socket
	if *engineURL != "" {
		engine, source = dockerengine.NewAt(*engineURL, &http.Client{Timeout: 10 * time.Second}), *engineURL
	}
	_, networks := stackdaemon.StackNetworks(context.Background(), engine, log)
	reg, mux := stackdaemon.Metrics()
	reg.MustRegister(&containers.Collector{Engine: engine, Stack: *f.Stack, Networks: networks, Timeout: 8 * time.Second})
	ctx, stop := serve.Signalled()
	defer stop()
	serve.Run(ctx, serve.Server(*f.Addr, mux), log, "container-exporter", "stack", *f.Stack, "networks", networks, "engine", source)
}
