// Package integration starts the dev stack's Definition with the
// testcontainers renderer and checks that it works together and survives
// faults. It holds tests only; they need a Docker engine and the local image
// set (`go run ./infra/images/cmd/kit-images build`).
package integration
