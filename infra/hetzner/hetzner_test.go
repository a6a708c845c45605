package hetzner_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

const (
	// hostKeyMarker stands for the host private key the SSH part puts in the
	// user-data: it must never show in state outside a secret.
	hostKeyMarker = "fixture-host-private-key-Jq3"
	operatorKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureOperatorKeyForTheMockTestOnly operator@laptop"
)

// dummyToken has a Hetzner token's length; nothing here reaches Hetzner.
var dummyToken = strings.Repeat("x", 64)

var adminCIDRs = []string{"203.0.113.7/32", "2001:db8:1:2::/64"}

// userData is a fixed cloud-init that mounts the volume it is given.
func userData(device pulumi.StringOutput) pulumi.StringInput {
	return device.ApplyT(func(dev string) string {
		return "#cloud-config\n" +
			"ssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    " + hostKeyMarker + "\n    -----END OPENSSH PRIVATE KEY-----\n" +
			"mounts:\n  - [" + dev + ", /srv/temporal-kit, ext4, \"defaults,nofail\"]\n"
	}).(pulumi.StringOutput)
}

type provisioned struct {
	m   *infratest.Mocks
	err error
	// Values the program saw.
	ipv4, device string
	// Secretness of Server outputs as the program sees them.
	userDataSecret bool
}

