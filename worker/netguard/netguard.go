// Package netguard decides which addresses and URLs the worker may reach
// when it follows strangers' links: public (global unicast) addresses on
// ports 80 and 443 only, checked on the address really dialed, so neither a
// redirect nor a DNS answer can take it to the metadata service, the Docker
// gateway or the stack's own services.
package netguard

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Refused is the error of an address or URL the policy does not allow.
type Refused struct {
	Target string // the address or URL refused
	Reason string
}

func (e *Refused) Error() string { return "refused " + e.Target + ": " + e.Reason }

// Policy refuses every address that is not public, except those in its
// allow-list (test fixtures on a private network, never production).
type Policy struct {
	allow []netip.Prefix
}

// New returns a policy; allow is normally empty.
func New(allow []netip.Prefix) *Policy {
	return &Policy{allow: allow}
}

// ParseCIDRs reads a comma-separated list of CIDRs ("10.5.0.0/24, fd00::/64").
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR; write it like 172.28.0.0/16", f)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%q has host bits set; write the network, %s", f, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// allowed tells whether ip is in the allow-list (in any of its forms).
func (p *Policy) allowed(ip netip.Addr) bool {
	ip = ip.WithZone("")
	for _, pre := range p.allow {
		if pre.Contains(ip) || pre.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// CheckAddr refuses ip unless it is public or allow-listed.
func (p *Policy) CheckAddr(ip netip.Addr) error {
	if p.allowed(ip) {
		return nil
	}
	if r := Reason(ip); r != "" {
		return &Refused{Target: ip.String(), Reason: r}
	}
	return nil
}

// Control is a net.Dialer ControlContext hook: it sees the resolved address
// the socket is about to connect to, after DNS, so a name that resolves (or
// rebinds) to a private address is refused as surely as a literal one.
func (p *Policy) Control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Refused{Target: address, Reason: "not an IP address and port (" + network + ")"}
	}
	return p.CheckAddr(ap.Addr())
}

// CheckURL refuses a URL the worker must not follow: a scheme other than
// http and https, a host written as an IP address, or a port other than 80
// and 443. Allow-listed IP literals may use any port (test servers). The
// name's addresses are checked later, at dial time, by Control.
func (p *Policy) CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &Refused{Target: u.Redacted(), Reason: "only http and https are followed"}
	}
	host := u.Hostname()
	if host == "" {
		return &Refused{Target: u.Redacted(), Reason: "no host"}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if p.allowed(ip) {
			return nil
		}
		return &Refused{Target: u.Redacted(), Reason: "the host is an IP address; sites are followed by name only"}
	}
	if port := u.Port(); port != "" && port != "80" && port != "443" {
		return &Refused{Target: u.Redacted(), Reason: "port " + port + "; only 80 and 443 are followed"}
	}
	return nil
}
