package infratest

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Hetzner Cloud resource types the kit registers.
const (
	TypeHcloudServer           = "hcloud:index/server:Server"
	TypeHcloudVolume           = "hcloud:index/volume:Volume"
	TypeHcloudVolumeAttachment = "hcloud:index/volumeAttachment:VolumeAttachment"
	TypeHcloudSSHKey           = "hcloud:index/sshKey:SshKey"
	TypeHcloudPrimaryIP        = "hcloud:index/primaryIp:PrimaryIp"
	TypeHcloudFirewall         = "hcloud:index/firewall:Firewall"
)

// HcloudID is the ID the mock hcloud provider gives a resource: like
// Hetzner's, a decimal integer as a string (stable per type and name).
func HcloudID(typ, name string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s %s", typ, name)
	return strconv.Itoa(1_000_000 + int(h.Sum32()%9_000_000))
}

// Mock addresses of a primary IP by type.
const (
	MockIPv4 = "198.51.100.10"
	MockIPv6 = "2001:db8:10::1"
)

// hcloudState plays the hcloud provider: a numeric ID and the computed
// outputs the kit reads. ok is false for other providers' types.
func hcloudState(args pulumi.MockResourceArgs, state resource.PropertyMap) (id string, ok bool) {
	if !strings.HasPrefix(args.TypeToken, "hcloud:") {
		return "", false
	}
	id = HcloudID(args.TypeToken, args.Name)
	switch args.TypeToken {
	case TypeHcloudPrimaryIP:
		addr, network := MockIPv4, MockIPv4+"/32"
		if args.Inputs["type"].StringValue() == "ipv6" {
			addr, network = MockIPv6, "2001:db8:10::/64"
		}
		state["ipAddress"] = resource.NewProperty(addr)
		state["ipNetwork"] = resource.NewProperty(network)
	case TypeHcloudVolume:
		state["linuxDevice"] = resource.NewProperty("/dev/disk/by-id/scsi-0HC_Volume_" + id)
	case TypeHcloudServer:
		state["ipv4Address"] = resource.NewProperty(MockIPv4)
		state["ipv6Address"] = resource.NewProperty(MockIPv6)
		state["status"] = resource.NewProperty("running")
	}
	return id, true
}
