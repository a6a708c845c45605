package images

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The kit names no package archive's host: the tools' defaults choose, and
// a site's own mirror comes from KIT_DEBIAN_MIRROR. The hosts are spelt in
// pieces so that searching the repository for them finds nothing at all.
var archiveHosts = func() []string {
	domain := strings.Join([]string{"debian", "org"}, ".")
	var hosts []string
	for _, sub := range []string{"deb", "security", "ftp"} {
		hosts = append(hosts, sub+"."+domain)
	}
	return hosts
}()

func TestNoArchiveHostInTheKit(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md under %s: %v", root, err)
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	// This package: Go files, the recipes and kit-images.
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	recipes, goFiles := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.ToSlash(f), "recipes/") {
			recipes++
		}
		if strings.HasSuffix(f, ".go") {
			goFiles++
		}
		for _, h := range archiveHosts {
			if strings.Contains(strings.ToLower(string(b)), h) {
				t.Errorf("%s names %s; leave the mirror to the tools' defaults and KIT_DEBIAN_MIRROR", f, h)
			}
		}
	}
	if recipes < 10 || goFiles < 8 {
		t.Errorf("scanned %d recipe and %d Go files; the walk misses files", recipes, goFiles)
	}
}
