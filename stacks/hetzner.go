package stacks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Hetzner is the hetzner part of the stack config: the VPS the prod stack
// provisions. Read and checked against the known values on every load (the
// defaults pass); adminCidrs is required for target hetzner only.
type Hetzner struct {
	ServerType string
	Location   string
	// Image is the Hetzner image name of the server's operating system.
	Image string
	// Backups turns on Hetzner's own daily server backups (20% of the server price).
	Backups bool
	// VolumeSizeGB is the size of the data volume (PostgreSQL and the kit's backups).
	VolumeSizeGB int
	// AdminCIDRs may reach SSH (port 22); nothing else is reachable from
	// outside unless a domain opens 80/443. Canonical prefixes, as given.
	AdminCIDRs []string
}

// Hetzner defaults: 2 vCPU, 4 GB in Falkenstein, Debian 12.
const (
	DefaultServerType   = "cx23"
	DefaultLocation     = "fsn1"
	DefaultServerImage  = "debian-12"
	DefaultVolumeSizeGB = 40
	// Hetzner's limits for a volume.
	MinVolumeSizeGB = 10
	MaxVolumeSizeGB = 10240
)

// serverTypes are the Hetzner Cloud server types the kit knows, by family.
// A family's locations: the cost-optimized and Arm families are sold only in
// the EU locations (Hetzner's price list, 2026).
var serverTypes = []struct {
	family    string
	types     []string
	locations []string
}{
	{"x86 cost-optimized", []string{"cx23", "cx33", "cx43", "cx53"}, euLocations},
	{"x86 regular", []string{"cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62"}, allLocations},
	{"Arm", []string{"cax11", "cax21", "cax31", "cax41"}, euLocations},
	{"dedicated vCPU", []string{"ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63"}, allLocations},
}

var (
	euLocations  = []string{"fsn1", "nbg1", "hel1"}
	allLocations = []string{"fsn1", "nbg1", "hel1", "ash", "hil", "sin"}
	// serverImages: the kit's cloud-init installs Debian packages.
	serverImages = []string{"debian-12", "debian-13"}
)

// ServerTypeLocations returns the locations a known server type is sold in.
func ServerTypeLocations(serverType string) ([]string, bool) {
	for _, f := range serverTypes {
		if slices.Contains(f.types, serverType) {
			return f.locations, true
		}
	}
	return nil, false
}

func knownServerTypes() string {
	var parts []string
	for _, f := range serverTypes {
		parts = append(parts, f.family+": "+strings.Join(f.types, ", "))
	}
	return strings.Join(parts, "; ")
}

func loadHetzner(l *loader, target Target) Hetzner {
	h := Hetzner{
		ServerType:   strings.ToLower(l.str("serverType", DefaultServerType)),
		Location:     strings.ToLower(l.str("location", DefaultLocation)),
		Image:        l.str("serverImage", DefaultServerImage),
		Backups:      l.flag("hetznerBackups", true),
		VolumeSizeGB: l.integer("volumeSizeGB", DefaultVolumeSizeGB),
	}
	var listed int
	h.AdminCIDRs, listed = l.cidrList("adminCidrs")
	locs, known := ServerTypeLocations(h.ServerType)
	if !known {
		l.fail("serverType", "unknown server type %q; known types are %s. Set one with `pulumi config set %s:serverType %s` (default %s: 2 vCPU, 4 GB)",
			h.ServerType, knownServerTypes(), Namespace, DefaultServerType, DefaultServerType)
	}
	if !slices.Contains(allLocations, h.Location) {
		l.fail("location", "unknown location %q; use one of %s (Falkenstein, Nuremberg, Helsinki, Ashburn, Hillsboro, Singapore). Set it with `pulumi config set %s:location %s` (default %s)",
			h.Location, strings.Join(allLocations, ", "), Namespace, DefaultLocation, DefaultLocation)
	} else if known && !slices.Contains(locs, h.Location) {
		l.fail("location", "server type %s is not sold in %s, only in %s; pick one of those with `pulumi config set %s:location %s`, or a cpx/ccx server type",
			h.ServerType, h.Location, strings.Join(locs, ", "), Namespace, locs[0])
	}
	if !slices.Contains(serverImages, h.Image) {
		l.fail("serverImage", "%q is not an image the kit's cloud-init supports (it installs Debian packages); use %s with `pulumi config set %s:serverImage %s` (default)",
			h.Image, strings.Join(serverImages, " or "), Namespace, DefaultServerImage)
	}
	if h.VolumeSizeGB < MinVolumeSizeGB || h.VolumeSizeGB > MaxVolumeSizeGB {
		l.fail("volumeSizeGB", "%d GB is outside Hetzner's volume sizes (%d-%d); set it with `pulumi config set %s:volumeSizeGB %d` (default). A volume only grows: a smaller size than the existing one is refused by Hetzner",
			h.VolumeSizeGB, MinVolumeSizeGB, MaxVolumeSizeGB, Namespace, DefaultVolumeSizeGB)
	}
	if target == TargetHetzner && listed == 0 { // a bad entry is its own problem
		l.fail("adminCidrs", "required for target hetzner: the addresses allowed to reach SSH, the only open port. Set yours with "+
			"`pulumi config set --path '%s:adminCidrs[0]' 203.0.113.7/32` (your public IPv4 as /32, or an IPv6 /64)", Namespace)
	}
	return h
}

// flag reads a boolean key ("true"/"false").
func (l *loader) flag(key string, def bool) bool {
	return parsed(l, key, def, strconv.ParseBool, "true or false")
}

// cidrList reads a list of IPv4/IPv6 CIDRs: Pulumi config hands a list over
// as a JSON array string. listed counts the entries given, good or bad.
func (l *loader) cidrList(key string) (cidrs []string, listed int) {
	v, ok := l.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, 0
	}
	var raw []string
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		l.fail(key, "%q is not a list of CIDRs; set each entry with `pulumi config set --path '%s:%s[0]' 203.0.113.7/32` ([1] for the next), "+
			"or write it as a YAML list under the key in Pulumi.<stack>.yaml", v, Namespace, key)
		return nil, 1
	}
	var out []string
	seen := map[netip.Prefix]bool{}
	for _, s := range raw {
		p, err := checkAdminCIDR(strings.TrimSpace(s))
		if err != nil {
			l.fail(key, "%s", err)
			continue
		}
		if seen[p] {
			l.fail(key, "%s is listed twice; remove one", p)
			continue
		}
		seen[p] = true
		out = append(out, p.String())
	}
	return out, len(raw)
}

// checkAdminCIDR accepts a canonical IPv4 or IPv6 prefix that is not the
// whole internet: SSH is the server's only door, and the kit does not open
// it to everyone (key-only login and fail2ban notwithstanding).
func checkAdminCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.Prefix{}, fmt.Errorf("%q is an address, not a CIDR; write %s/%d", s, a, a.BitLen())
		}
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR; write an IPv4 or IPv6 prefix like 203.0.113.7/32 or 2001:db8:1:2::/64", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write the IPv4 prefix instead", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q has an interface zone; remove it", s)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("%s opens SSH to the whole internet, which the kit refuses; list the addresses you deploy from "+
			"(a CI runner: its provider's published egress ranges, or deploy from a host with a fixed address)", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; did you mean %s (or %s/%d for the one address)?", s, m, p.Addr(), p.Addr().BitLen())
	}
	return p, nil
}
