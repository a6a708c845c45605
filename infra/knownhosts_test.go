package infra_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// requireTrusts reads the known_hosts file at path the way ssh does and
// requires it to hold exactly the keys given (public key lines) for
// hostPort, each trusted there, and to refuse any other key for it.
func requireTrusts(t *testing.T, path, hostPort string, keys ...string) {
	t.Helper()
	check, err := knownhosts.New(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 22}
	for _, k := range keys {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if err := check(hostPort, addr, pub); err != nil {
			t.Errorf("%s does not trust %s at %s: %v", path, k, hostPort, err)
		}
	}
	_, other := newKey(t, "")
	pub, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(other))
	var ke *knownhosts.KeyError
	if err := check(hostPort, addr, pub); !errors.As(err, &ke) || len(ke.Want) != len(keys) {
		t.Errorf("%s: another key at %s gives %v, want a mismatch against the %d pinned key(s)", path, hostPort, err, len(keys))
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != len(keys) {
		t.Errorf("%s holds %d lines, want %d:\n%s", path, n, len(keys), b)
	}
}
