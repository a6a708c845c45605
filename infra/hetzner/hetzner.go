// Package hetzner provisions the prod stack's Hetzner Cloud resources: an SSH
// key, a primary IPv4 and IPv6 that outlive the server, a firewall that lets
// in SSH from the admin CIDRs only (and 80/443 when a domain is configured),
// a data volume that survives a server replacement, and the server itself,
// booted with the cloud-init user-data it is given. Deploying onto the
// server (over SSH) is another package's business: Provision returns what
// that deploy needs.
package hetzner

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-hcloud/sdk/go/hcloud"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/stacks"
)

// SSHPort is the only port the firewall opens to the admin CIDRs.
const SSHPort = 22

// Web ports, open to everyone only with a domain (the reverse proxy).
var WebPorts = []int{80, 443}

// Anywhere is the whole internet, IPv4 and IPv6, as firewall sources.
var Anywhere = []string{"0.0.0.0/0", "::/0"}

// Inputs are what the provisioning needs beyond the stack config.
type Inputs struct {
	// UserData returns the cloud-init user-data for a server whose data
	// volume has the given Linux device path
	// (/dev/disk/by-id/scsi-0HC_Volume_<id>). The volume is created first
	// so that its path is known when the server boots; a new volume (only a
	// change of location makes one) therefore means a new server. The
	// result is made secret here: it holds the server's SSH host private key.
	//
	// The volume is attached only once the server exists (the provider
	// cannot attach at creation), so at first boot the device appears a few
	// seconds after cloud-init starts: the user-data must wait for it (a
	// bounded loop on `[ -b <device> ]`) before mounting, and its fstab entry
	// should carry `nofail` so a boot without the volume still reaches SSH.
	UserData func(volumeDevice pulumi.StringOutput) pulumi.StringInput
	// SSHPublicKey is the operator's public key (an authorized_keys line),
	// uploaded to Hetzner as the server's root key. Hetzner refuses a key
	// whose fingerprint is already in the project.
	SSHPublicKey pulumi.StringInput
	// OpenWeb opens 80 and 443 (TCP) to everyone: a domain is configured and
	// the reverse proxy serves it.
	OpenWeb bool
}

// Server is what Provision made: what the SSH deploy needs.
type Server struct {
	// IPv4 is the primary IPv4 address: it stays when the server is replaced.
	IPv4 pulumi.StringOutput
	// IPv6 is an address of the primary IPv6 /64 (its ::1), which stays too.
	IPv6 pulumi.StringOutput
	// VolumeDevice is the data volume's stable Linux device path.
	VolumeDevice pulumi.StringOutput
	// Server is the server resource; Attachment attaches the volume to it.
	// A deploy onto the server depends on both: see DependsOn.
	Server     *hcloud.Server
	Attachment *hcloud.VolumeAttachment
	// Hetzner IDs (decimal strings) of the resources.
	ServerID, VolumeID, FirewallID, SSHKeyID, PrimaryIPv4ID, PrimaryIPv6ID pulumi.IDOutput
}

// DependsOn are the resources a deploy onto the server must wait for: the
// server and its volume's attachment.
func (s *Server) DependsOn() []pulumi.Resource {
	return []pulumi.Resource{s.Server, s.Attachment}
}

// Resource names (Pulumi's logical names; Hetzner's names add the prefix).
const (
	NameSSHKey     = "ssh-key"
	NamePrimaryV4  = "primary-ipv4"
	NamePrimaryV6  = "primary-ipv6"
	NameFirewall   = "firewall"
	NameServer     = "server"
	NameVolume     = "data-volume"
	NameAttachment = "data-volume-attachment"
)

// DevicePath is the Linux device path of the Hetzner volume with that ID.
func DevicePath(volumeID int) string {
	return "/dev/disk/by-id/scsi-0HC_Volume_" + strconv.Itoa(volumeID)
}

