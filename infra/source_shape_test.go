package infra

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/infra/infratest"
	"github.com/ampledata/temporal-kit/stacks"
)

// The loader sees a secret's shape through the Pulumi source, so a proxy
// password bcrypt would cut is refused at `pulumi up`, while its value
// never reaches the loader.
func TestLongProxyPasswordRefusedThroughPulumiConfig(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{{strings.Repeat("s", 72), true}, {strings.Repeat("s", 73), false}, {"line one\nline two", false}} {
		infratest.SetConfig(t, map[string]string{"domain": "kit.example.com", "acmeEmail": "ops@example.com", "proxyPassword": tc.pw}, "proxyPassword")
		var loadErr error
		var seen string
		err := infratest.Run("prod", infratest.NewMocks(), func(ctx *pulumi.Context) error {
			src := newConfigSource(ctx)
			seen, _ = src.Get("proxyPassword")
			_, loadErr = stacks.LoadConfig("prod", src)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(seen, "s") || strings.Contains(seen, "line") || len(seen) != len(tc.pw) {
			t.Errorf("the loader saw %q for a %d-byte password: the value, or not its shape", seen, len(tc.pw))
		}
		if tc.ok != (loadErr == nil) || (loadErr != nil && !strings.Contains(loadErr.Error(), "proxyPassword")) {
			t.Errorf("%d-byte password: %v", len(tc.pw), loadErr)
		}
	}
}
