package images

import (
	"io/fs"
	"path"

	"github.com/ampledata/temporal-kit/infra/proxy/loginban"
)

// caddyKitTag is the build tag that compiles the loginban Caddy module.
const caddyKitTag = "kitcaddy"

// caddyKitPackage is where the kit's module sits in the copy of Caddy's source.
const caddyKitPackage = "kit/loginban"

// caddyKitFiles are the files written into the copy of Caddy's source: the
// loginban package, and a file of Caddy's main package that imports it
// (what xcaddy's --with does, without a module of its own).
func caddyKitFiles() map[string]string {
	files := map[string]string{
		"cmd/caddy/kit_modules.go": "package main\n\nimport _ \"" + caddyModule + "/" + caddyKitPackage + "\"\n",
	}
	names, err := fs.Glob(loginban.Sources, "*.go")
	if err != nil || len(names) == 0 {
		panic("loginban sources are not embedded") // the embed pattern names them: a build error, not a run-time one
	}
	for _, name := range names {
		b, err := fs.ReadFile(loginban.Sources, name)
		if err != nil {
			panic(err)
		}
		files[path.Join(caddyKitPackage, name)] = string(b)
	}
	return files
}
