// Package fixturesvc is the fixture server (worker/fixture: a SERP API and
// the web sites behind an HTTP proxy) as one more Service of a stack: tests
// add it to a Definition, or start it on a deployed stack's network, and the
// worker container reaches it exactly as it would reach the real ones,
// through SERP_API_URL and HTTP_PROXY.
package fixturesvc

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ampledata/temporal-kit/stacks"
)

// Name is the service name and its DNS alias on the stack network.
const Name = "fixtures"

// The fixture server's image (built offline by infra/images from
// worker/cmd/fixture-server) and its port in the container.
const (
	Image = "temporal-kit-local/fixture-server:dev"
	Port  = 8080
)

// URL is where containers on the stack network reach it.
var URL = "http://" + Name + ":" + strconv.Itoa(Port)

// Service is the fixture server on the stack's backend network; it demands
// the stack's serpApiKey secret as its API key, the value the worker sends.
func Service(latency time.Duration) stacks.Service {
	return stacks.Service{
		Name:  Name,
		Kind:  stacks.LongRunning,
		Image: Image,
		Env: []stacks.EnvVar{
			{Name: "FIXTURE_ADDR", Value: ":" + strconv.Itoa(Port)},
			{Name: "FIXTURE_LATENCY", Value: latency.String()},
			{Name: "FIXTURE_API_KEY", Secret: stacks.SecretSerpAPIKey},
		},
		Ports:    []stacks.Port{{Name: "http", Container: Port}},
		Networks: []stacks.NetworkAttachment{{Network: stacks.NetworkBackend, Aliases: []string{Name}}},
		Health: &stacks.HealthCheck{
			Test:     "wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(Port) + "/healthz",
			Interval: time.Second, Timeout: 5 * time.Second, Retries: 30,
		},
		MemoryMB: 128,
	}
}

// Config is the stack config that points the worker at the fixture server
// (serpApiUrl, and workerEnv with HTTP_PROXY plus any tuning), as a user
// would set it. serpApiKey is not included: set it as a secret.
func Config(workerEnv map[string]string) map[string]string {
	env := map[string]string{"HTTP_PROXY": URL}
	for k, v := range workerEnv {
		env[k] = v
	}
	b, _ := json.Marshal(env) // a map of strings always marshals
	return map[string]string{"serpApiUrl": URL, "workerEnv": string(b)}
}
