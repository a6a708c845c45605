package infra_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/hetzner"
	"github.com/ampledata/temporal-kit/infra/hostkey"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/infra/sshdeploy"
)

// prodConfig is a complete target hetzner config, its deploy key generated.
func prodConfig(t *testing.T) (cfg map[string]string, secret []string, private string) {
	t.Helper()
	private, _ = newKey(t, "")
	t.Setenv(sshdeploy.DirEnv, t.TempDir())
	cfg = map[string]string{
		"target":         "hetzner",
		"adminCidrs":     `["203.0.113.7/32"]`,
		"sshPrivateKey":  private,
		hetzner.TokenKey: strings.Repeat("x", 64),
	}
	return cfg, []string{"sshPrivateKey", hetzner.TokenKey}, private
}

// The prod stack: the Hetzner server, then the same Definition rendered
// through a docker provider over SSH to that server, trusting only the
// host key the stack generated and cloud-init installed.
func TestHetznerTargetProvisionsThenDeploysOverSSH(t *testing.T) {
	cfg, secret, private := prodConfig(t)
	r := deploy(t, "prod", cfg, secret, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}

	// The resource list, by type: printed for the operator's review.
	count := map[string][]string{}
	for _, res := range r.m.Resources() {
		count[res.Type] = append(count[res.Type], res.Name)
	}
	types := make([]string, 0, len(count))
	for typ := range count {
		types = append(types, typ)
	}
	sort.Strings(types)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tCOUNT\tNAMES")
	for _, typ := range types {
		names := count[typ]
		sort.Strings(names)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", typ, len(names), strings.Join(names, " "))
	}
	tw.Flush()
	t.Logf("prod resources (%d):\n%s", len(r.m.Resources()), b.String())
	for typ, want := range map[string]int{
		infratest.TypeHcloudServer: 1, infratest.TypeHcloudVolume: 1, infratest.TypeHcloudVolumeAttachment: 1,
		infratest.TypeHcloudSSHKey: 1, infratest.TypeHcloudPrimaryIP: 2, infratest.TypeHcloudFirewall: 1,
		infratest.TypeRandomBytes: 2, infratest.TypeDockerProvider: 1, infratest.TypeContainer: 22,
	} {
		if got := len(count[typ]); got != want {
			t.Errorf("%d %s, want %d", got, typ, want)
		}
	}

	// The provider reaches the provisioned server's primary IPv4.
	prov, ok := r.m.Find(infratest.TypeDockerProvider, infra.SSHResource)
	if !ok {
		t.Fatal("no ssh docker provider")
	}
	if got, want := prov.Inputs["host"].StringValue(), "ssh://deploy@"+infratest.MockIPv4+":22"; got != want {
		t.Errorf("provider host %q, want %q", got, want)
	}

	// The pinned key is the generated rotated one; cloud-init installs the
	// bootstrap key (TestHetznerTargetRotatesTheHostKeyFromTheUserData).
	pair, rotated := generatedHostKeys(t)
	files, err := sshdeploy.StackFiles("temporal-kit", "prod")
	if err != nil {
		t.Fatal(err)
	}
	requireTrusts(t, files.KnownHosts, infratest.MockIPv4+":22", rotated.Public)
	server, _ := r.m.Find(infratest.TypeHcloudServer, hetzner.NameServer)
	ud := server.Inputs["userData"]
	if !ud.IsSecret() {
		t.Fatal("user-data (it holds the host private key) is not secret")
	}
	userData := ud.SecretValue().Element.StringValue()
	for _, want := range []string{"#cloud-config", "ed25519_public: " + pair.Public, "deploy", "scsi-0HC_Volume_"} {
		if !strings.Contains(userData, want) {
			t.Errorf("user-data lacks %q", want)
		}
	}
	if !strings.Contains(userData, strings.Split(pair.Private, "\n")[1]) {
		t.Error("user-data does not install the generated host private key")
	}
	pub, err := sshdeploy.PublicKeyOf(private)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(userData, pub) {
		t.Error("user-data does not authorize the deploy key")
	}
	key, _ := r.m.Find(infratest.TypeHcloudSSHKey, hetzner.NameSSHKey)
	if got := key.Inputs["publicKey"].StringValue(); got != pub {
		t.Errorf("hcloud ssh key %q, want the deploy key's public half %q", got, pub)
	}

	// Secrets: no private key, token or host key in any plain input.
	hostPriv := strings.Split(pair.Private, "\n")[1]
	deployPriv := strings.Split(private, "\n")[1]
	for _, res := range r.m.Resources() {
		plain, _ := infratest.Strings(resource.NewObjectProperty(res.Inputs))
		for _, p := range plain {
			for what, s := range map[string]string{"host private key": hostPriv, "rotated host private key": privateLine(rotated), "deploy private key": deployPriv, "hcloud token": cfg[hetzner.TokenKey]} {
				if strings.Contains(p, s) {
					t.Errorf("%s holds the %s in plain text", res.Key(), what)
				}
			}
		}
	}

	// Every docker resource goes through the ssh provider and waits for the
	// server to be ready; the wait follows the server and its volume.
	ready, ok := r.m.Find(infratest.TypeCommand, infra.SSHResource+"-ready")
	if !ok {
		t.Fatal("no wait for the server")
	}
	attach, _ := r.m.Find(infratest.TypeHcloudVolumeAttachment, hetzner.NameAttachment)
	if !slices.Contains(ready.Deps, server.URN) || !slices.Contains(ready.Deps, attach.URN) {
		t.Errorf("the wait for the server does not follow the server and the volume attachment: %v", ready.Deps)
	}
	for _, res := range r.m.Resources() {
		if !strings.HasPrefix(res.Type, "docker:") {
			continue
		}
		if !strings.Contains(res.Provider, infra.SSHResource) {
			t.Errorf("%s is deployed by provider %q, not the ssh one", res.Key(), res.Provider)
		}
	}

	// Nothing but the server's loopback: every published port binds 127.0.0.1.
	for name, c := range r.m.Of(infratest.TypeContainer) {
		ports := c.Inputs["ports"]
		if !ports.IsArray() {
			continue
		}
		for _, p := range ports.ArrayValue() {
			if ip := p.ObjectValue()["ip"].StringValue(); ip != "127.0.0.1" {
				t.Errorf("%s publishes port %v on %q, want 127.0.0.1", name, p.ObjectValue()["external"], ip)
			}
		}
	}
	if r.out.ServerIPv4 == nil || r.out.SSHTunnel == nil {
		t.Error("no serverIpv4 or sshTunnel output")
	}
	if !strings.HasPrefix(r.out.HowToReach, "Over SSH: run the command `pulumi stack output sshTunnel` prints") {
		t.Errorf("howToReach does not start with the tunnel:\n%s", r.out.HowToReach)
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pair.Public)); err != nil {
		t.Errorf("generated host key: %v", err)
	}
}

