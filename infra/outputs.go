package infra

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/render"
	"github.com/ampledata/temporal-kit/stacks"
)

// Internal is the value of an address output whose port is not published on
// the host (its host port is 0): reach it from inside the stack's network.
const Internal = "internal"

// Outputs are the stack outputs: where things are and how to reach them.
// ProxyPassword and GrafanaPassword hold secrets, as secret Outputs.
type Outputs struct {
	TemporalAddress string
	UIURL           string
	WorkerAPIURL    string
	Postgres        string
	Namespace       string
	HowToReach      string
	// ProxyURL is the public HTTPS address of the UI behind the proxy, and
	// ProxyUser and ProxyPassword its login; all empty without a domain.
	ProxyURL      string
	ProxyUser     string
	ProxyPassword pulumi.StringOutput
	// GrafanaURL is where Grafana answers (behind the proxy with a domain)
	// and GrafanaUser and GrafanaPassword its admin login; all empty when
	// the stack runs no Grafana.
	GrafanaURL      string
	GrafanaUser     string
	GrafanaPassword pulumi.StringOutput
	// Containers are the container names in start order.
	Containers pulumi.StringArrayOutput
	// Jobs tells, per one-shot job, that it completed; it fails the update when one did not.
	Jobs pulumi.StringMapOutput
	// SSHTunnel is, for a remote host, the ssh command that forwards the
	// published ports (bound to the server's 127.0.0.1) to this machine's.
	SSHTunnel pulumi.StringInput
	// ServerIPv4 and ServerIPv6 are a provisioned server's primary addresses
	// (they outlive the server): where DNS records and SSH point.
	ServerIPv4, ServerIPv6 pulumi.StringInput
}

// Export registers the outputs on the stack.
func (o *Outputs) Export(ctx *pulumi.Context) {
	ctx.Export("temporalAddress", pulumi.String(o.TemporalAddress))
	ctx.Export("uiUrl", pulumi.String(o.UIURL))
	ctx.Export("workerApiUrl", pulumi.String(o.WorkerAPIURL))
	ctx.Export("postgres", pulumi.String(o.Postgres))
	ctx.Export("namespace", pulumi.String(o.Namespace))
	ctx.Export("containers", o.Containers)
	ctx.Export("jobs", o.Jobs)
	ctx.Export("howToReach", pulumi.String(o.HowToReach))
	if o.ProxyURL != "" {
		ctx.Export("proxyUrl", pulumi.String(o.ProxyURL))
		ctx.Export("proxyUser", pulumi.String(o.ProxyUser))
		ctx.Export("proxyPassword", o.ProxyPassword)
	}
	if o.GrafanaURL != "" {
		ctx.Export("grafanaUrl", pulumi.String(o.GrafanaURL))
		ctx.Export("grafanaUser", pulumi.String(o.GrafanaUser))
		ctx.Export("grafanaPassword", o.GrafanaPassword)
	}
	if o.SSHTunnel != nil {
		ctx.Export("sshTunnel", o.SSHTunnel)
	}
	if o.ServerIPv4 != nil {
		ctx.Export("serverIpv4", o.ServerIPv4)
		ctx.Export("serverIpv6", o.ServerIPv6)
	}
}

// newOutputs collects the outputs; secrets are the Definition's resolved
// secrets (the proxy's password is read from there, still secret).
func newOutputs(cfg stacks.Config, def stacks.Definition, r *render.Rendered, secrets map[string]pulumi.StringOutput) *Outputs {
	o := &Outputs{
		TemporalAddress: published(cfg, "temporal", cfg.HostPorts.Temporal, ""),
		UIURL:           uiURL(cfg),
		WorkerAPIURL:    published(cfg, "worker", cfg.HostPorts.Worker, "http://"),
		Postgres:        postgresAddress(cfg),
		Namespace:       cfg.Namespace,
	}
	var names pulumi.StringArray
	for _, s := range r.Order {
		names = append(names, r.Containers[s].Name)
	}
	o.Containers = names.ToStringArrayOutput()
	jobs := pulumi.StringMap{}
	for j, status := range r.Jobs {
		jobs[j] = status
	}
	o.Jobs = jobs.ToStringMapOutput()
	if _, ok := def.Service(stacks.ServiceProxy); ok {
		o.ProxyURL = cfg.Proxy.URL()
		o.ProxyUser = cfg.Proxy.User
		o.ProxyPassword = pulumi.ToSecret(secrets[stacks.SecretProxyPassword]).(pulumi.StringOutput)
	}
	if _, ok := def.Service(stacks.ServiceGrafana); ok {
		o.GrafanaURL = grafanaURL(cfg)
		o.GrafanaUser = stacks.GrafanaAdminUser
		o.GrafanaPassword = pulumi.ToSecret(secrets[stacks.SecretGrafanaAdminPassword]).(pulumi.StringOutput)
	}
	o.HowToReach = howToReach(o, def)
	return o
}

