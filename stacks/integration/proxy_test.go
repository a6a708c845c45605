package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

const proxyDomain = "kit.test"

// TestProxyIsTheOnlyWayIn starts the Definition of a stack with a domain
// (proxyTLS internal: Caddy's own CA, no ACME) with its ports published as
// the Definition publishes them, and checks from the host: the proxy is the
// only container on a non-loopback interface; over TLS (trusting the
// proxy's root CA) the UI answers 401 without or with wrong credentials and
// 200 with the generated ones; the Temporal frontend and PostgreSQL cannot
// be reached on this machine's non-loopback address, while the proxy can.
func TestProxyIsTheOnlyWayIn(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t, map[string]string{"domain": proxyDomain, "proxyTLS": stacks.ProxyTLSInternal})
	// The proxy needs no healthy UI to start; the UI pulls in what it needs
	// (PostgreSQL, schema, Temporal, namespace). No worker, no admin tools.
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServiceProxy, stacks.ServiceUI), stacktest.PublishAsDefined())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 1. What the host exposes: the proxy's 80 and 443 on every interface,
	// everything else on the loopback at most (stacktest puts the ports the
	// Definition keeps on the Docker network there, for tests to reach).
	published := map[string]map[int]string{} // service -> container port -> host address
	for _, name := range st.Services() {
		info, err := st.Container(name).Inspect(ctx)
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		for port, bindings := range info.NetworkSettings.Ports {
			for _, b := range bindings {
				if published[name] == nil {
					published[name] = map[int]string{}
				}
				published[name][int(port.Num())] = net.JoinHostPort(b.HostIP.String(), b.HostPort)
				switch {
				case name == stacks.ServiceProxy && b.HostIP.IsUnspecified():
				case name != stacks.ServiceProxy && b.HostIP.IsLoopback():
				default:
					t.Errorf("%s: container port %s published on %s", name, port, b.HostIP)
				}
			}
		}
	}
	t.Logf("published: %v", published)
	if p := published[stacks.ServiceProxy]; len(p) != 2 || p[stacks.PortProxyHTTP] == "" || p[stacks.PortProxyHTTPS] == "" {
		t.Fatalf("proxy publishes %v, want 80 and 443", p)
	}
	httpsPort := portOf(t, published[stacks.ServiceProxy][stacks.PortProxyHTTPS])
	httpPort := portOf(t, published[stacks.ServiceProxy][stacks.PortProxyHTTP])

	// 2. The proxy's internal root CA, as an operator would copy it out.
	var pool *x509.CertPool
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := st.Container(stacks.ServiceProxy).CopyFileFromContainer(ctx, stacks.ProxyRootCAPath)
		require.NoError(c, err)
		defer r.Close()
		pem, err := io.ReadAll(r)
		require.NoError(c, err)
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			c.Errorf("no certificate in %s: %q", stacks.ProxyRootCAPath, pem)
		}
	}, 30*time.Second, 500*time.Millisecond, "the proxy's root CA")

	user := "admin"
	password := st.Secret(stacks.SecretProxyPassword)
	if len(password) < 16 {
		t.Fatalf("generated proxy password has %d characters", len(password))
	}
	get := func(addr, user, password string) (int, http.Header, string, error) {
		return getVia(ctx, pool, addr, "https://"+proxyDomain+"/", user, password)
	}
	loopback := "127.0.0.1:" + strconv.Itoa(httpsPort)

	// 3. Authentication over TLS, through the loopback.
	var code int
	var hdr http.Header
	var body string
	var err error
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, _, body, err = get(loopback, user, password)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d: %.200s", code, body)
		}
		require.NoError(c, err)
	}, 60*time.Second, 500*time.Millisecond, "the UI through the proxy")
	if !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("200 without the UI's page: %.300s", body)
	}
	code, hdr, _, err = get(loopback, "", "")
	if err != nil || code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("Www-Authenticate"), "Basic") {
		t.Errorf("without credentials: %d %v (WWW-Authenticate %q), want 401 asking for basic auth", code, err, hdr.Get("Www-Authenticate"))
	}
	for _, bad := range []struct{ user, password string }{{user, password + "x"}, {user, strings.ToUpper(password)}, {"root", password}} {
		if code, _, _, err := get(loopback, bad.user, bad.password); err != nil || code != http.StatusUnauthorized {
			t.Errorf("user %q with a wrong password: %d %v, want 401", bad.user, code, err)
		}
	}
	// Plain HTTP only redirects to HTTPS.
	if code, loc, err := redirectOf(ctx, "127.0.0.1:"+strconv.Itoa(httpPort)); err != nil || code != http.StatusPermanentRedirect || loc != "https://"+proxyDomain+"/" {
		t.Errorf("http://%s/: %d %q %v, want 308 to https", proxyDomain, code, loc, err)
	}

	// 4. From this machine's non-loopback address: the proxy answers, the
	// Temporal frontend and PostgreSQL do not (on the ports the Definition
	// would use, nor on the loopback-published ports of this run).
	ip := nonLoopbackIPv4(t)
	if code, _, _, err := get(net.JoinHostPort(ip, strconv.Itoa(httpsPort)), "", ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("proxy on %s: %d %v, want 401: the address check below would prove nothing", ip, code, err)
	}
	closed := map[string]int{"temporal frontend (hostPorts.temporal)": definedHostPort(t, def, stacks.ServiceTemporal, stacks.PortTemporalGRPC), "postgresql": stacks.PortPostgres}
	for what, addr := range map[string]string{
		"temporal frontend (this run)": published[stacks.ServiceTemporal][stacks.PortTemporalGRPC],
		"temporal-ui (this run)":       published[stacks.ServiceUI][stacks.PortUI],
		"postgresql (this run)":        published[stacks.ServicePostgres][stacks.PortPostgres],
	} {
		if addr == "" {
			t.Errorf("%s is not published on the loopback at all; the Definition publishes it there", what)
			continue
		}
		closed[what] = portOf(t, addr)
	}
	for what, port := range closed {
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("%s is reachable on %s", what, addr)
		}
	}

	// 5. From inside the proxy: only what it serves.
	checkProxyReachesOnlyWhatItServes(ctx, t, st)
}

