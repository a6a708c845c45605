package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ampledata/temporal-kit/stacks"
)

// The README and the documents under docs/ are read as one: what one of
// them names (a link, a command, a config key) must exist, wherever the
// text has moved.

// docFiles are the README and every document under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 6 {
		t.Fatalf("docs/ holds %d documents, want the 6 the README links at least", len(docs))
	}
	return append([]string{"README.md"}, docs...)
}

func readDoc(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// headingAnchors are the anchors GitHub gives a Markdown file's headings.
func headingAnchors(text string) map[string]bool {
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	anchors := map[string]bool{}
	fence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return anchors
}

// eachMatch calls check for every match of re in files, and fails when
// there are fewer than min: a pattern that no longer matches the docs would
// otherwise check nothing.
func eachMatch(t *testing.T, files []string, re *regexp.Regexp, min int, check func(file string, m []string)) {
	t.Helper()
	n := 0
	for _, file := range files {
		for _, m := range re.FindAllStringSubmatch(readDoc(t, file), -1) {
			n++
			check(file, m)
		}
	}
	if n < min {
		t.Errorf("found only %d matches of %s in the docs, want %d at least; the pattern no longer matches them", n, re, min)
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Every relative link lands on a file of the repository, and its anchor on
// a heading of that file; the worker's README links into docs/ too.
func TestDocLinksResolve(t *testing.T) {
	eachMatch(t, append(docFiles(t), "worker/README.md"), mdLink, 20, func(file string, m []string) {
		link := m[1]
		if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
			return
		}
		target, anchor, _ := strings.Cut(link, "#")
		path := file
		if target != "" {
			path = filepath.Join(filepath.Dir(file), target)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: link %s: %v", file, link, err)
			return
		}
		if anchor != "" && !headingAnchors(string(raw))[anchor] {
			t.Errorf("%s: link %s: %s has no heading #%s", file, link, path, anchor)
		}
	})
}

// No line over 120 characters, except table rows (a row cannot wrap).
func TestDocLinesAreAtMost120Characters(t *testing.T) {
	for _, file := range docFiles(t) {
		for i, line := range strings.Split(readDoc(t, file), "\n") {
			if n := utf8.RuneCountInString(line); n > 120 && !strings.HasPrefix(line, "|") {
				t.Errorf("%s:%d: %d characters (at most 120 outside tables): %.60s...", file, i+1, n, line)
			}
		}
	}
}

// `go run|test|generate|build|vet ./path` names a package directory of the
// repository (./... the whole module).
var goCommand = regexp.MustCompile("`go (?:run|test|generate|build|vet)[^`]*?((?:\\s\\./[^\\s`]*)+)")

func TestDocumentedGoCommandsNameRealPackages(t *testing.T) {
	eachMatch(t, docFiles(t), goCommand, 8, func(file string, m []string) {
		for _, arg := range strings.Fields(m[1]) {
			if !namesPackage(arg) {
				t.Errorf("%s: %q names %s, which holds no Go package", file, m[0], arg)
			}
		}
	})
}

// namesPackage: ./dir holds Go files; ./dir/... holds them in dir or below.
func namesPackage(arg string) bool {
	dir, tree := strings.CutSuffix(arg, "/...")
	if !tree {
		goFiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		return len(goFiles) > 0
	}
	found := false
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// Every `temporal-kit:key` the docs spell out is a key the loader knows.
func TestDocumentedNamespacedKeysAreKnown(t *testing.T) {
	known := stacks.KnownKeys()
	key := regexp.MustCompile(regexp.QuoteMeta(stacks.Namespace) + `:([A-Za-z]+)`)
	eachMatch(t, docFiles(t), key, 20, func(file string, m []string) {
		if !slices.Contains(known, m[1]) {
			t.Errorf("%s: %s is not a key of the loader", file, m[0])
		}
	})
}

// exportedOutputs are the stack outputs the program exports (ctx.Export in
// infra's non-test files).
func exportedOutputs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("infra/*.go")
	if err != nil {
		t.Fatal(err)
	}
	export := regexp.MustCompile(`ctx\.Export\("([A-Za-z0-9]+)"`)
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range export.FindAllStringSubmatch(readDoc(t, f), -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	if len(names) < 10 {
		t.Fatalf("found only %d ctx.Export calls in infra/; the pattern no longer matches them", len(names))
	}
	return slices.Compact(names)
}

// The Outputs table lists exactly the outputs the program exports, and
// every `pulumi stack output NAME` the docs show reads one of them.
func TestDocumentedOutputsAreExported(t *testing.T) {
	exported := exportedOutputs(t)
	_, section, ok := strings.Cut(readDoc(t, configDoc), "\n## Outputs\n")
	if !ok {
		t.Fatalf("%s has no Outputs section", configDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var listed []string
	for _, line := range strings.Split(section, "\n") {
		if cell, _, ok := strings.Cut(strings.TrimPrefix(line, "| "), " | "); ok && strings.HasPrefix(line, "| `") {
			for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
				listed = append(listed, m[1])
			}
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, exported) {
		t.Errorf("%s Outputs %v\nthe program exports %v", configDoc, listed, exported)
	}
	read := regexp.MustCompile("pulumi stack output((?: --[a-z-]+(?: prod| dev)?)*) ([A-Za-z0-9]+)")
	eachMatch(t, docFiles(t), read, 5, func(file string, m []string) {
		if !slices.Contains(exported, m[2]) {
			t.Errorf("%s: %q reads an output the program does not export", file, m[0])
		}
	})
}

// The README's layout table names every folder that holds Go code: as a
// path of its own, or as a path (`cmd/x`, `service/`) relative to the row's
// folder or to that folder's top-level folder.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, table, _ := strings.Cut(readme, "\n| path | what |\n")
	table, _, _ = strings.Cut(table, "\n\n")
	named := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		first, _, ok := strings.Cut(strings.TrimPrefix(row, "| "), " | ")
		if !ok {
			continue
		}
		var bases []string
		for _, m := range backticked.FindAllStringSubmatch(first, -1) {
			base := strings.TrimSuffix(m[1], "/")
			top, _, _ := strings.Cut(base, "/")
			bases = append(bases, base, top)
		}
		for _, m := range backticked.FindAllStringSubmatch(row, -1) {
			p := strings.TrimSuffix(m[1], "/")
			named[p] = true
			for _, base := range bases {
				named[base+"/"+p] = true
			}
		}
	}
	packages := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && filepath.Dir(path) != "." {
			packages[filepath.ToSlash(filepath.Dir(path))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(packages) < 30 {
		t.Fatalf("found %d package folders; the walk misses them", len(packages))
	}
	for _, dir := range slices.Sorted(maps.Keys(packages)) {
		if !named[dir] {
			t.Errorf("README's layout table does not name %s/", dir)
		}
	}
}
