package stacks

import (
	"strconv"
	"time"
)

// httpProbe is a health check command that GETs path on the container's
// own loopback with the image's wget (busybox in the local images, present
// in the official ones); it fails on a non-2xx answer.
func httpProbe(port int, path string) string {
	return "wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(port) + path
}

// serviceHealth checks a service others depend on: often (every 10s), so a
// dependent starts soon after it is ready, and six misses before unhealthy.
func serviceHealth(port int, path string, startPeriod time.Duration) *HealthCheck {
	return &HealthCheck{Test: httpProbe(port, path),
		Interval: 10 * time.Second, Timeout: 5 * time.Second, StartPeriod: startPeriod, Retries: 6}
}

// sidecarHealth checks a small helper (an exporter, docker-gate, the
// backup service's endpoint) that nothing waits on at start: every 30s,
// up within 10s, three misses before unhealthy.
func sidecarHealth(port int, path string) *HealthCheck {
	return &HealthCheck{Test: httpProbe(port, path),
		Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3}
}

// alertOnly marks a check whose failure a restart would not fix (see
// HealthCheck.AlertOnly): the stack alerts on it instead.
func alertOnly(h *HealthCheck) *HealthCheck {
	h.AlertOnly = true
	return h
}

// kitScript is one of the kit's shell scripts, delivered into a container
// under kitScriptsDir and run with the image's sh.
type kitScript struct{ path, content string }

func script(name, content string) kitScript {
	return kitScript{path: kitScriptsDir + "/" + name, content: content}
}

// run is the command (or entrypoint) that runs the script.
func (k kitScript) run() []string { return []string{"sh", k.path} }

// file delivers the script, executable.
func (k kitScript) file() File { return File{Path: k.path, Content: k.content, Mode: 0o755} }