// Provision registers the stack's Hetzner resources. cfg must have been
// loaded by stacks.LoadConfig without error (target hetzner), and the API
// token be set (CheckToken; a program may call it earlier, before
// registering anything else).
func Provision(ctx *pulumi.Context, cfg stacks.Config, in Inputs, opts ...pulumi.ResourceOption) (*Server, error) {
	if err := check(cfg, in); err != nil {
		return nil, err
	}
	if err := CheckToken(ctx); err != nil {
		return nil, err
	}
	p := &provisioner{ctx: ctx, h: cfg.Hetzner, in: in, name: HetznerName(cfg.Stack), opts: opts,
		labels: pulumi.StringMap{
			"managed-by": pulumi.String("pulumi"),
			"app":        pulumi.String("temporal-kit"),
			"stack":      pulumi.String(labelValue(cfg.Stack)),
		}}

	r, err := p.parts()
	if err != nil {
		return nil, err
	}
	volumeID := IntID("volume", r.vol.ID())
	device := volumeID.ApplyT(DevicePath).(pulumi.StringOutput)
	server, err := p.server(device, r.key, r.fw, r.ipv4, r.ipv6)
	if err != nil {
		return nil, err
	}
	att, err := p.attach(server, volumeID)
	if err != nil {
		return nil, err
	}

	return &Server{
		IPv4:          r.ipv4.IpAddress,
		IPv6:          r.ipv6.IpAddress,
		VolumeDevice:  device,
		Server:        server,
		Attachment:    att,
		ServerID:      server.ID(),
		VolumeID:      r.vol.ID(),
		FirewallID:    r.fw.ID(),
		SSHKeyID:      r.key.ID(),
		PrimaryIPv4ID: r.ipv4.ID(),
		PrimaryIPv6ID: r.ipv6.ID(),
	}, nil
}

// serverParts are the resources a server is made with; each outlives a
// replaced server.
type serverParts struct {
	key        *hcloud.SshKey
	ipv4, ipv6 *hcloud.PrimaryIp
	fw         *hcloud.Firewall
	vol        *hcloud.Volume
}

func (p *provisioner) parts() (r serverParts, err error) {
	if r.key, err = p.sshKey(); err != nil {
		return r, err
	}
	if r.ipv4, err = p.primaryIP(NamePrimaryV4, "ipv4"); err != nil {
		return r, err
	}
	if r.ipv6, err = p.primaryIP(NamePrimaryV6, "ipv6"); err != nil {
		return r, err
	}
	if r.fw, err = p.firewall(); err != nil {
		return r, err
	}
	r.vol, err = p.volume()
	return r, err
}

// provisioner holds what every resource of one Provision call shares: the
// Hetzner name prefix, the labels and the caller's resource options.
type provisioner struct {
	ctx    *pulumi.Context
	h      stacks.Hetzner
	in     Inputs
	name   string
	labels pulumi.StringMap
	opts   []pulumi.ResourceOption
}

// with is the caller's options plus more, without touching the caller's slice.
func (p *provisioner) with(more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append(slices.Clone(p.opts), more...)
}

// sshKey uploads the operator's key. A changed key replaces the server; the
// old key's Hetzner name must be free before the new one is made.
func (p *provisioner) sshKey() (*hcloud.SshKey, error) {
	return hcloud.NewSshKey(p.ctx, NameSSHKey, &hcloud.SshKeyArgs{
		Name:      pulumi.String(p.name),
		PublicKey: p.in.SSHPublicKey,
		Labels:    p.labels,
	}, p.with(pulumi.DeleteBeforeReplace(true))...)
}

// primaryIP makes a primary IP apart from the server, so that it outlives
// it: DNS records and the operators' known_hosts keep working after a
// replacement. Protected like the server (an IPv4 given back is gone for
// good).
func (p *provisioner) primaryIP(resName, typ string) (*hcloud.PrimaryIp, error) {
	return hcloud.NewPrimaryIp(p.ctx, resName, &hcloud.PrimaryIpArgs{
		Name:             pulumi.String(p.name + "-" + typ),
		Type:             pulumi.String(typ),
		Location:         pulumi.String(p.h.Location),
		AssigneeType:     pulumi.String("server"),
		AutoDelete:       pulumi.Bool(false),
		DeleteProtection: pulumi.Bool(true),
		Labels:           p.labels,
	}, p.with()...)
}

func (p *provisioner) firewall() (*hcloud.Firewall, error) {
	return hcloud.NewFirewall(p.ctx, NameFirewall, &hcloud.FirewallArgs{
		Name:   pulumi.String(p.name),
		Rules:  firewallRules(FirewallRules(p.h.AdminCIDRs, p.in.OpenWeb)),
		Labels: p.labels,
	}, p.with()...)
}

// volume makes the data volume. It exists before the server, so cloud-init
// knows its device path; it is attached once the server exists (attach).
func (p *provisioner) volume() (*hcloud.Volume, error) {
	return hcloud.NewVolume(p.ctx, NameVolume, &hcloud.VolumeArgs{
		Name:             pulumi.String(p.name + "-data"),
		Size:             pulumi.Int(p.h.VolumeSizeGB),
		Location:         pulumi.String(p.h.Location),
		Format:           pulumi.String("ext4"),
		Automount:        pulumi.Bool(false), // cloud-init mounts it by its device path
		DeleteProtection: pulumi.Bool(true),
		Labels:           p.labels,
	}, p.with()...)
}

