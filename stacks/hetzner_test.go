package stacks

import (
	"reflect"
	"testing"
)

func TestHetznerDefaults(t *testing.T) {
	c, err := LoadConfig("prod", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.7/32"]`})
	if err != nil {
		t.Fatal(err)
	}
	want := Hetzner{ServerType: "cx23", Location: "fsn1", Image: "debian-12", Backups: true, VolumeSizeGB: 40, AdminCIDRs: []string{"203.0.113.7/32"}}
	if !reflect.DeepEqual(c.Hetzner, want) {
		t.Errorf("defaults = %+v, want %+v", c.Hetzner, want)
	}
	// The local target needs no admin CIDR; the defaults load there too.
	if _, err := LoadConfig("dev", MapSource{}); err != nil {
		t.Fatal(err)
	}
}

func TestHetznerOverrides(t *testing.T) {
	c, err := LoadConfig("prod", MapSource{
		"sshPrivateKey": "set", "target": "hetzner", "serverType": "CAX21", "location": "hel1", "serverImage": "debian-13",
		"hetznerBackups": "false", "volumeSizeGB": "10240",
		"adminCidrs": `["203.0.113.0/24", " 2001:db8:1:2::/64", "198.51.100.9/32"]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Hetzner{ServerType: "cax21", Location: "hel1", Image: "debian-13", Backups: false, VolumeSizeGB: 10240,
		AdminCIDRs: []string{"203.0.113.0/24", "2001:db8:1:2::/64", "198.51.100.9/32"}}
	if !reflect.DeepEqual(c.Hetzner, want) {
		t.Errorf("got %+v, want %+v", c.Hetzner, want)
	}
	for _, typ := range []string{"cx23", "cx33", "cx43", "cx53", "cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62",
		"cax11", "cax21", "cax31", "cax41", "ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63"} {
		if _, err := LoadConfig("prod", MapSource{"sshPrivateKey": "set", "target": "hetzner", "serverType": typ, "location": "nbg1", "adminCidrs": `["203.0.113.7/32"]`}); err != nil {
			t.Errorf("server type %s: %v", typ, err)
		}
	}
	for _, loc := range []string{"fsn1", "nbg1", "hel1", "ash", "hil", "sin"} {
		if _, err := LoadConfig("prod", MapSource{"sshPrivateKey": "set", "target": "hetzner", "serverType": "cpx22", "location": loc, "adminCidrs": `["203.0.113.7/32"]`}); err != nil {
			t.Errorf("location %s: %v", loc, err)
		}
	}
}

// Every bad Hetzner value is a problem naming its key and the fix.
func TestHetznerConfigErrors(t *testing.T) {
	admin := `["203.0.113.7/32"]`
	cases := []problemCase{
		{"no admin CIDRs", MapSource{"sshPrivateKey": "set", "target": "hetzner"}, "adminCidrs", "pulumi config set --path 'temporal-kit:adminCidrs[0]' 203.0.113.7/32"},
		{"empty admin CIDRs", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `[]`}, "adminCidrs", "required for target hetzner"},
		{"admin CIDRs not a list", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": "203.0.113.7/32"}, "adminCidrs", "is not a list of CIDRs"},
		{"malformed CIDR", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.300/32"]`}, "adminCidrs", "is not a CIDR"},
		{"address without prefix", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.7"]`}, "adminCidrs", "write 203.0.113.7/32"},
		{"host bits set", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.7/24"]`}, "adminCidrs", "did you mean 203.0.113.0/24"},
		{"whole IPv4 internet", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["0.0.0.0/0"]`}, "adminCidrs", "whole internet"},
		{"whole IPv6 internet", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.7/32","::/0"]`}, "adminCidrs", "whole internet"},
		{"duplicate CIDR", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": `["203.0.113.7/32","203.0.113.7/32"]`}, "adminCidrs", "listed twice"},
		{"unknown server type", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "serverType": "cx22"}, "serverType",
			"x86 cost-optimized: cx23, cx33, cx43, cx53; x86 regular: cpx12"},
		{"server type set how", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "serverType": "big"}, "serverType", "pulumi config set temporal-kit:serverType cx23"},
		{"unknown location", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "location": "fra1"}, "location", "fsn1, nbg1, hel1, ash, hil, sin"},
		{"location set how", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "location": "nyc"}, "location", "pulumi config set temporal-kit:location fsn1"},
		{"type not sold there", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "serverType": "cax11", "location": "ash"}, "location", "only in fsn1, nbg1, hel1"},
		{"volume too small", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "volumeSizeGB": "9"}, "volumeSizeGB", "(10-10240)"},
		{"volume too big", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "volumeSizeGB": "10241"}, "volumeSizeGB", "pulumi config set temporal-kit:volumeSizeGB 40"},
		{"volume not a number", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "volumeSizeGB": "40GB"}, "volumeSizeGB", "whole number"},
		{"backups not a bool", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "hetznerBackups": "yes please"}, "hetznerBackups", "true or false"},
		{"image not Debian", MapSource{"sshPrivateKey": "set", "target": "hetzner", "adminCidrs": admin, "serverImage": "ubuntu-24.04"}, "serverImage", "debian-12 or debian-13"},
	}
	checkProblems(t, "prod", cases)
}
