package stacktest

import (
	"errors"
	"fmt"
	"testing"
)

// The engine's own words when its random host port is held by a client
// socket: only that failure is worth a new container.
func TestHostPortTaken(t *testing.T) {
	taken := errors.New(`start container: container start: Error response from daemon: driver failed programming external connectivity on endpoint x (6ca2): Error starting userland proxy: listen tcp4 0.0.0.0:32779: bind: address already in use`)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{taken, true},
		{fmt.Errorf("postgresql did not come up: %w", taken), true},
		{errors.New("Bind for 127.0.0.1:5433 failed: port is already allocated"), false},
		{errors.New("container exited with code 1"), false},
		{nil, false},
	} {
		if got := hostPortTaken(c.err); got != c.want {
			t.Errorf("hostPortTaken(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