// generatedHostKeys are the bootstrap and rotated host keys the mock
// random provider's seeds give.
func generatedHostKeys(t *testing.T) (bootstrap, rotated hostkey.Pair) {
	t.Helper()
	bootstrap, err := hostkey.FromSeed(mustBase64(t, infratest.GeneratedBytes(infra.HostKeyResource)))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err = hostkey.FromSeed(mustBase64(t, infratest.GeneratedBytes(infra.HostKeyRotatedResource)))
	if err != nil {
		t.Fatal(err)
	}
	return bootstrap, rotated
}

// privateLine is a line of the key's base64 body: what would show if the
// private key leaked.
func privateLine(p hostkey.Pair) string { return strings.Split(p.Private, "\n")[2] }

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With a domain the proxy serves it: the firewall opens 80 and 443, and the
// proxy is the one container published beyond the server's loopback.
func TestHetznerTargetWithADomainOpensTheWebToTheProxyOnly(t *testing.T) {
	cfg, secret, _ := prodConfig(t)
	cfg["domain"] = "temporal.example.com"
	cfg["acmeEmail"] = "ops@example.com"
	r := deploy(t, "prod", cfg, secret, nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	fw, ok := r.m.Find(infratest.TypeHcloudFirewall, hetzner.NameFirewall)
	if !ok {
		t.Fatal("no firewall")
	}
	open := map[string]bool{}
	for _, rule := range fw.Inputs["rules"].ArrayValue() {
		if p := rule.ObjectValue()["port"]; p.IsString() {
			open[p.StringValue()] = true
		}
	}
	if !open["80"] || !open["443"] || !open["22"] {
		t.Errorf("firewall ports %v, want 22, 80 and 443", open)
	}
	for name, c := range r.m.Of(infratest.TypeContainer) {
		ports := c.Inputs["ports"]
		if !ports.IsArray() {
			continue
		}
		for _, p := range ports.ArrayValue() {
			ip := p.ObjectValue()["ip"].StringValue()
			if ip != "127.0.0.1" && name != "proxy" {
				t.Errorf("%s publishes port %v on %q", name, p.ObjectValue()["external"], ip)
			}
		}
	}
	if _, ok := r.m.Find(infratest.TypeContainer, "proxy"); !ok {
		t.Error("no proxy container")
	}
}
