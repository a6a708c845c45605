// Command fixture-server serves recorded SERP JSON at POST /search and acts
// as a plain-HTTP forward proxy serving the recorded and synthetic pages of
// *.example sites, so a worker with SERP_API_URL and HTTP_PROXY pointed here
// enriches without the internet. With -latency it doubles as the external
// world of load tests.
package main

import (
	"flag"
	"os"
	"time"

	"github.com/ampledata/temporal-kit/stacks/serve"
	"github.com/ampledata/temporal-kit/worker/fixture"
)

func main() {
	addr := flag.String("addr", envOr("FIXTURE_ADDR", ":8080"), "listen address (env FIXTURE_ADDR)")
	latency := flag.Duration("latency", 0, "latency added to every SERP call and page, e.g. 50ms (env FIXTURE_LATENCY)")
	key := flag.String("api-key", os.Getenv("FIXTURE_API_KEY"), "require this X-API-KEY on /search; empty accepts any (env FIXTURE_API_KEY)")
	redirect := flag.String("redirect-to", os.Getenv("FIXTURE_REDIRECT_URL"), "where the home pages of redirect-* sites send the client (env FIXTURE_REDIRECT_URL)")
	flag.Parse()
	log := serve.Logger()
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
	ctx, stop := serve.Signalled()
	defer stop()
	serve.Run(ctx, serve.Server(*addr, h), log, "fixture server", "latency", latency.String(), "api_key_required", *key != "")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
