package stacks

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func hostKeyLine(t *testing.T) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func TestSSHConfig(t *testing.T) {
	key := hostKeyLine(t)
	c, err := LoadConfig("vps", MapSource{"target": "ssh", "sshHost": "203.0.113.10", "sshHostKey": key + " root@vps", "sshPrivateKey": "[secret]"})
	if err != nil {
		t.Fatal(err)
	}
	want := SSH{Host: "203.0.113.10", Port: 22, User: "deploy", HostKey: key, PrivateKeySet: true, SwapMB: 2048}
	if c.Target != TargetSSH || c.SSH != want {
		t.Errorf("got %s %+v, want ssh %+v", c.Target, c.SSH, want)
	}
	c, err = LoadConfig("vps", MapSource{"target": "ssh", "sshHost": "vps.example.com", "sshPort": "2222", "sshUser": "kit", "sshHostKey": key, "sshPrivateKey": "[secret]", "swapMB": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SSH.Port != 2222 || c.SSH.User != "kit" || c.SSH.SwapMB != 0 || c.SSH.Host != "vps.example.com" {
		t.Errorf("overrides not read: %+v", c.SSH)
	}
	// target local ignores the SSH keys' absence.
	if _, err := LoadConfig("dev", MapSource{}); err != nil {
		t.Errorf("local: %v", err)
	}
}

func TestSSHConfigErrors(t *testing.T) {
	key := hostKeyLine(t)
	ok := MapSource{"target": "ssh", "sshHost": "203.0.113.10", "sshHostKey": key, "sshPrivateKey": "[secret]"}
	with := func(k, v string) MapSource {
		m := MapSource{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		src  MapSource
		key  string
		fix  string
	}{
		{"ssh without host", with("sshHost", ""), "temporal-kit:sshHost", "pulumi config set temporal-kit:sshHost"},
		{"ssh without host key", with("sshHostKey", ""), "temporal-kit:sshHostKey", "ssh_host_ed25519_key.pub"},
		{"ssh without private key", with("sshPrivateKey", ""), "temporal-kit:sshPrivateKey", "ssh-keygen -t ed25519 -N ''"},
		{"hetzner without private key", MapSource{"target": "hetzner"}, "temporal-kit:sshPrivateKey", "--secret"},
		{"host with user", with("sshHost", "deploy@203.0.113.10"), "temporal-kit:sshHost", "no user@"},
		{"host with port", with("sshHost", "vps:22"), "temporal-kit:sshHost", "sshPort"},
		{"port", with("sshPort", "70000"), "temporal-kit:sshPort", "1-65535"},
		{"user", with("sshUser", "Deploy User"), "temporal-kit:sshUser", "lower-case"},
		{"root on hetzner", MapSource{"target": "hetzner", "sshPrivateKey": "x", "sshUser": "root"}, "temporal-kit:sshUser", "refuses root"},
		{"swap", with("swapMB", "-1"), "temporal-kit:swapMB", "0 (no swap)"},
		{"swap typo", with("swapMB", "2048000"), "temporal-kit:swapMB", "32768"},
		{"host key garbage", with("sshHostKey", "AAAAC3NzaC1lZDI1NTE5"), "temporal-kit:sshHostKey", "ssh-ed25519 AAAA"},
		{"known_hosts line", with("sshHostKey", "203.0.113.10 "+key), "temporal-kit:sshHostKey", "leave out the host name"},
		{"two keys", with("sshHostKey", key+"\n"+key), "temporal-kit:sshHostKey", "several lines"},
		{"options", with("sshHostKey", `from="1.2.3.4" `+key), "temporal-kit:sshHostKey", "options"},
	}
	for _, c := range cases {
		_, err := LoadConfig("vps", c.src)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.fix) {
			t.Errorf("%s: error does not name %s and %q:\n%v", c.name, c.key, c.fix, err)
		}
	}
}

func TestParseHostKey(t *testing.T) {
	key := hostKeyLine(t)
	got, err := ParseHostKey("  " + key + " root@host\n")
	if err != nil || got != key {
		t.Errorf("ParseHostKey = %q, %v; want %q", got, err, key)
	}
}
