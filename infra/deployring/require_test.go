package deployring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CLI that only Pulumi's installer directory holds is found, and put in
// front of PATH for the pulumi processes a ring starts.
func TestFindPulumiInTheInstallerDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PULUMI_HOME", "")
	t.Setenv("PATH", t.TempDir())
	if findPulumi() {
		t.Fatal("found a pulumi CLI where there is none")
	}
	bin := filepath.Join(home, ".pulumi", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "pulumi"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !findPulumi() {
		t.Fatal("pulumi in ~/.pulumi/bin not found")
	}
	if !strings.HasPrefix(os.Getenv("PATH"), bin+string(os.PathListSeparator)) {
		t.Errorf("PATH %q does not start with %s", os.Getenv("PATH"), bin)
	}
}