// definedHostPort is the host port the Definition publishes a container port on.
func definedHostPort(t *testing.T, def stacks.Definition, service string, container int) int {
	t.Helper()
	svc, _ := def.Service(service)
	for _, p := range svc.Ports {
		if p.Container == container && p.Host != 0 {
			return p.Host
		}
	}
	t.Fatalf("%s does not publish %d in the Definition", service, container)
	return 0
}

func portOf(t *testing.T, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("not host:port: %q", hostPort)
	}
	return n
}

// getVia GETs url over TLS, dialling addr whatever the URL's host, and
// checking the certificate against pool for the URL's host name.
func getVia(ctx context.Context, pool *x509.CertPool, addr, url, user, password string) (int, http.Header, string, error) {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: proxyDomain, MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			},
		},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, string(b), err
}

// redirectOf is the status and Location of a plain-HTTP GET of the domain through addr.
func redirectOf(ctx context.Context, addr string) (int, string, error) {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+proxyDomain+"/", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// nonLoopbackIPv4 is this machine's first non-loopback IPv4 address, an
// interface of its own before Docker's bridges.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var bridge string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() {
				continue
			}
			docker := strings.HasPrefix(ifc.Name, "docker") || strings.HasPrefix(ifc.Name, "br-") || strings.HasPrefix(ifc.Name, "veth")
			if !docker {
				return ipn.IP.String()
			}
			if bridge == "" {
				bridge = ipn.IP.String()
			}
		}
	}
	if bridge == "" {
		t.Fatal(errors.New("no non-loopback IPv4 address on this machine: cannot check what is reachable from outside"))
	}
	return bridge
}
