package netguard

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

// TestAddressTable is the SSRF table: every address a hostile page, DNS
// answer or redirect could point the worker at, refused or not. Run with -v
// to print it.
func TestAddressTable(t *testing.T) {
	cases := []struct {
		addr   string
		refuse bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"10.0.0.1", true},
		{"172.16.0.1", true},
		{"172.17.0.1", true}, // the Docker gateway
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata service
		{"169.254.0.1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fec0::1", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"192.0.0.8", true},
		{"192.0.2.10", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"198.18.0.1", true},
		{"2001:db8::1", true},
		{"3fff::1", true},
		{"100::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:7f00:1", true},
		{"::127.0.0.1", true}, // IPv4-compatible
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::10.0.0.1", true},
		{"64:ff9b:1::1", true},
		{"2002:7f00:1::1", true},                       // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::1", true},                    // 6to4 of 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", true}, // Teredo, client 10.0.0.1
		{"1.1.1.1", false},
		{"8.8.8.8", false},
		{"93.184.215.14", false},
		{"100.128.0.1", false}, // just past CGNAT
		{"172.32.0.1", false},  // just past 172.16/12
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
		{"2606:4700:4700::1111", false},
		{"2a01:4f8::1", false},
	}
	p := New(nil)
	for _, c := range cases {
		ip := netip.MustParseAddr(c.addr)
		err := p.CheckAddr(ip)
		verdict := "allowed"
		if err != nil {
			verdict = "REFUSED  " + Reason(ip)
		}
		t.Logf("%-40s %s", c.addr, verdict)
		if (err != nil) != c.refuse {
			t.Errorf("%s: refused=%v, want %v", c.addr, err != nil, c.refuse)
		}
		var r *Refused
		if err != nil && !errors.As(err, &r) {
			t.Errorf("%s: error %T is not *Refused", c.addr, err)
		}
	}
}

func TestAllowListOpensOnlyItsNetwork(t *testing.T) {
	allow, err := ParseCIDRs("172.28.5.0/24, fd00:1::/64")
	if err != nil {
		t.Fatal(err)
	}
	p := New(allow)
	for addr, want := range map[string]bool{
		"172.28.5.7": true, "::ffff:172.28.5.7": true, "fd00:1::5": true,
		"172.28.6.1": false, "127.0.0.1": false, "169.254.169.254": false, "fd00:2::1": false,
	} {
		if got := p.CheckAddr(netip.MustParseAddr(addr)) == nil; got != want {
			t.Errorf("%s allowed=%v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0", "10.0.0.1/8", "x/24", "10.0.0.0/33"} {
		if _, err := ParseCIDRs(bad); err == nil {
			t.Errorf("ParseCIDRs(%q) accepted", bad)
		}
	}
}

func TestControlSeesTheDialedAddress(t *testing.T) {
	p := New(nil)
	for addr, refuse := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:443": true, "169.254.169.254:80": true, "[::ffff:10.1.2.3]:80": true,
		"localhost:80": true, // not resolved yet: never let an unresolved name through
		"8.8.8.8:443":  false, "[2606:4700:4700::1111]:80": false,
	} {
		if err := p.Control(t.Context(), "tcp", addr, nil); (err != nil) != refuse {
			t.Errorf("Control(%s) = %v, want refused=%v", addr, err, refuse)
		}
	}
}

func TestCheckURL(t *testing.T) {
	p := New(nil)
	for raw, refuse := range map[string]bool{
		"http://acme.example/":                       false,
		"https://acme.example:443/x":                 false,
		"http://acme.example:80/":                    false,
		"http://acme.example:8000/":                  true,
		"http://prometheus:9090/api/v1/query":        true,
		"http://127.0.0.1/":                          true,
		"http://8.8.8.8/":                            true, // literals refused even when public
		"http://[::1]/":                              true,
		"http://[::ffff:169.254.169.254]/latest/":    true,
		"ftp://acme.example/":                        true,
		"file:///etc/passwd":                         true,
		"gopher://acme.example:70/":                  true,
		"http:///nohost":                             true,
		"http://user:secret@169.254.169.254/latest/": true,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.CheckURL(u); (err != nil) != refuse {
			t.Errorf("CheckURL(%s) = %v, want refused=%v", raw, err, refuse)
		}
	}
	allow, _ := ParseCIDRs("127.0.0.0/8")
	u, _ := url.Parse("http://127.0.0.1:8123/")
	if err := New(allow).CheckURL(u); err != nil {
		t.Errorf("an allow-listed literal with its port: %v", err)
	}
}
