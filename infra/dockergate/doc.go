// Package dockergate is the stack's one holder of the Docker engine's
// socket. It restarts the stack's containers that stay unhealthy (Docker
// restarts only those whose process exits) and serves the container
// exporter a narrow, read-only view of the engine: the stack's containers,
// their inspect data without env, their one-shot stats; nothing else.
package dockergate