func config(t *testing.T, extra map[string]string) stacks.Config {
	t.Helper()
	// The loader records only that the deploy key is set; its value is read
	// where the secret is used.
	src := stacks.MapSource{"target": "hetzner", "adminCidrs": `["` + strings.Join(adminCIDRs, `","`) + `"]`, "sshPrivateKey": "set"}
	for k, v := range extra {
		src[k] = v
	}
	cfg, err := stacks.LoadConfig("prod", src)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func provision(t *testing.T, extra map[string]string, openWeb bool) provisioned {
	t.Helper()
	cfg := config(t, extra)
	p := provisioned{m: infratest.NewMocks()}
	infratest.SetConfig(t, map[string]string{hetzner.TokenKey: dummyToken}, hetzner.TokenKey)
	p.err = infratest.Run("prod", p.m, func(ctx *pulumi.Context) error {
		s, err := hetzner.Provision(ctx, cfg, hetzner.Inputs{
			UserData:     userData,
			SSHPublicKey: pulumi.String(operatorKey),
			OpenWeb:      openWeb,
		})
		if err != nil {
			return err
		}
		s.IPv4.ApplyT(func(v string) string { p.ipv4 = v; return v })
		s.VolumeDevice.ApplyT(func(v string) string { p.device = v; return v })
		p.userDataSecret = pulumi.IsSecret(s.Server.UserData)
		return nil
	})
	return p
}

func mustFind(t *testing.T, m *infratest.Mocks, typ, name string) infratest.Resource {
	t.Helper()
	r, ok := m.Find(typ, name)
	if !ok {
		t.Fatalf("no %s %s registered", typ, name)
	}
	return r
}

func TestProvisionRegistersExactlyTheseResources(t *testing.T) {
	p := provision(t, nil, false)
	if p.err != nil {
		t.Fatal(p.err)
	}
	want := []string{
		"hcloud:index/firewall:Firewall firewall",
		"hcloud:index/primaryIp:PrimaryIp primary-ipv4",
		"hcloud:index/primaryIp:PrimaryIp primary-ipv6",
		"hcloud:index/server:Server server",
		"hcloud:index/sshKey:SshKey ssh-key",
		"hcloud:index/volume:Volume data-volume",
		"hcloud:index/volumeAttachment:VolumeAttachment data-volume-attachment",
	}
	got := p.m.Keys()
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-48s %-24s %s\n", "TYPE", "NAME", "HETZNER NAME")
	for _, r := range p.m.Resources() {
		hn := "-"
		if v, ok := r.Inputs["name"]; ok {
			hn = v.StringValue()
		}
		fmt.Fprintf(&table, "%-48s %-24s %s\n", r.Type, r.Name, hn)
	}
	t.Logf("prod Hetzner resources (mocked):%s", table.String())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("registered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range p.m.Resources() {
		if n, ok := r.Inputs["name"]; ok && !strings.HasPrefix(n.StringValue(), "temporal-kit-prod") {
			t.Errorf("%s: Hetzner name %q does not start with temporal-kit-prod", r.Key(), n.StringValue())
		}
		if l, ok := r.Inputs["labels"]; ok && l.ObjectValue()["stack"].StringValue() != "prod" {
			t.Errorf("%s: labels %v lack stack=prod", r.Key(), l)
		}
	}
	if p.ipv4 != infratest.MockIPv4 {
		t.Errorf("IPv4 output = %q, want the primary IP's address %q", p.ipv4, infratest.MockIPv4)
	}
}

// row is a firewall rule as the test table shows it.
type row struct{ dir, proto, port, sources string }

func firewallTable(t *testing.T, m *infratest.Mocks) []row {
	t.Helper()
	fw := mustFind(t, m, infratest.TypeHcloudFirewall, hetzner.NameFirewall)
	var rows []row
	for _, r := range fw.Inputs["rules"].ArrayValue() {
		o := r.ObjectValue()
		var src []string
		for _, s := range o["sourceIps"].ArrayValue() {
			src = append(src, s.StringValue())
		}
		if d, ok := o["destinationIps"]; ok && len(d.ArrayValue()) > 0 {
			t.Errorf("rule %v has destination IPs: the kit has no outbound rules", o)
		}
		port := "-"
		if v, ok := o["port"]; ok && v.IsString() {
			port = v.StringValue()
		}
		rows = append(rows, row{o["direction"].StringValue(), o["protocol"].StringValue(), port, strings.Join(src, " ")})
	}
	return rows
}

func TestFirewallRules(t *testing.T) {
	admin := strings.Join(adminCIDRs, " ")
	cases := []struct {
		name    string
		openWeb bool
		want    []row
	}{
		{"no domain: SSH and ping from the admin CIDRs only", false, []row{
			{"in", "tcp", "22", admin},
			{"in", "icmp", "-", admin},
		}},
		{"domain: 80 and 443 open to everyone too", true, []row{
			{"in", "tcp", "22", admin},
			{"in", "icmp", "-", admin},
			{"in", "tcp", "80", "0.0.0.0/0 ::/0"},
			{"in", "tcp", "443", "0.0.0.0/0 ::/0"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := provision(t, nil, tc.openWeb)
			if p.err != nil {
				t.Fatal(p.err)
			}
			got := firewallTable(t, p.m)
			var b strings.Builder
			fmt.Fprintf(&b, "\n%-9s %-8s %-5s %s\n", "DIRECTION", "PROTOCOL", "PORT", "SOURCES")
			for _, r := range got {
				fmt.Fprintf(&b, "%-9s %-8s %-5s %s\n", r.dir, r.proto, r.port, r.sources)
			}
			t.Logf("firewall (openWeb=%t):%s", tc.openWeb, b.String())
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rules %v, want %v", got, tc.want)
			}
			// Whatever the table says: nothing public beyond 80/443 with a
			// domain, and SSH from the admin CIDRs alone.
			for _, r := range got {
				if r.dir != "in" {
					t.Errorf("rule %v is not inbound", r)
				}
				public := strings.Contains(r.sources, "/0")
				switch {
				case r.proto == "tcp" && r.port == "22":
					if r.sources != admin {
						t.Errorf("SSH open to %q, want only %q", r.sources, admin)
					}
				case r.proto == "tcp" && (r.port == "80" || r.port == "443"):
					if !tc.openWeb {
						t.Errorf("port %s open without a domain", r.port)
					}
				case r.proto == "icmp":
					if public {
						t.Errorf("ICMP open to everyone")
					}
				default:
					t.Errorf("rule %v opens something beyond SSH, ICMP and the web ports", r)
				}
				if public && r.port != "80" && r.port != "443" {
					t.Errorf("rule %v is public", r)
				}
			}
			srv := mustFind(t, p.m, infratest.TypeHcloudServer, hetzner.NameServer)
			fwID, _ := strconv.Atoi(infratest.HcloudID(infratest.TypeHcloudFirewall, hetzner.NameFirewall))
			if got := ints(srv.Inputs["firewallIds"]); !reflect.DeepEqual(got, []int{fwID}) {
				t.Errorf("server firewallIds = %v, want [%d]: the firewall applies from the first boot", got, fwID)
			}
		})
	}
}

func ints(v resource.PropertyValue) []int {
	var out []int
	for _, e := range v.ArrayValue() {
		out = append(out, int(e.NumberValue()))
	}
	return out
}

func id(t *testing.T, typ, name string) float64 {
	n, err := strconv.Atoi(infratest.HcloudID(typ, name))
	if err != nil {
		t.Fatal(err)
	}
	return float64(n)
}

func TestServerVolumeAndAddresses(t *testing.T) {
	p := provision(t, nil, false)
	if p.err != nil {
		t.Fatal(p.err)
	}
	srv := mustFind(t, p.m, infratest.TypeHcloudServer, hetzner.NameServer)
	vol := mustFind(t, p.m, infratest.TypeHcloudVolume, hetzner.NameVolume)
	att := mustFind(t, p.m, infratest.TypeHcloudVolumeAttachment, hetzner.NameAttachment)
	v4 := mustFind(t, p.m, infratest.TypeHcloudPrimaryIP, hetzner.NamePrimaryV4)
	v6 := mustFind(t, p.m, infratest.TypeHcloudPrimaryIP, hetzner.NamePrimaryV6)
	key := mustFind(t, p.m, infratest.TypeHcloudSSHKey, hetzner.NameSSHKey)

	boolIn := func(r infratest.Resource, k string) any {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsBool() {
			return v.BoolValue()
		}
		return "unset"
	}
	strIn := func(r infratest.Resource, k string) any {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return "unset"
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"server serverType", strIn(srv, "serverType"), "cx23"},
		{"server image", strIn(srv, "image"), "debian-12"},
		{"server location", strIn(srv, "location"), "fsn1"},
		{"server datacenter (deprecated)", strIn(srv, "datacenter"), "unset"},
		{"server backups (default on)", boolIn(srv, "backups"), true},
		{"server deleteProtection", boolIn(srv, "deleteProtection"), true},
		{"server rebuildProtection", boolIn(srv, "rebuildProtection"), true},
		{"server shutdownBeforeDeletion", boolIn(srv, "shutdownBeforeDeletion"), true},
		{"volume size", vol.Inputs["size"].NumberValue(), 40.0},
		{"volume location", strIn(vol, "location"), "fsn1"},
		{"volume format", strIn(vol, "format"), "ext4"},
		{"volume automount", boolIn(vol, "automount"), false},
		{"volume deleteProtection", boolIn(vol, "deleteProtection"), true},
		{"volume serverId (attached by the attachment)", vol.Inputs["serverId"].IsNull() || !vol.Inputs.HasValue("serverId"), true},
		{"attachment serverId", att.Inputs["serverId"].NumberValue(), id(t, infratest.TypeHcloudServer, hetzner.NameServer)},
		{"attachment volumeId", att.Inputs["volumeId"].NumberValue(), id(t, infratest.TypeHcloudVolume, hetzner.NameVolume)},
		{"attachment automount", boolIn(att, "automount"), false},
		{"primary IPv4 type", strIn(v4, "type"), "ipv4"},
		{"primary IPv4 autoDelete", boolIn(v4, "autoDelete"), false},
		{"primary IPv4 assigneeType", strIn(v4, "assigneeType"), "server"},
		{"primary IPv4 location", strIn(v4, "location"), "fsn1"},
		{"primary IPv4 datacenter (deprecated)", strIn(v4, "datacenter"), "unset"},
		{"primary IPv4 deleteProtection", boolIn(v4, "deleteProtection"), true},
		{"primary IPv6 type", strIn(v6, "type"), "ipv6"},
		{"primary IPv6 autoDelete", boolIn(v6, "autoDelete"), false},
		{"ssh key", strIn(key, "publicKey"), operatorKey},
		{"volume device output", p.device, "/dev/disk/by-id/scsi-0HC_Volume_" + infratest.HcloudID(infratest.TypeHcloudVolume, hetzner.NameVolume)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if srv.Inputs["deleteProtection"] != srv.Inputs["rebuildProtection"] {
		t.Error("Hetzner wants deleteProtection and rebuildProtection equal")
	}
	nets := srv.Inputs["publicNets"].ArrayValue()
	if len(nets) != 1 {
		t.Fatalf("publicNets = %v", nets)
	}
	pn := nets[0].ObjectValue()
	if pn["ipv4"].NumberValue() != id(t, infratest.TypeHcloudPrimaryIP, hetzner.NamePrimaryV4) || !pn["ipv4Enabled"].BoolValue() ||
		pn["ipv6"].NumberValue() != id(t, infratest.TypeHcloudPrimaryIP, hetzner.NamePrimaryV6) || !pn["ipv6Enabled"].BoolValue() {
		t.Errorf("server publicNets = %v, want the two primary IPs", pn)
	}
	if got := srv.Inputs["sshKeys"].ArrayValue(); len(got) != 1 || got[0].StringValue() != infratest.HcloudID(infratest.TypeHcloudSSHKey, hetzner.NameSSHKey) {
		t.Errorf("server sshKeys = %v, want the ssh key's ID", got)
	}
	// The attachment waits for the server and the volume; the server for
	// the volume (its device path is in the user-data).
	for _, dep := range []string{srv.URN, vol.URN} {
		if !slices.Contains(att.Deps, dep) {
			t.Errorf("attachment does not depend on %s: %v", dep, att.Deps)
		}
	}
	if !slices.Contains(srv.Deps, vol.URN) {
		t.Errorf("server does not depend on the volume: %v", srv.Deps)
	}
}

func TestUserDataIsSecretAndNamesTheVolume(t *testing.T) {
	p := provision(t, nil, false)
	if p.err != nil {
		t.Fatal(p.err)
	}
	srv := mustFind(t, p.m, infratest.TypeHcloudServer, hetzner.NameServer)
	ud := srv.Inputs["userData"]
	if !ud.IsSecret() {
		t.Fatalf("server userData is not secret in state: %v", ud)
	}
	if !p.userDataSecret {
		t.Error("the server's userData output is not secret")
	}
	text := ud.SecretValue().Element.StringValue()
	if want := "/dev/disk/by-id/scsi-0HC_Volume_" + infratest.HcloudID(infratest.TypeHcloudVolume, hetzner.NameVolume); !strings.Contains(text, want) {
		t.Errorf("user-data does not mount %s:\n%s", want, text)
	}
	// The host key shows nowhere in plain text.
	for _, r := range p.m.Resources() {
		plain, _ := infratest.Strings(resource.NewObjectProperty(r.Inputs))
		for _, s := range plain {
			if strings.Contains(s, hostKeyMarker) {
				t.Errorf("%s holds the host private key in plain text", r.Key())
			}
		}
	}
}

func TestConfigOverridesReachTheResources(t *testing.T) {
	p := provision(t, map[string]string{"serverType": "cpx32", "location": "ash", "hetznerBackups": "false", "volumeSizeGB": "100", "serverImage": "debian-13"}, false)
	if p.err != nil {
		t.Fatal(p.err)
	}
	srv := mustFind(t, p.m, infratest.TypeHcloudServer, hetzner.NameServer)
	vol := mustFind(t, p.m, infratest.TypeHcloudVolume, hetzner.NameVolume)
	v4 := mustFind(t, p.m, infratest.TypeHcloudPrimaryIP, hetzner.NamePrimaryV4)
	got := []any{srv.Inputs["serverType"].StringValue(), srv.Inputs["location"].StringValue(), srv.Inputs["image"].StringValue(),
		srv.Inputs["backups"].BoolValue(), vol.Inputs["size"].NumberValue(), vol.Inputs["location"].StringValue(), v4.Inputs["location"].StringValue()}
	want := []any{"cpx32", "ash", "debian-13", false, 100.0, "ash", "ash"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Every config error stops the real program before any resource exists,
// naming its key.
func TestConfigErrorsStopBeforeAnyResource(t *testing.T) {
	good := map[string]string{"target": "hetzner", "adminCidrs": `["203.0.113.7/32"]`, "sshPrivateKey": "set"}
	cases := []struct {
		name string
		set  map[string]string
		drop string
		key  string
	}{
		{"no adminCidrs", nil, "adminCidrs", "adminCidrs"},
		{"no SSH key", nil, "sshPrivateKey", "sshPrivateKey"},
		{"SSH on another port", map[string]string{"sshPort": "2222"}, "", "sshPort"},
		{"malformed CIDR", map[string]string{"adminCidrs": `["203.0.113.0/33"]`}, "", "adminCidrs"},
		{"SSH open to all", map[string]string{"adminCidrs": `["0.0.0.0/0"]`}, "", "adminCidrs"},
		{"unknown server type", map[string]string{"serverType": "cx21"}, "", "serverType"},
		{"unknown location", map[string]string{"location": "fra1"}, "", "location"},
		{"volume too small", map[string]string{"volumeSizeGB": "5"}, "", "volumeSizeGB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range good {
				if k != tc.drop {
					cfg[k] = v
				}
			}
			for k, v := range tc.set {
				cfg[k] = v
			}
			m := infratest.NewMocks()
			infratest.SetConfig(t, cfg)
			err := infratest.Run("prod", m, infra.Program)
			var ce *stacks.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a config error, got %v", err)
			}
			if !strings.Contains(err.Error(), stacks.Namespace+":"+tc.key+":") {
				t.Errorf("error does not name %s:%s:\n%v", stacks.Namespace, tc.key, err)
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources registered before the config error", n)
			}
		})
	}
}

func TestProvisionRefusesAConfigNotLoadedForHetzner(t *testing.T) {
	m := infratest.NewMocks()
	infratest.SetConfig(t, map[string]string{})
	err := infratest.Run("prod", m, func(ctx *pulumi.Context) error {
		_, err := hetzner.Provision(ctx, stacks.Config{Stack: "prod", Target: stacks.TargetLocal}, hetzner.Inputs{})
		return err
	})
	for _, s := range []string{"target is \"local\"", "no admin CIDRs", "no cloud-init user-data", "no SSH public key"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
	if n := len(m.Resources()); n != 0 {
		t.Errorf("%d resources registered", n)
	}
}

func TestParseID(t *testing.T) {
	if n, err := hetzner.ParseID("volume", "104887321"); err != nil || n != 104887321 {
		t.Errorf("ParseID = %d, %v", n, err)
	}
	for _, bad := range []string{"", "abc", "0", "-4", "12.5", "99999999999999999999999"} {
		_, err := hetzner.ParseID("volume", bad)
		if err == nil || !strings.Contains(err.Error(), "hetzner volume ID") || !strings.Contains(err.Error(), "issue 52") {
			t.Errorf("ParseID(%q) error = %v", bad, err)
		}
	}
	if got := hetzner.DevicePath(42); got != "/dev/disk/by-id/scsi-0HC_Volume_42" {
		t.Errorf("DevicePath = %q", got)
	}
}

func TestHetznerName(t *testing.T) {
	for stack, want := range map[string]string{
		"prod": "temporal-kit-prod", "Prod_EU.1": "temporal-kit-prod-eu-1",
		strings.Repeat("x", 80): ("temporal-kit-" + strings.Repeat("x", 80))[:63],
	} {
		if got := hetzner.HetznerName(stack); got != want {
			t.Errorf("HetznerName(%q) = %q, want %q", stack, got, want)
		}
	}
}

// An ID the provider hands back that is not a number fails the deploy
// with the helper's message.
func TestNonNumericIDFailsClearly(t *testing.T) {
	cfg := config(t, nil)
	infratest.SetConfig(t, map[string]string{hetzner.TokenKey: dummyToken}, hetzner.TokenKey)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := hetzner.Provision(ctx, cfg, hetzner.Inputs{UserData: userData, SSHPublicKey: pulumi.String(operatorKey)})
		return err
	}, pulumi.WithMocks(stacks.Namespace, "prod", textIDs{}))
	if err == nil || !strings.Contains(err.Error(), "is not a positive integer") {
		t.Fatalf("err = %v, want the ID helper's message", err)
	}
}

