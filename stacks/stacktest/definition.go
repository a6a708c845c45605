package stacktest

import (
	"fmt"
	"maps"
	"testing"

	"github.com/ampledata/temporal-kit/stacks"
)

// Build loads cfg as the config of stack, as `pulumi config set` would hold
// it, and builds its Definition.
func Build(stack string, cfg map[string]string) (stacks.Definition, error) {
	c, err := stacks.LoadConfig(stack, stacks.MapSource(cfg))
	if err != nil {
		return stacks.Definition{}, fmt.Errorf("%s config: %w", stack, err)
	}
	def, err := stacks.Build(c)
	if err != nil {
		return stacks.Definition{}, fmt.Errorf("%s definition: %w", stack, err)
	}
	return def, nil
}

// Definition is Build for a test: an error fails t.
func Definition(t testing.TB, stack string, cfg map[string]string) stacks.Definition {
	t.Helper()
	def, err := Build(stack, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// LocalConfig is the dev stack's config with the locally built image
// catalog, the maps in extra on top.
func LocalConfig(extra ...map[string]string) map[string]string {
	cfg := map[string]string{"imageCatalog": stacks.CatalogLocal}
	for _, m := range extra {
		maps.Copy(cfg, m)
	}
	return cfg
}
