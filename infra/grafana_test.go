package infra_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra"
	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

type grafanaRun struct {
	run
	password       string
	passwordSecret bool
}

func deployGrafana(t *testing.T, stack string, cfg map[string]string) grafanaRun {
	t.Helper()
	m := infratest.NewMocks()
	infratest.SetConfig(t, cfg)
	var mu sync.Mutex
	r := grafanaRun{run: run{m: m}}
	r.err = infratest.Run(stack, m, func(ctx *pulumi.Context) error {
		out, err := infra.Deploy(ctx, infra.Options{Root: workerRoot(t)})
		if err != nil {
			return err
		}
		r.out = out
		out.Export(ctx)
		if out.GrafanaURL != "" {
			r.passwordSecret = pulumi.IsSecret(out.GrafanaPassword)
			// Exported so that the run waits for the callback.
			ctx.Export("testGrafanaPasswordSeen", out.GrafanaPassword.ApplyT(func(v string) string { mu.Lock(); r.password = v; mu.Unlock(); return v }))
		}
		return nil
	})
	return r
}

// The official catalog runs Grafana: its address, user and generated
// password (a secret output) are outputs; howToReach says where it is.
func TestGrafanaOutputs(t *testing.T) {
	r := deployGrafana(t, "dev", map[string]string{})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(C, stacks.ServiceGrafana); !ok {
		t.Fatal("no grafana container")
	}
	if _, ok := r.m.Find(infratest.TypeRandomPassword, stacks.SecretGrafanaAdminPassword); !ok {
		t.Error("no generated Grafana admin password")
	}
	if r.out.GrafanaURL != "http://localhost:3000/" || r.out.GrafanaUser != "admin" {
		t.Errorf("grafana outputs %q %q", r.out.GrafanaURL, r.out.GrafanaUser)
	}
	if !r.passwordSecret || r.password != infratest.Generated(stacks.SecretGrafanaAdminPassword) {
		t.Errorf("grafanaPassword output: secret=%v value=%q", r.passwordSecret, r.password)
	}
	if !strings.Contains(r.out.HowToReach, "Grafana: http://localhost:3000/ (user admin; password: pulumi stack output grafanaPassword --show-secrets)") ||
		strings.Contains(r.out.HowToReach, r.password) {
		t.Errorf("howToReach:\n%s", r.out.HowToReach)
	}

	// Behind the proxy with a domain.
	r = deployGrafana(t, "prod", proxyCfg)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.out.GrafanaURL != "https://kit.example.com/grafana/" {
		t.Errorf("grafanaUrl behind the proxy %q", r.out.GrafanaURL)
	}
}

// The local catalog has no Grafana: no container, no outputs, and
// howToReach says so (the program also logs the Definition's note).
func TestNoGrafanaInTheLocalCatalog(t *testing.T) {
	r := deployGrafana(t, "dev", map[string]string{"imageCatalog": stacks.CatalogLocal})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.m.Find(C, stacks.ServiceGrafana); ok {
		t.Error("a grafana container without a Grafana image")
	}
	if r.out.GrafanaURL != "" || !strings.Contains(r.out.HowToReach, "Grafana: not running") {
		t.Errorf("grafanaUrl %q, howToReach:\n%s", r.out.GrafanaURL, r.out.HowToReach)
	}
}
