package stacktest

import (
	"maps"
	"testing"
)

func TestTestcontainersDefaults(t *testing.T) {
	both := map[string]string{"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1"}
	ryukOnly := map[string]string{"TESTCONTAINERS_RYUK_DISABLED": "true"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"nothing exported: the default socket", map[string]string{}, both},
		{"a unix socket", map[string]string{"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, both},
		{"a Windows pipe", map[string]string{"DOCKER_HOST": "npipe:////./pipe/docker_engine"}, both},
		{"an engine over TCP keeps testcontainers' host", map[string]string{"DOCKER_HOST": "tcp://10.0.0.5:2376"}, ryukOnly},
		{"the user's values win", map[string]string{
			"TESTCONTAINERS_RYUK_DISABLED": "false", "TESTCONTAINERS_HOST_OVERRIDE": "host.docker.internal",
		}, map[string]string{}},
		{"an empty override is the user's too", map[string]string{"TESTCONTAINERS_HOST_OVERRIDE": ""}, ryukOnly},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if got := testcontainersDefaults(lookup); !maps.Equal(got, tc.want) {
			t.Errorf("%s: set %v, want %v", tc.name, got, tc.want)
		}
	}
}
