package stacktest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/ampledata/temporal-kit/stacks"
)

// processUsersScript prints uid:gid of every process in the container,
// the exec's own shell (the container's default user) among them. Shell
// builtins only: every image of the stack has a sh, not every one awk.
const processUsersScript = `for s in /proc/[0-9]*/status; do
	[ -r "$s" ] || continue
	u= g=
	while read -r k v _; do case "$k" in Uid:) u=$v ;; Gid:) g=$v ;; esac; done <"$s"
	[ -n "$u" ] && echo "$u:$g"
done; true`

// readSecretsScript prints, one a line, the content of each file under the
// secrets directory the exec's user can read.
const readSecretsScript = `for f in "$0"/* "$0"/.[!.]*; do
	[ -f "$f" ] || continue
	v=$(cat "$f" 2>/dev/null) && printf '%s\n' "$v"
done; true`

// ReadableSecrets reports, for each user that runs a process in the
// service's container (uid:gid, the container's default user among them),
// the names of the stack's secrets whose values it can read from files
// under stacks.SecretsDir: what a compromised process of that service
// could take. A file is named by its content, so a secret written under
// another name still counts.
func (s *Stack) ReadableSecrets(ctx context.Context, service string) (map[string][]string, error) {
	out, err := s.execAs(ctx, service, "", "sh", "-c", processUsersScript)
	if err != nil {
		return nil, fmt.Errorf("%s: list its processes' users: %w", service, err)
	}
	users := slices.Compact(slices.Sorted(slices.Values(strings.Fields(out))))
	got := map[string][]string{}
	for _, u := range users {
		if got[u], err = s.ReadableSecretsAs(ctx, service, u); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// ReadableSecretsAs is the names of the stack's secrets that user (uid:gid)
// can read from files under stacks.SecretsDir in the service's container.
func (s *Stack) ReadableSecretsAs(ctx context.Context, service, user string) ([]string, error) {
	out, err := s.execAs(ctx, service, user, "sh", "-c", readSecretsScript, stacks.SecretsDir)
	if err != nil {
		return nil, fmt.Errorf("%s: read secrets as %s: %w", service, user, err)
	}
	names := map[string]string{} // value -> secret name
	for n, v := range s.Secrets() {
		names[strings.TrimSpace(v)] = n
	}
	readable := []string{}
	for _, line := range strings.Split(out, "\n") {
		if n, ok := names[strings.TrimSpace(line)]; ok && line != "" {
			readable = append(readable, n)
		}
	}
	slices.Sort(readable)
	return slices.Compact(readable), nil
}

// execAs runs cmd in the service's container as user (the container's
// default user when empty) and returns its output; a non-zero exit is an error.
func (s *Stack) execAs(ctx context.Context, service, user string, cmd ...string) (string, error) {
	c := s.Container(service)
	if c == nil {
		return "", fmt.Errorf("%s is not running in this stack", service)
	}
	opts := []tcexec.ProcessOption{tcexec.Multiplexed()}
	if user != "" {
		opts = append(opts, tcexec.WithUser(user))
	}
	code, r, err := c.Exec(ctx, cmd, opts...)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return string(b), fmt.Errorf("exit %d: %s", code, b)
	}
	return string(b), nil
}