// textIDs is a provider that returns non-numeric IDs.
type textIDs struct{}

func (textIDs) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return a.Name + "-id", a.Inputs, nil
}

func (textIDs) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) { return nil, nil }

func TestTokenIsCheckedBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name   string
		cfg    map[string]string
		secret []string
		env    string
		want   string
	}{
		{"no token", nil, nil, "", "hcloud:token: no Hetzner Cloud API token: create an API token"},
		{"plain-text token", map[string]string{hetzner.TokenKey: dummyToken}, nil, "", "is stored in plain text in Pulumi.prod.yaml"},
		{"short token", map[string]string{hetzner.TokenKey: "abc"}, []string{hetzner.TokenKey}, "", "has 3 characters, a Hetzner Cloud API token has 64"},
		{"short token from the environment", nil, nil, "abcd", "the token from HCLOUD_TOKEN has 4 characters"},
		{"token from the environment", nil, nil, dummyToken, ""},
	}
	cfg := config(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(hetzner.TokenEnv, tc.env)
			infratest.SetConfig(t, tc.cfg, tc.secret...)
			m := infratest.NewMocks()
			err := infratest.Run("prod", m, func(ctx *pulumi.Context) error {
				_, err := hetzner.Provision(ctx, cfg, hetzner.Inputs{UserData: userData, SSHPublicKey: pulumi.String(operatorKey)})
				return err
			})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), dummyToken) {
				t.Error("the error shows the token")
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources registered", n)
			}
		})
	}
}
