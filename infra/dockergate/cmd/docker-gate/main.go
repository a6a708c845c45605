// Command docker-gate is the one container of a temporal-kit stack that
// holds the Docker engine's socket. It restarts the stack's containers that
// stay unhealthy and serves the container exporter a read-only engine API;
// its own metrics are on /metrics, its health on /healthz.
//
//	docker-gate -stack dev -socket /var/run/docker.sock -addr :2375 -reader container-exporter
package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"time"

	"github.com/ampledata/temporal-kit/infra/dockergate"
	"github.com/ampledata/temporal-kit/stacks/dockerengine"
	"github.com/ampledata/temporal-kit/stacks/serve"
	"github.com/ampledata/temporal-kit/stacks/stackdaemon"
)

func main() {
	f := stackdaemon.StackFlags(":2375", "heal and show") // the read-only API, /metrics and /healthz
	readers := flag.String("reader", "", "comma-separated host names whose addresses may read the engine API (the container exporter)")
	interval := flag.Duration("interval", 10*time.Second, "how often to look for unhealthy containers")
	after := flag.Int("after", 2, "restart a container seen unhealthy on this many looks in a row")
	log := f.Parse()
	if *interval < time.Second || *after < 1 {
		log.Error("-interval must be at least 1s and -after at least 1", "interval", *interval, "after", *after)
		os.Exit(2)
	}
	engine := dockerengine.New(*f.Socket)
	self, networks := stackdaemon.StackNetworks(context.Background(), engine, log)
	reg, mux := stackdaemon.Metrics()
	healer := dockergate.NewHealer(engine, *f.Stack, networks, self.ID, *after, log, reg)
	var names []string
	for _, n := range strings.Split(*readers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	mux.Handle("/", dockergate.NewReadOnly(engine, *f.Stack, networks, names, log, reg))
	srv := serve.Server(*f.Addr, mux)
	srv.WriteTimeout = 30 * time.Second
	ctx, stop := serve.Signalled()
	defer stop()
	go healer.Run(ctx, *interval)
	serve.Run(ctx, srv, log, "docker-gate", "stack", *f.Stack, "networks", networks, "readers", names,
		"interval", *interval, "after", *after)
}