func (p *provisioner) server(device pulumi.StringOutput, key *hcloud.SshKey, fw *hcloud.Firewall,
	ipv4, ipv6 *hcloud.PrimaryIp) (*hcloud.Server, error) {
	return hcloud.NewServer(p.ctx, NameServer, &hcloud.ServerArgs{
		Name:       pulumi.String(p.name),
		ServerType: pulumi.String(p.h.ServerType),
		Image:      pulumi.String(p.h.Image),
		Location:   pulumi.String(p.h.Location),
		// Secret in state and in the plan: it holds the host private key.
		UserData:    pulumi.ToSecret(p.in.UserData(device).ToStringOutput()).(pulumi.StringOutput),
		SshKeys:     pulumi.StringArray{key.ID().ToStringOutput()},
		FirewallIds: pulumi.IntArray{IntID("firewall", fw.ID())},
		PublicNets: hcloud.ServerPublicNetArray{hcloud.ServerPublicNetArgs{
			Ipv4Enabled: pulumi.Bool(true),
			Ipv4:        IntID("primary IPv4", ipv4.ID()),
			Ipv6Enabled: pulumi.Bool(true),
			Ipv6:        IntID("primary IPv6", ipv6.ID()),
		}},
		Backups: pulumi.Bool(p.h.Backups),
		// Hetzner wants both protections equal.
		DeleteProtection:       pulumi.Bool(true),
		RebuildProtection:      pulumi.Bool(true),
		ShutdownBeforeDeletion: pulumi.Bool(true),
		Labels:                 p.labels,
	}, p.with(
		// The primary IPs can be assigned to one server at a time: the old
		// server goes before its replacement comes.
		pulumi.DeleteBeforeReplace(true),
		pulumi.AdditionalSecretOutputs([]string{"userData"}),
	)...)
}

func (p *provisioner) attach(server *hcloud.Server, volumeID pulumi.IntOutput) (*hcloud.VolumeAttachment, error) {
	return hcloud.NewVolumeAttachment(p.ctx, NameAttachment, &hcloud.VolumeAttachmentArgs{
		ServerId:  IntID("server", server.ID()),
		VolumeId:  volumeID,
		Automount: pulumi.Bool(false),
	}, p.with()...)
}

// check guards against a config that did not come through stacks.LoadConfig.
func check(cfg stacks.Config, in Inputs) error {
	var problems []string
	if cfg.Target != stacks.TargetHetzner {
		problems = append(problems, fmt.Sprintf("target is %q, not %q", cfg.Target, stacks.TargetHetzner))
	}
	if len(cfg.Hetzner.AdminCIDRs) == 0 {
		problems = append(problems, "no admin CIDRs (temporal-kit:adminCidrs)")
	}
	if in.UserData == nil {
		problems = append(problems, "no cloud-init user-data")
	}
	if in.SSHPublicKey == nil {
		problems = append(problems, "no SSH public key")
	}
	if len(problems) > 0 {
		return errors.New("hetzner.Provision: " + strings.Join(problems, "; ") + " (load the config with stacks.LoadConfig)")
	}
	return nil
}

// IntID converts a Hetzner resource ID to the integer that some arguments
// take: Pulumi IDs are strings, while pulumi-hcloud's firewallIds,
// publicNets, serverId and volumeId are ints (pulumi-hcloud issue 52).
// The one place such a conversion happens; kind names the resource in the
// error.
func IntID(kind string, id pulumi.IDOutput) pulumi.IntOutput {
	return id.ApplyT(func(id pulumi.ID) (int, error) { return ParseID(kind, string(id)) }).(pulumi.IntOutput)
}

// ParseID is IntID's conversion of one ID.
func ParseID(kind, id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("hetzner %s ID %q is not a positive integer: the hcloud provider returns Hetzner's numeric IDs as strings "+
			"(pulumi-hcloud issue 52) and this one cannot be passed where an integer ID is wanted; "+
			"check the resource in the state with `pulumi stack export`", kind, id)
	}
	return n, nil
}

// HetznerName is the name of the stack's Hetzner resources: a valid host
// name (RFC 1123 label), unique per stack.
func HetznerName(stack string) string {
	s := strings.Trim(invalidName.ReplaceAllString(strings.ToLower("temporal-kit-"+stack), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

var invalidName = regexp.MustCompile(`[^a-z0-9-]+`)

// labelValue makes a stack name a valid Hetzner label value.
func labelValue(s string) string {
	s = strings.Trim(invalidLabel.ReplaceAllString(s, "-"), "-_.")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-_.")
	}
	return s
}

var invalidLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
