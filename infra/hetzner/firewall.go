package hetzner

import (
	"strconv"

	"github.com/pulumi/pulumi-hcloud/sdk/go/hcloud"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Rule is one inbound firewall rule. Hetzner firewalls are stateful and
// allow all outbound traffic when no outbound rule exists (apt, ACME, image
// pulls), so the kit lists inbound rules only; anything not listed is dropped.
type Rule struct {
	Direction   string // "in"
	Protocol    string // "tcp", "icmp"
	Port        string // "" for icmp
	Sources     []string
	Description string
}

// FirewallRules are the server's inbound rules: SSH and ICMP (ping, for
// diagnosis) from the admin CIDRs only; with openWeb, HTTP and HTTPS (TCP)
// from anywhere for the reverse proxy. Nothing else.
func FirewallRules(adminCIDRs []string, openWeb bool) []Rule {
	admin := append([]string(nil), adminCIDRs...)
	rules := []Rule{
		{Direction: "in", Protocol: "tcp", Port: strconv.Itoa(SSHPort), Sources: admin, Description: "ssh from the admin CIDRs"},
		{Direction: "in", Protocol: "icmp", Sources: admin, Description: "ping from the admin CIDRs"},
	}
	if openWeb {
		for _, p := range WebPorts {
			rules = append(rules, Rule{Direction: "in", Protocol: "tcp", Port: strconv.Itoa(p),
				Sources: append([]string(nil), Anywhere...), Description: "reverse proxy (domain configured)"})
		}
	}
	return rules
}

func firewallRules(rules []Rule) hcloud.FirewallRuleArray {
	var out hcloud.FirewallRuleArray
	for _, r := range rules {
		arg := hcloud.FirewallRuleArgs{
			Direction:   pulumi.String(r.Direction),
			Protocol:    pulumi.String(r.Protocol),
			SourceIps:   pulumi.ToStringArray(r.Sources),
			Description: pulumi.String(r.Description),
		}
		if r.Port != "" {
			arg.Port = pulumi.String(r.Port)
		}
		out = append(out, arg)
	}
	return out
}
