package integration

import (
	"context"
	"crypto/tls"
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
	"github.com/ampledata/temporal-kit/stacks/dockerstats"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// headerEcho stands in for the UI behind the proxy (alias temporal-ui on the
// proxy's network): a second Caddy from the proxy's image that answers
// with the Authorization and probe headers it received. It is also a
// client with an address of its own on that network.
const headerEcho = "header-echo"

const echoCaddyfile = `{
	admin off
}
:8080 {
	respond "authorization=[{http.request.header.Authorization}] probe=[{http.request.header.X-Kit-Probe}]" 200
}
`

func headerEchoService(image string) stacks.Service {
	return stacks.Service{
		Name:       headerEcho,
		Kind:       stacks.LongRunning,
		Image:      image,
		Entrypoint: []string{"caddy", "run", "--config", "/etc/echo/Caddyfile", "--adapter", "caddyfile"},
		Files:      []stacks.File{{Path: "/etc/echo/Caddyfile", Content: echoCaddyfile, Mode: 0o644}},
		Networks:   []stacks.NetworkAttachment{{Network: stacks.NetworkProxy, Aliases: []string{headerEcho, stacks.ServiceUI}}},
		Health: &stacks.HealthCheck{Test: "wget -q -O /dev/null http://127.0.0.1:8080/",
			Interval: time.Second, Timeout: 3 * time.Second, StartPeriod: 10 * time.Second, Retries: 30},
		Restart: "no",
	}
}

// TestProxyLoginBanAndCredentials runs the Definition's proxy in front of a
// header-echoing upstream and checks: the upstream never sees the proxy's
// Authorization header (other headers pass); wrong passwords from one
// address get 401 until the limit, then 429 with Retry-After, even with
// the right password; the right password from another address still
// works. It prints the proxy container's CPU time for 100 wrong guesses.
func TestProxyLoginBanAndCredentials(t *testing.T) {
	stacktest.RequireDocker(t)
	def := stacktest.LocalDev(t, map[string]string{"domain": proxyDomain, "proxyTLS": stacks.ProxyTLSInternal})
	// The second client reaches the proxy by the site's name, as a browser
	// would; the name is one more alias on the proxy's network.
	for i := range def.Services {
		if def.Services[i].Name == stacks.ServiceProxy {
			for j := range def.Services[i].Networks {
				a := &def.Services[i].Networks[j]
				a.Aliases = append(a.Aliases, proxyDomain)
			}
		}
	}
	proxySvc, _ := def.Service(stacks.ServiceProxy)
	st := stacktest.Start(t, def, stacktest.Only(stacks.ServiceProxy, headerEcho), stacktest.With(headerEchoService(proxySvc.Image)))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	addr := st.Endpoint(stacks.ServiceProxy, stacks.PortProxyHTTPS)
	password := st.Secret(stacks.SecretProxyPassword)
	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			// TLS is not what this test is about; keep-alive is: one
			// handshake, then the figures are the login's cost alone.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: proxyDomain},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			},
		},
	}
	defer client.CloseIdleConnections()
	do := func(user, pw string) (int, http.Header, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+proxyDomain+"/", nil)
		req.SetBasicAuth(user, pw)
		req.Header.Set("X-Kit-Probe", "probe-42")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, resp.Header, string(b), err
	}
	get := func(user, pw string) (int, http.Header, string) {
		t.Helper()
		code, hdr, body, err := do(user, pw)
		if err != nil {
			t.Fatalf("GET through the proxy: %v", err)
		}
		return code, hdr, body
	}

	// 1. The right password passes; the upstream gets the probe header and
	// no Authorization (the echo proves it would show one).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, _, body, err := do("admin", password)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d: %.200s", code, body)
		}
		require.NoError(c, err)
	}, 60*time.Second, 500*time.Millisecond, "the upstream through the proxy")
	_, _, body := get("admin", password)
	if !strings.Contains(body, "probe=[probe-42]") {
		t.Fatalf("the echo upstream does not show forwarded headers: %q", body)
	}
	if !strings.Contains(body, "authorization=[]") {
		t.Errorf("the upstream received the proxy's credentials: %q", body)
	}

	// 2. 100 wrong guesses from this address, with the proxy's CPU time.
	stats, err := dockerstats.New()
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	id := st.Container(stacks.ServiceProxy).GetContainerID()
	before, err := stats.Sample(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	var firstBan int
	var retryAfter string
	start := time.Now()
	const guesses = 100
	for i := 1; i <= guesses; i++ {
		code, hdr, _ := get("admin", fmt.Sprintf("wrong-%03d", i))
		codes[code]++
		if code == http.StatusTooManyRequests && firstBan == 0 {
			firstBan, retryAfter = i, hdr.Get("Retry-After")
		}
	}
	wall := time.Since(start)
	after, err := stats.Sample(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cpu := after.CPU - before.CPU
	t.Logf("proxy CPU time for %d wrong guesses: %s (wall %s; answers %v; bcrypt cost %d, ban after %d)",
		guesses, cpu.Round(time.Millisecond), wall.Round(time.Millisecond), codes, stacks.ProxyBcryptCost, stacks.ProxyMaxFailedLogins)
	if codes[http.StatusUnauthorized] != stacks.ProxyMaxFailedLogins || codes[http.StatusTooManyRequests] != guesses-stacks.ProxyMaxFailedLogins {
		t.Errorf("answers %v, want %d × 401 then 429", codes, stacks.ProxyMaxFailedLogins)
	}
	if secs, err := strconv.Atoi(retryAfter); err != nil || secs <= 0 || time.Duration(secs)*time.Second > stacks.ProxyLoginBan {
		t.Errorf("first 429 (guess %d) has Retry-After %q, want seconds up to the ban's %s", firstBan, retryAfter, stacks.ProxyLoginBan)
	}
	// Banned means banned: the right password from this address waits too.
	if code, _, _ := get("admin", password); code != http.StatusTooManyRequests {
		t.Errorf("the right password from the banned address: %d, want 429", code)
	}

	// 3. Another address (the echo container, on the proxy's network) is
	// not banned: the right password works, a wrong one is a plain 401.
	fetch := func(pw string) string {
		cmd := []string{"wget", "-S", "-q", "-O", "-", "--no-check-certificate", "--header", "Authorization: Basic " + basic("admin", pw),
			"--header", "X-Kit-Probe: from-echo", "https://" + proxyDomain + "/"}
		_, out, err := st.Exec(ctx, headerEcho, cmd...)
		if err != nil {
			t.Fatalf("wget in %s: %v", headerEcho, err)
		}
		return out
	}
	if out := fetch(password); !strings.Contains(out, " 200") || !strings.Contains(out, "probe=[from-echo]") || !strings.Contains(out, "authorization=[]") {
		t.Errorf("right password from another address:\n%s", out)
	}
	if out := fetch("wrong"); !strings.Contains(out, " 401") {
		t.Errorf("a wrong password from another address, not banned: want 401:\n%s", out)
	}
	if logs := st.Logs(ctx, stacks.ServiceProxy); !strings.Contains(logs, "client banned after repeated failed logins") {
		t.Errorf("the ban is not logged; proxy log:\n%s", logs)
	}
}

func basic(user, pw string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	req.SetBasicAuth(user, pw)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// checkProxyReachesOnlyWhatItServes runs in the proxy container of a stack
// that has the UI, Temporal and PostgreSQL: the UI resolves and connects
// (the control); Temporal's gRPC port and PostgreSQL neither resolve by
// name nor connect by their backend address.
func checkProxyReachesOnlyWhatItServes(ctx context.Context, t *testing.T, st *stacktest.Stack) {
	t.Helper()
	run := func(cmd ...string) (int, string) {
		code, out, err := st.Exec(ctx, stacks.ServiceProxy, cmd...)
		if err != nil {
			t.Fatalf("%v in the proxy: %v", cmd, err)
		}
		return code, out
	}
	networks := func(service string) map[string]string { // Docker network -> address
		info, err := st.Container(service).Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nets := map[string]string{}
		for name, ep := range info.NetworkSettings.Networks {
			nets[name] = ep.IPAddress.String()
		}
		return nets
	}
	ipOn := func(service, network string) string {
		ip, ok := networks(service)[st.NetworkName(network)]
		if !ok {
			t.Fatalf("%s is not on %s", service, network)
		}
		return ip
	}
	// The control: the UI, on a network it shares with the proxy.
	var uiIP string
	proxyNets := networks(stacks.ServiceProxy)
	for name, ip := range networks(stacks.ServiceUI) {
		if _, shared := proxyNets[name]; shared {
			uiIP = ip
		}
	}
	if code, out := run("getent", "hosts", stacks.ServiceUI); code != 0 || uiIP == "" {
		t.Fatalf("the proxy cannot resolve %s, which it serves (%d %s %q): the checks below would prove nothing", stacks.ServiceUI, code, out, uiIP)
	}
	if code, out := run("nc", "-z", "-w", "3", uiIP, strconv.Itoa(stacks.PortUI)); code != 0 {
		t.Fatalf("the proxy cannot connect to the UI (%d %s): the checks below would prove nothing", code, out)
	}
	for _, target := range []struct {
		service string
		port    int
	}{{stacks.ServiceTemporal, stacks.PortTemporalGRPC}, {stacks.ServicePostgres, stacks.PortPostgres}} {
		if code, out := run("getent", "hosts", target.service); code == 0 {
			t.Errorf("the proxy resolves %s: %s", target.service, out)
		}
		ip := ipOn(target.service, stacks.NetworkBackend)
		if code, _ := run("nc", "-z", "-w", "3", ip, strconv.Itoa(target.port)); code == 0 {
			t.Errorf("the proxy connects to %s at %s:%d", target.service, ip, target.port)
		}
	}
}
