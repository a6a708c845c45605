package infra_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

const proxyFromConfig = "proxy-pw-from-config-Kv3"

// proxyRun is a mocked `pulumi up` that also resolves the proxy password output.
type proxyRun struct {
	run
	password       string
	passwordSecret bool
}

func deployProxy(t *testing.T, cfg map[string]string, secret ...string) proxyRun {
	t.Helper()
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg, secret...)
	var mu sync.Mutex
	r := proxyRun{run: run{m: m}}
	r.err = infratest.Run("prod", m, func(ctx *pulumi.Context) error {
		out, err := infra.Deploy(ctx, infra.Options{Root: workerRoot(t)})
		if err != nil {
			return err
		}
		r.out = out
		out.Export(ctx)
		if out.ProxyURL != "" {
			r.passwordSecret = pulumi.IsSecret(out.ProxyPassword)
			// Exported, so Run waits for the apply before it returns.
			ctx.Export("testProxyPassword", out.ProxyPassword.ApplyT(func(v string) string { mu.Lock(); r.password = v; mu.Unlock(); return v }))
		}
		return nil
	})
	return r
}

var proxyCfg = map[string]string{"domain": "kit.example.com", "acmeEmail": "ops@example.com"}

func TestProxyDeploysWithAGeneratedPassword(t *testing.T) {
	r := deployProxy(t, proxyCfg)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(infratest.TypeRandomPassword, stacks.SecretProxyPassword); !ok {
		t.Error("no generated proxy password")
	}
	// The proxy is the one container on every interface; the rest stay on loopback.
	for name, c := range r.m.Of(C) {
		p, ok := c.Inputs["ports"]
		if !ok {
			continue
		}
		for _, port := range p.ArrayValue() {
			o := port.ObjectValue()
			ip, ext := o["ip"].StringValue(), o["external"].NumberValue()
			switch {
			case name == stacks.ServiceProxy && (ext == 80 || ext == 443) && ip == "0.0.0.0":
			case name != stacks.ServiceProxy && ip == "127.0.0.1":
			default:
				t.Errorf("%s: port %v published on %s", name, ext, ip)
			}
		}
	}
	proxy, ok := r.m.Find(C, stacks.ServiceProxy)
	if !ok {
		t.Fatal("no proxy container")
	}
	// The Caddyfile goes up in plain text (a secret-free, stable file); the
	// password only through its job, as a secret.
	var caddyfile string
	for _, u := range proxy.Inputs["uploads"].ArrayValue() {
		o := u.ObjectValue()
		if o["file"].StringValue() == stacks.CaddyfilePath {
			if o["content"].IsSecret() {
				t.Error("the Caddyfile is uploaded as a secret: every diff would hide it")
			}
			caddyfile = o["content"].StringValue()
		}
	}
	if !strings.Contains(caddyfile, "kit.example.com {") || strings.Contains(caddyfile, infratest.Generated(stacks.SecretProxyPassword)) {
		t.Errorf("Caddyfile:\n%s", caddyfile)
	}
	job, ok := r.m.Find(C, stacks.SecretsJob(stacks.ServiceProxy))
	if !ok {
		t.Fatal("no secrets-proxy job")
	}
	for _, u := range job.Inputs["uploads"].ArrayValue() {
		if c := u.ObjectValue()["content"]; !c.IsSecret() || c.SecretValue().Element.StringValue() != infratest.Generated(stacks.SecretProxyPassword) {
			t.Errorf("the job uploads %v, want the generated password as a secret", c)
		}
	}
	for _, res := range r.m.Resources() {
		plain, _ := infratest.Strings(resource.NewProperty(res.Inputs))
		for _, p := range plain {
			if strings.Contains(p, infratest.Generated(stacks.SecretProxyPassword)) {
				t.Errorf("%s: plain input %q holds the proxy password", res.Key(), p)
			}
		}
	}
	// Outputs: the public URL, the user, and the password as a secret.
	if r.out.ProxyURL != "https://kit.example.com/" || r.out.ProxyUser != "admin" {
		t.Errorf("proxy outputs %q %q", r.out.ProxyURL, r.out.ProxyUser)
	}
	if !r.passwordSecret || r.password != infratest.Generated(stacks.SecretProxyPassword) {
		t.Errorf("proxyPassword output: secret=%v value=%q", r.passwordSecret, r.password)
	}
	if !strings.Contains(r.out.HowToReach, "https://kit.example.com/") || strings.Contains(r.out.HowToReach, r.password) {
		t.Errorf("howToReach:\n%s", r.out.HowToReach)
	}
}

