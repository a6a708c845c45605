package stacks

import (
	"strconv"
	"time"
)

// Healing: Docker restarts a container whose process exits, never one that
// is merely unhealthy. The docker-gate service does that: it alone holds
// the engine's socket, restarts the stack's containers that stay unhealthy,
// and serves the container exporter a read-only view of the engine.
const (
	ServiceDockerGate = "docker-gate"
	// PortDockerGate serves the read-only engine API (to container-exporter
	// only) and the gate's own /metrics and /healthz, on the Docker network.
	PortDockerGate = 2375
)

// healLabel is what the gate does about s when its health check fails.
func healLabel(s Service) string {
	if s.Health == nil || s.Kind != LongRunning {
		return ""
	}
	if s.Health.AlertOnly || s.Name == ServiceDockerGate {
		return HealAlert
	}
	return HealRestart
}

// dockerGate runs from the worker image, which carries it, as root: the
// engine's socket belongs to root (group docker, whose id varies by host).
func dockerGate(c Config) Service {
	return Service{
		Name:       ServiceDockerGate,
		Kind:       LongRunning,
		Image:      c.Images.Worker,
		Entrypoint: []string{"/usr/local/bin/docker-gate"},
		Command: []string{
			"-addr", ":" + strconv.Itoa(PortDockerGate),
			"-socket", "/var/run/docker.sock",
			// The one client of the read-only engine API, by its DNS name on the network.
			"-reader", ServiceContainerMetrics,
		},
		User:   "root",
		Env:    []EnvVar{{Name: "KIT_STACK", Value: c.Stack}},
		Ports:  []Port{{Name: "api", Container: PortDockerGate}},
		Mounts: []Mount{{Volume: VolumeDockerSocket, Target: "/var/run/docker.sock", ReadOnly: true}},
		Health: &HealthCheck{
			Test:     "wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(PortDockerGate) + "/healthz",
			Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3,
		},
	}
}
