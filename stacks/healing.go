package stacks

import (
	"strconv"
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

// dockerGate runs as root: the engine's socket belongs to root (group
// docker, whose id varies by host).
func dockerGate(c Config) Service {
	s := kitDaemon(c, ServiceDockerGate, "docker-gate", "api", PortDockerGate,
		"-socket", "/var/run/docker.sock",
		// The one client of the read-only engine API, by its DNS name on the network.
		"-reader", ServiceContainerMetrics)
	s.User = "root"
	s.Mounts = []Mount{{Volume: VolumeDockerSocket, Target: "/var/run/docker.sock", ReadOnly: true}}
	return s
}

// kitDaemon is one of the kit's own daemons (docker-gate, the container
// exporter), which the worker image carries: it listens on port, serves
// /healthz there and acts on the stack's containers (KIT_STACK).
func kitDaemon(c Config, name, binary, portName string, port int, args ...string) Service {
	return Service{
		Name:       name,
		Kind:       LongRunning,
		Image:      c.Images.Worker,
		Entrypoint: []string{"/usr/local/bin/" + binary},
		Command:    append([]string{"-addr", ":" + strconv.Itoa(port)}, args...),
		Env:        []EnvVar{{Name: "KIT_STACK", Value: c.Stack}},
		Ports:      []Port{{Name: portName, Container: port}},
		Health:     sidecarHealth(port, "/healthz"),
	}
}
