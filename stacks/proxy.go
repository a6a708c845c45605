package stacks

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// The reverse proxy (prod, with a domain): Caddy with automatic HTTPS puts
// the web UIs behind basic authentication. Its config keys are read here.
const (
	// ProxyTLSACME gets certificates from a public ACME CA (Let's Encrypt,
	// ZeroSSL as fallback): the domain must resolve to the host and ports
	// 80/443 must be reachable from the internet.
	ProxyTLSACME = "acme"
	// ProxyTLSInternal makes Caddy sign the certificate with its own local
	// CA (in the proxy's data volume): for tests and private networks.
	ProxyTLSInternal = "internal"

	defaultProxyUser = "admin"
	// proxyPasswordMaxBytes is bcrypt's limit.
	proxyPasswordMaxBytes = 72
)

// Proxy is the proxy part of the stack config. Without a Domain the stack
// runs no proxy and nothing but SSH needs to be reachable from outside.
type Proxy struct {
	// Domain is the DNS name the proxy serves; "" means no proxy.
	Domain string
	// ACMEEmail is the ACME account's contact (expiry and problem notices).
	ACMEEmail string
	// TLS is ProxyTLSACME or ProxyTLSInternal.
	TLS  string
	User string
	// PasswordSet tells whether proxyPassword is in the stack config; the
	// value itself is never read into this struct (generated when unset).
	PasswordSet bool
}

// Enabled tells whether the stack runs the proxy.
func (p Proxy) Enabled() bool { return p.Domain != "" }

// URL is the public address of the UI behind the proxy ("" without a domain).
func (p Proxy) URL() string {
	if !p.Enabled() {
		return ""
	}
	return "https://" + p.Domain + "/"
}

// loadProxy reads the proxy keys. hp is the already loaded hostPorts: the
// proxy takes the host's 80 and 443, so no other published port may.
func loadProxy(l *loader, hp HostPorts) Proxy {
	p := Proxy{
		Domain:    strings.ToLower(l.str("domain", "")),
		ACMEEmail: l.str("acmeEmail", ""),
		TLS:       l.str("proxyTLS", ProxyTLSACME),
		User:      l.str("proxyUser", defaultProxyUser),
	}
	if v, ok := l.secret("proxyPassword"); ok && v != "" {
		p.PasswordSet = true
		// bcrypt reads 72 bytes at most: a longer password would be cut
		// silently (its tail would not matter), and caddy hash-password
		// reads one line. The Pulumi source hands over the value's shape.
		multiline := strings.ContainsAny(v, "\r\n")
		if multiline || len(v) > proxyPasswordMaxBytes {
			what := fmt.Sprintf("has %d bytes", len(v))
			if multiline {
				what = "spans several lines"
			}
			l.fail("proxyPassword", "the password %s; it must be one line of at most %d bytes (bcrypt ignores the rest, caddy hash-password reads one line); "+
				"set another with `pulumi config set --secret %s:proxyPassword <password>`, or remove the key to have one generated",
				what, proxyPasswordMaxBytes, Namespace)
		}
	}

	if p.Domain != "" && !validDomain(p.Domain) {
		l.fail("domain", "%q is not a DNS name the proxy can serve; write the bare host name, like kit.example.com "+
			"(no scheme, port or path; at least two labels of letters, digits and '-'), or remove the key to run without the proxy", p.Domain)
	}
	switch p.TLS {
	case ProxyTLSACME, ProxyTLSInternal:
	default:
		l.fail("proxyTLS", "unknown value %q; use %q (default: certificates from Let's Encrypt, needs a public DNS name and ports 80/443 open) "+
			"or %q (Caddy's own CA: tests and private networks)", p.TLS, ProxyTLSACME, ProxyTLSInternal)
	}
	switch {
	case p.ACMEEmail != "" && !emailRE.MatchString(p.ACMEEmail):
		l.fail("acmeEmail", "%q is not an e-mail address; write it like ops@example.com (the ACME CA sends certificate expiry notices there)", p.ACMEEmail)
	case p.ACMEEmail == "" && p.Domain != "" && p.TLS != ProxyTLSInternal:
		l.fail("acmeEmail", "required when domain is set (the ACME CA's contact for certificate notices); "+
			"set it with `pulumi config set %s:acmeEmail ops@example.com`, or set %s:proxyTLS internal for a private network", Namespace, Namespace)
	}
	if !proxyUserRE.MatchString(p.User) {
		l.fail("proxyUser", "%q is not a user name the kit accepts; use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (default %s)", p.User, defaultProxyUser)
	}
	if p.Enabled() {
		for _, q := range []struct {
			name string
			port int
		}{{"temporal", hp.Temporal}, {"ui", hp.UI}, {"postgres", hp.Postgres}, {"worker", hp.Worker}} {
			if q.port == PortProxyHTTP || q.port == PortProxyHTTPS {
				l.fail("hostPorts", "%s: host port %d belongs to the proxy when domain is set; give %s another port", q.name, q.port, q.name)
			}
		}
	}
	return p
}

var (
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	emailRE     = regexp.MustCompile(`^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)
	proxyUserRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// validDomain accepts a lower-case DNS host name of at least two labels,
// not an IP address: what a certificate and a Caddyfile site address take.
func validDomain(d string) bool {
	if len(d) > 253 || net.ParseIP(d) != nil {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, lb := range labels {
		if !dnsLabelRE.MatchString(lb) {
			return false
		}
	}
	// A top-level label of digits only is an address, not a name.
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