func TestProxyPasswordFromSecretConfig(t *testing.T) {
	cfg := map[string]string{"proxyPassword": proxyFromConfig}
	for k, v := range proxyCfg {
		cfg[k] = v
	}
	r := deployProxy(t, cfg, "proxyPassword")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(infratest.TypeRandomPassword, stacks.SecretProxyPassword); ok {
		t.Error("a proxy password is generated although the config sets one")
	}
	if !r.passwordSecret || r.password != proxyFromConfig {
		t.Errorf("proxyPassword output: secret=%v value=%q", r.passwordSecret, r.password)
	}
	// Set without --secret: refused, naming the key.
	r = deployProxy(t, cfg)
	if r.err == nil || !strings.Contains(r.err.Error(), "temporal-kit:proxyPassword: is stored in plain text") {
		t.Errorf("a plain-text proxyPassword must be refused, got %v", r.err)
	}
}

func TestNoProxyWithoutADomain(t *testing.T) {
	r := deployProxy(t, map[string]string{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(C, stacks.ServiceProxy); ok {
		t.Error("a proxy container without a domain")
	}
	if r.out.ProxyURL != "" || strings.Contains(r.out.HowToReach, "https://") {
		t.Errorf("proxy outputs without a domain: %q\n%s", r.out.ProxyURL, r.out.HowToReach)
	}
}

// A config error of the proxy stops the program before any resource exists.
func TestProxyConfigErrorsStopBeforeAnyResource(t *testing.T) {
	r := deployProxy(t, map[string]string{"domain": "kit.example.com", "proxyTLS": "letsencrypt", "proxyUser": "a b"})
	if r.err == nil {
		t.Fatal("no error")
	}
	for _, k := range []string{"temporal-kit:acmeEmail:", "temporal-kit:proxyTLS:", "temporal-kit:proxyUser:"} {
		if !strings.Contains(r.err.Error(), k) {
			t.Errorf("error does not name %s:\n%v", k, r.err)
		}
	}
	if n := len(r.m.Resources()); n != 0 {
		t.Errorf("%d resources registered despite the config error", n)
	}
}

// The official catalog builds the proxy image (Caddy with the kit's login
// ban) from infra/proxy/Dockerfile, and the proxy container joins its own
// network only, never backend.
func TestProxyImageAndNetwork(t *testing.T) {
	r := deployProxy(t, proxyCfg)
	if r.err != nil {
		t.Fatal(r.err)
	}
	img, ok := r.m.Find(infratest.TypeImage, "image-proxy")
	if !ok {
		t.Fatal("the proxy image is not built")
	}
	if got := img.Inputs["build"].ObjectValue()["dockerfile"].StringValue(); !strings.HasSuffix(got, infra.ProxyDockerfile) {
		t.Errorf("proxy Dockerfile = %q, want %s", got, infra.ProxyDockerfile)
	}
	proxy, _ := r.m.Find(C, stacks.ServiceProxy)
	var nets []string
	for _, n := range proxy.Inputs["networksAdvanced"].ArrayValue() {
		nets = append(nets, n.ObjectValue()["name"].StringValue())
	}
	if want := "temporal-kit-prod-" + stacks.NetworkProxy; len(nets) != 1 || nets[0] != want {
		t.Errorf("proxy networks %v, want [%s]", nets, want)
	}
}
