package stacks

import "strings"

// Privileges: every container drops every Linux capability and runs with
// no-new-privileges, so a compromised process keeps only what its file
// permissions give it, and a setuid binary or file capability in the image
// cannot raise that. A service gets back only the capabilities its image
// needs to start, each found by starting the service without it.

// CapDropAll is what every service drops; Docker stores it as written.
const CapDropAll = "ALL"

// addedCapabilities are the capabilities a service gets back, in the form
// the Docker engine stores them (CAP_ prefix, upper case): written any
// other way, the docker provider would read back a difference on every
// refresh and replace the container.
var addedCapabilities = map[string][]string{
	// The postgres entrypoint starts as root: it hands the data directory
	// to the postgres user (CHOWN), searches it for files it missed, which
	// on a restart belong to postgres, mode 0700 (DAC_READ_SEARCH), then
	// becomes that user (SETGID, SETUID). The kit's wrapper around it,
	// postgres-start.sh, stays root and watches and signals that server
	// process, another user's (KILL): without it the wrapper sees the
	// server as gone, never sets the roles' passwords, and cannot pass on
	// Docker's SIGINT for a clean shutdown. Its chmods of directories it
	// does not own may fail (FOWNER is not given): it ignores that by
	// design. Neither DAC_OVERRIDE (write anything) nor FOWNER is needed:
	// first start and restart on a kept volume were tried without them.
	ServicePostgres: {"CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"},
}

// dropPrivileges gives s the stack's privilege defaults; Build applies it
// to every service, so a new service starts with none.
func dropPrivileges(s *Service) {
	s.CapDrop = []string{CapDropAll}
	s.CapAdd = append([]string(nil), addedCapabilities[s.Name]...)
	if s.Kind == OneShot && strings.HasPrefix(s.Name, secretsPrefix) {
		// A secrets job, running as root, hands each file to its reader
		// (chown) and then sets the file's mode (chmod of a file it no
		// longer owns): nothing more.
		s.CapAdd = []string{"CAP_CHOWN", "CAP_FOWNER"}
	}
	s.NoNewPrivileges = true
}

// SecurityOpts are the engine's --security-opt values for s.
func (s Service) SecurityOpts() []string {
	if s.NoNewPrivileges {
		// Docker stores the option as given; this spelling is the one
		// `docker run --security-opt no-new-privileges` uses.
		return []string{"no-new-privileges"}
	}
	return nil
}