// reachHost is the address a client on the host dials for a port bound to bind.
func reachHost(bind string) string {
	if ip := net.ParseIP(bind); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return bind
}

// published is the address of the host port under hostPorts key.
func published(cfg stacks.Config, key string, port int, scheme string) string {
	if port == 0 {
		return Internal
	}
	return scheme + net.JoinHostPort(reachHost(cfg.HostIP(key)), strconv.Itoa(port))
}

// uiURL uses localhost on the loopback: the UI's CORS origin (stacks) names it.
func uiURL(cfg stacks.Config) string {
	if cfg.HostPorts.UI == 0 {
		return Internal
	}
	if h := reachHost(cfg.HostIP("ui")); h != "127.0.0.1" {
		return "http://" + net.JoinHostPort(h, strconv.Itoa(cfg.HostPorts.UI))
	}
	return "http://localhost:" + strconv.Itoa(cfg.HostPorts.UI)
}

// grafanaURL is Grafana behind the proxy with a domain, else its published port.
func grafanaURL(cfg stacks.Config) string {
	if cfg.Proxy.Enabled() {
		return cfg.Proxy.URL() + strings.TrimPrefix(stacks.GrafanaPath, "/")
	}
	if cfg.HostPorts.Grafana == 0 {
		return Internal
	}
	if h := reachHost(cfg.HostIP("grafana")); h != "127.0.0.1" {
		return "http://" + net.JoinHostPort(h, strconv.Itoa(cfg.HostPorts.Grafana)) + "/"
	}
	return "http://localhost:" + strconv.Itoa(cfg.HostPorts.Grafana) + "/"
}

func postgresAddress(cfg stacks.Config) string {
	if cfg.Postgres.Existing {
		return net.JoinHostPort(cfg.Postgres.Host, strconv.Itoa(cfg.Postgres.Port))
	}
	return published(cfg, "postgres", cfg.HostPorts.Postgres, "")
}

func howToReach(o *Outputs, def stacks.Definition) string {
	var b strings.Builder
	if o.ProxyURL != "" {
		fmt.Fprintf(&b, "Temporal UI (public, HTTPS and basic auth): %s (user %s; password: pulumi stack output proxyPassword --show-secrets)\n", o.ProxyURL, o.ProxyUser)
	}
	if o.UIURL != Internal {
		fmt.Fprintf(&b, "Temporal UI: %s\n", o.UIURL)
	} else {
		fmt.Fprintf(&b, "Temporal UI: not published (hostPorts.ui is 0)\n")
	}
	if o.TemporalAddress != Internal {
		fmt.Fprintf(&b, "Temporal CLI: temporal --address %s workflow list -n %s\n", o.TemporalAddress, o.Namespace)
	} else {
		fmt.Fprintf(&b, "Temporal CLI: not published (hostPorts.temporal is 0); use the admin tools below\n")
	}
	switch {
	case o.GrafanaURL == "":
		fmt.Fprintf(&b, "Grafana: not running (no Grafana image in the catalog); Prometheus' UI shows graphs and alerts\n")
	case o.GrafanaURL != Internal:
		fmt.Fprintf(&b, "Grafana: %s (user %s; password: pulumi stack output grafanaPassword --show-secrets)\n", o.GrafanaURL, o.GrafanaUser)
	default:
		fmt.Fprintf(&b, "Grafana: not published (hostPorts.grafana is 0)\n")
	}
	if o.WorkerAPIURL != Internal {
		fmt.Fprintf(&b, "Worker job API: %s (POST /jobs, GET /jobs/{id})\n", o.WorkerAPIURL)
	}
	if _, ok := def.Service(stacks.ServiceAdminTools); ok {
		fmt.Fprintf(&b, "Admin tools: docker exec -it %s temporal workflow list -n %s\n", def.ContainerName(stacks.ServiceAdminTools), o.Namespace)
	}
	if _, ok := def.Service(stacks.ServicePostgres); ok {
		fmt.Fprintf(&b, "PostgreSQL: %s (psql: docker exec -it %s psql -U %s)\n", o.Postgres, def.ContainerName(stacks.ServicePostgres), postgresUser(def))
	} else {
		fmt.Fprintf(&b, "PostgreSQL: %s (existing server)\n", o.Postgres)
	}
	return strings.TrimRight(b.String(), "\n")
}

// postgresUser reads the user from the Definition so the hint matches the container.
func postgresUser(def stacks.Definition) string {
	svc, _ := def.Service(stacks.ServicePostgres)
	return svc.PlainEnv()["POSTGRES_USER"]
}
