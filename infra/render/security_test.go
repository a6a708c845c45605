package render_test

import (
	"slices"
	"testing"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// Every container carries the Definition's capabilities and
// no-new-privileges, spelled as the engine stores them (what a refresh
// reads back), so a second `up` sees no change.
func TestContainersDropPrivileges(t *testing.T) {
	def := stacktest.Definition(t, "dev", nil)
	m, err := renderUnderMocks(t, def)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range def.Services {
		t.Run(svc.Name, func(t *testing.T) {
			c, ok := m.Find(infratest.TypeContainer, svc.Name)
			if !ok {
				t.Fatal("not registered")
			}
			caps, ok := c.Inputs["capabilities"]
			if !ok {
				t.Fatal("no capabilities: the container keeps Docker's default set")
			}
			o := caps.ObjectValue()
			if got := strs(o["drops"]); !slices.Equal(got, []string{"ALL"}) {
				t.Errorf("drops = %v, want [ALL]", got)
			}
			if got := strs(o["adds"]); !slices.Equal(got, svc.CapAdd) {
				t.Errorf("adds = %v, want %v", got, svc.CapAdd)
			}
			if got := strs(c.Inputs["securityOpts"]); !slices.Equal(got, []string{"no-new-privileges"}) {
				t.Errorf("securityOpts = %v, want [no-new-privileges]", got)
			}
		})
	}
	pg, _ := m.Find(infratest.TypeContainer, stacks.ServicePostgres)
	if adds := strs(pg.Inputs["capabilities"].ObjectValue()["adds"]); !slices.Contains(adds, "CAP_SETUID") {
		t.Errorf("postgresql must get CAP_SETUID back to become the postgres user, got %v", adds)
	}
}
