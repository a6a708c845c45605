package stacktest

import (
	"net/url"
	"os"
)

// testcontainers reads its settings from the environment, and the kit's
// tests need two that differ from its defaults. They are set here, when the
// package loads (before testcontainers reads them), and only when unset: a
// value the user exports wins. So `go test ./...` needs no exports.
func init() {
	for k, v := range testcontainersDefaults(os.LookupEnv) {
		_ = os.Setenv(k, v)
	}
}

// testcontainersDefaults returns the variables to set, given the process
// environment:
//   - TESTCONTAINERS_RYUK_DISABLED=true: every test removes what it started
//     (t.Cleanup, Stack.Close), and Ryuk's image cannot be pulled offline.
//   - TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 when the engine is reached over
//     a local socket (DOCKER_HOST unset, unix:// or npipe://): the renderer
//     publishes every port on the engine's 127.0.0.1, which is then this
//     machine's. Without it testcontainers dials the default gateway whenever
//     the machine looks like a container (a CI runner, a dev container). For
//     an engine over TCP testcontainers' own choice, that host, stays.
func testcontainersDefaults(lookup func(string) (string, bool)) map[string]string {
	set := map[string]string{}
	if _, ok := lookup("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		set["TESTCONTAINERS_RYUK_DISABLED"] = "true"
	}
	if _, ok := lookup("TESTCONTAINERS_HOST_OVERRIDE"); !ok && localEngine(lookup) {
		set["TESTCONTAINERS_HOST_OVERRIDE"] = "127.0.0.1"
	}
	return set
}

// localEngine tells whether DOCKER_HOST names an engine on this machine's
// socket (or is unset: the default socket).
func localEngine(lookup func(string) (string, bool)) bool {
	host, _ := lookup("DOCKER_HOST")
	if host == "" {
		return true
	}
	u, err := url.Parse(host)
	return err == nil && (u.Scheme == "unix" || u.Scheme == "npipe")
}
