package stacks

import (
	"slices"
	"strings"
	"testing"
)

// A password bcrypt would cut (over 72 bytes) or caddy hash-password would
// read only in part (several lines) is refused at load, naming the key.
func TestProxyPasswordBcryptLimit(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want string // "" accepted
	}{
		{strings.Repeat("a", 72), ""},
		{strings.Repeat("é", 36), ""}, // 72 bytes
		{strings.Repeat("a", 73), "has 73 bytes"},
		{strings.Repeat("é", 37), "has 74 bytes"},
		{"first\nsecond", "spans several lines"},
		{"pw\r", "spans several lines"},
	} {
		_, err := LoadConfig("prod", prodProxy(MapSource{"proxyPassword": tc.pw}))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%d bytes refused: %v", len(tc.pw), err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), Namespace+":proxyPassword") || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "at most 72 bytes")):
			t.Errorf("%q: %v, want an error on proxyPassword saying %q and the limit", tc.pw, err, tc.want)
		}
	}
}

// The Caddyfile bans repeated failures before basic_auth hashes anything,
// and no reverse_proxy forwards the proxy's credentials.
func TestCaddyfileBansGuessersAndKeepsCredentials(t *testing.T) {
	got := Caddyfile(Proxy{Domain: "kit.test", TLS: ProxyTLSInternal, User: "admin"},
		[]ProxyRoute{{Path: "/", Upstream: "temporal-ui:8080"}, {Path: "/grafana", Upstream: "grafana:3000"}})
	for _, want := range []string{
		"\torder kit_login_ban before basic_auth\n",
		"\tkit_login_ban {\n\t\tmax_failures 5\n\t\twindow 10m0s\n\t\tban 15m0s\n\t\tusers admin\n\t}\n\tbasic_auth {\n\t\tadmin {$KIT_PROXY_PASSWORD_HASH}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Caddyfile lacks %q:\n%s", want, got)
		}
	}
	proxies := strings.Count(got, "reverse_proxy ")
	if strips := strings.Count(got, " {\n\t\t\theader_up -Authorization\n\t\t}\n"); proxies != 2 || strips != proxies {
		t.Errorf("%d reverse_proxy, want 2, each with header_up -Authorization:\n%s", proxies, got)
	}
}

// The start script hashes at the kit's cost, not Caddy's default 14.
func TestProxyHashesAtTheKitsCost(t *testing.T) {
	p, _ := mustBuild(t, prodProxy(nil)).Service(ServiceProxy)
	if got := p.PlainEnv()["KIT_PROXY_BCRYPT_COST"]; got != "10" {
		t.Errorf("KIT_PROXY_BCRYPT_COST %q, want 10", got)
	}
	if !strings.Contains(proxyStartScript, `caddy hash-password --bcrypt-cost "${KIT_PROXY_BCRYPT_COST`) {
		t.Error("proxy-start.sh does not pass the cost to caddy hash-password")
	}
}

// The proxy sits on its own network with the services it serves and
// nothing else; they reach the rest of the stack on backend, the proxy
// cannot.
func TestProxyNetworkHoldsOnlyWhatItServes(t *testing.T) {
	for _, src := range []MapSource{prodProxy(nil), prodProxy(MapSource{"imageCatalog": CatalogLocal})} {
		d := mustBuild(t, src)
		if !slices.Contains(d.Networks, Network{Name: NetworkProxy}) {
			t.Fatalf("%v: no network %s: %+v", src, NetworkProxy, d.Networks)
		}
		// Prometheus scrapes the proxy's metrics listener.
		want := []string{ServiceProxy, ServicePrometheus}
		for _, r := range proxyRoutes(mustConfig(t, src)) {
			host, _, _ := strings.Cut(r.Upstream, ":")
			want = append(want, host)
		}
		var on []string
		for _, s := range d.Services {
			nets := map[string][]string{}
			for _, a := range s.Networks {
				nets[a.Network] = a.Aliases
			}
			if _, ok := nets[NetworkProxy]; !ok {
				continue
			}
			on = append(on, s.Name)
			if aliases := nets[NetworkProxy]; !slices.Equal(aliases, []string{s.Name}) {
				t.Errorf("%s on %s with aliases %v", s.Name, NetworkProxy, aliases)
			}
			if s.Name == ServiceProxy {
				if len(s.Networks) != 1 {
					t.Errorf("proxy on %+v, want %s only", s.Networks, NetworkProxy)
				}
				continue
			}
			if _, ok := nets[NetworkBackend]; !ok {
				t.Errorf("%s is not on %s: it cannot reach what it needs", s.Name, NetworkBackend)
			}
		}
		slices.Sort(want)
		slices.Sort(on)
		if !slices.Equal(on, want) {
			t.Errorf("%v: on %s: %v, want %v", src, NetworkProxy, on, want)
		}
	}
	// Without a domain, no proxy network.
	if d := mustBuild(t, MapSource{}); slices.ContainsFunc(d.Networks, func(n Network) bool { return n.Name == NetworkProxy }) {
		t.Error("a proxy network without a proxy")
	}
}

func mustConfig(t *testing.T, src MapSource) Config {
	t.Helper()
	c, err := LoadConfig("dev", src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
