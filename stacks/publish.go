package stacks

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Publishing beyond the host: bindAddress other than loopback opens only
// the host ports publicPorts names, each on purpose; every other published
// port stays on 127.0.0.1. Nothing the stack runs authenticates the
// Temporal frontend, the job API or the UI, so "open everything" must
// never happen by changing one address.

// publicPort is a hostPorts key that publicPorts may name, and what a
// stranger who reaches that port gets.
type publicPort struct {
	key, exposes string
}

// publishable are the ports bindAddress may open, in hostPorts order.
// Prometheus is not among them: it has no login, and stays on 127.0.0.1.
var publishable = []publicPort{
	{"temporal", "the Temporal frontend: no TLS, no authorizer; whoever reaches it can start, read and delete every workflow"},
	{"ui", "the Temporal UI: no login"},
	{"postgres", "PostgreSQL: every database, behind one password"},
	{"worker", "the job API: no login; whoever reaches it runs jobs and reads results"},
	{"grafana", "Grafana's login page"},
}

func (hp HostPorts) byKey(key string) int {
	switch key {
	case "temporal":
		return hp.Temporal
	case "ui":
		return hp.UI
	case "postgres":
		return hp.Postgres
	case "worker":
		return hp.Worker
	case "grafana":
		return hp.Grafana
	case "prometheus":
		return hp.Prometheus
	}
	return 0
}

// loopbackBind tells whether bind keeps published ports on this host.
func loopbackBind(bind string) bool {
	ip := net.ParseIP(bind)
	return ip != nil && ip.IsLoopback()
}

// HostIP is the host interface of the published port under hostPorts key:
// bindAddress when that is a loopback address or publicPorts names the
// port, else 127.0.0.1.
func (c Config) HostIP(key string) string {
	if loopbackBind(c.BindAddress) || slices.Contains(c.PublicPorts, key) {
		return c.BindAddress
	}
	return "127.0.0.1"
}

// loadPublicPorts reads publicPorts and checks it against bindAddress and
// hostPorts: a bindAddress beyond loopback needs the list, and the list
// names only published ports bindAddress can open.
func loadPublicPorts(l *loader, bind string, hp HostPorts) []string {
	var ports []string
	l.object("publicPorts", &ports)
	keys := make([]string, len(publishable))
	for i, p := range publishable {
		keys[i] = p.key
	}
	var ok []string
	for _, k := range ports {
		switch {
		case k == "prometheus":
			l.fail("publicPorts", "prometheus stays on 127.0.0.1 whatever bindAddress says (it has no login); reach it through an SSH tunnel (the sshTunnel output)")
		case !slices.Contains(keys, k):
			l.fail("publicPorts", "unknown port %q; name hostPorts keys: %s", k, strings.Join(keys, ", "))
		case slices.Contains(ok, k):
			l.fail("publicPorts", "%s is listed twice; list each port once", k)
		case hp.byKey(k) == 0:
			l.fail("publicPorts", "%s is not published (hostPorts.%s is 0); give it a host port or remove it from publicPorts", k, k)
		default:
			ok = append(ok, k)
		}
	}
	if net.ParseIP(bind) == nil {
		return ok // bindAddress itself is reported
	}
	if loopbackBind(bind) {
		if len(ports) > 0 {
			l.fail("publicPorts", "lists %s, but bindAddress %s keeps every port on this host; set bindAddress to the interface to open, or remove publicPorts", strings.Join(ports, ", "), bind)
		}
		return ok
	}
	if len(ports) == 0 {
		var opens []string
		for _, p := range publishable {
			if port := hp.byKey(p.key); port != 0 {
				opens = append(opens, fmt.Sprintf("%s %d (%s)", p.key, port, p.exposes))
			}
		}
		l.fail("bindAddress", "%s would publish beyond this host: %s. Name each port that may be reached there in publicPorts "+
			"(`pulumi config set --path '%s:publicPorts[0]' ui`); the others stay on 127.0.0.1. Or remove bindAddress (default 127.0.0.1)",
			bind, strings.Join(opens, "; "), Namespace)
	}
	return ok
}

// publicPortNotes warn, on every deploy, about each port open beyond the
// host that has no authentication of its own.
func publicPortNotes(c Config) []string {
	if loopbackBind(c.BindAddress) {
		return nil
	}
	var notes []string
	for _, p := range publishable {
		if slices.Contains(c.PublicPorts, p.key) {
			notes = append(notes, fmt.Sprintf("publicPorts: %s is published on %s:%d, %s.", p.key, c.BindAddress, c.HostPorts.byKey(p.key), p.exposes))
		}
	}
	return notes
}
