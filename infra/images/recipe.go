package images

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
)

// The recipes: one directory per image, a Dockerfile template and the
// scripts it copies. Only the Dockerfile is a template; scripts are copied
// verbatim so shell syntax never meets template syntax.
//
//go:embed all:recipes
var recipes embed.FS

const dockerfile = "Dockerfile"

// Mirrors override the Debian archives the base and the apt-installed
// packages come from, for an air-gapped site's own mirror. Empty fields
// leave the choice to the tools, so the kit names no archive itself:
// debootstrap uses its built-in default, and apt in the images the mirror
// the base's sources.list names (debootstrap wrote it), with the security
// suite in that mirror's "-security" sibling.
type Mirrors struct {
	Debian   string // e.g. http://mirror.example/debian
	Security string // e.g. http://mirror.example/debian-security
}

// Check refuses mirrors that are no absolute URL: they end up in debootstrap's
// command line and, quoted, in a Dockerfile's shell.
func (m Mirrors) Check() error {
	for _, v := range []struct{ env, url string }{{"KIT_DEBIAN_MIRROR", m.Debian}, {"KIT_DEBIAN_SECURITY_MIRROR", m.Security}} {
		if v.url == "" {
			continue
		}
		u, err := url.Parse(v.url)
		if err != nil || u.Scheme == "" || strings.ContainsAny(v.url, " \t\n'\"\\") {
			return fmt.Errorf("%s=%q is not an absolute URL; write it like http://mirror.example/debian, or unset it to use the default mirror", v.env, v.url)
		}
	}
	return nil
}

// templateData is what a Dockerfile template sees: the parent tag, the
// mirrors, the image's own Vars. A missing key is an error, not "<no value>".
func templateData(im Image, parentTag string, m Mirrors) map[string]string {
	data := map[string]string{
		"Base":           parentTag,
		"Tag":            im.Tag,
		"Version":        tagVersion(im.Tag),
		"Suite":          DebianSuite,
		"Mirror":         m.Debian,
		"SecurityMirror": m.Security,
	}
	for _, k := range slices.Sorted(maps.Keys(im.Vars)) {
		data[k] = im.Vars[k]
	}
	return data
}

func tagVersion(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

// RenderDockerfile renders im's Dockerfile for the given parent tag.
func RenderDockerfile(im Image, parentTag string, m Mirrors) (string, error) {
	src, err := recipes.ReadFile(path.Join("recipes", im.Recipe, dockerfile))
	if err != nil {
		return "", fmt.Errorf("image %s: recipe %q has no Dockerfile: %w", im.Name, im.Recipe, err)
	}
	t, err := template.New(im.Recipe + "/" + dockerfile).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("image %s: Dockerfile template: %w", im.Name, err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, templateData(im, parentTag, m)); err != nil {
		return "", fmt.Errorf("image %s: Dockerfile template: %w", im.Name, err)
	}
	return out.String(), nil
}

// writeRecipe writes im's rendered recipe into dir: the Dockerfile and
// every other file of the recipe, scripts executable.
func writeRecipe(im Image, parentTag string, m Mirrors, dir string) error {
	df, err := RenderDockerfile(im, parentTag, m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, dockerfile), []byte(df), 0o644); err != nil {
		return err
	}
	root := path.Join("recipes", im.Recipe)
	return fs.WalkDir(recipes, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if rel == dockerfile {
			return nil
		}
		b, err := recipes.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		return os.WriteFile(dst, b, mode)
	})
}
