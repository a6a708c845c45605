package stacks

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
	// The postgres entrypoint starts as root: it fixes the ownership and
	// mode of the data and socket directories (CHOWN, FOWNER), reads them
	// whatever their owner (DAC_OVERRIDE), then becomes the postgres user
	// (SETUID, SETGID) before the server starts.
	ServicePostgres: {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"},
}

// dropPrivileges gives s the stack's privilege defaults; Build applies it
// to every service, so a new service starts with none.
func dropPrivileges(s *Service) {
	s.CapDrop = []string{CapDropAll}
	s.CapAdd = append([]string(nil), addedCapabilities[s.Name]...)
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
