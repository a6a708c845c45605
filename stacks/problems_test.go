package stacks

import (
	"errors"
	"strings"
	"testing"
)

// problemCase is a stack config LoadConfig must refuse: its one problem
// names key (temporal-kit:key or key) and says fix.
type problemCase struct {
	name string
	src  MapSource
	key  string
	fix  string
}

// checkProblems loads each case's config for stack and requires a
// *ConfigError with exactly one problem, naming temporal-kit:<key> and
// holding the fix.
func checkProblems(t *testing.T, stack string, cases []problemCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(stack, tc.src)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *ConfigError, got %v", err)
			}
			if len(ce.Problems) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%s", len(ce.Problems), err)
			}
			key := Namespace + ":" + strings.TrimPrefix(tc.key, Namespace+":")
			if msg := err.Error(); !strings.Contains(msg, key+":") || !strings.Contains(msg, tc.fix) {
				t.Errorf("error must name %s and say %q; got:\n%s", key, tc.fix, msg)
			}
		})
	}
}
