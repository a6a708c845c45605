package images

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/infra/proxy/loginban"
	"github.com/ampledata/temporal-kit/stacks"
)

// infra/proxy/Dockerfile (the official catalog's proxy) builds Caddy as
// kit-images does: the same version, every file of the ban package, the
// same import into Caddy's main package, the same build tag.
func TestProxyDockerfileMatchesKitBuild(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "infra", "proxy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	files := caddyKitFiles()
	names, _ := fs.Glob(loginban.Sources, "*.go")
	for _, name := range names {
		if !strings.Contains(df, "infra/proxy/loginban/"+name) {
			t.Errorf("the Dockerfile does not copy loginban/%s", name)
		}
		if _, ok := files[caddyKitPackage+"/"+name]; !ok {
			t.Errorf("kit-images does not write loginban/%s", name)
		}
	}
	main := files["cmd/caddy/kit_modules.go"]
	imp := `import _ "` + caddyModule + "/" + caddyKitPackage + `"`
	if !strings.Contains(main, imp) || !strings.Contains(df, imp) {
		t.Errorf("both builds must add %s to Caddy's main package", imp)
	}
	for _, want := range []string{caddyModule + "@" + CaddyVersion, "-tags " + caddyKitTag, "CustomVersion=" + CaddyVersion,
		"FROM caddy:" + strings.TrimPrefix(CaddyVersion, "v")} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	if tag := stacks.Catalogs[stacks.CatalogOfficial].Proxy; !strings.Contains(df, "-t "+tag+" ") {
		t.Errorf("the Dockerfile's build line does not make the official catalog's %s", tag)
	}
}
