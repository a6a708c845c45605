package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// GoBinary is a Go program built on the host with cgo off, so the static
// binary runs on any base image.
type GoBinary struct {
	// Name is the file name in the image.
	Name string
	// Module and Version pin an upstream module; an empty Module means a
	// package of this repository.
	Module, Version string
	// Package is an import path (pinned) or a ./path relative to the repository root.
	Package string
	// LDFlags are added to "-s -w" (version stamps, as upstream release builds set them).
	LDFlags string
	// InSource builds a pinned binary with go build inside a writable copy
	// of the module's source instead of go install pkg@version: for modules
	// whose version list the proxy refuses (go install looks up
	// deprecations there) and for sources that need ExtraFiles.
	InSource bool
	// ExtraFiles are written into that copy before the build, by path
	// relative to the module root (e.g. placeholder web assets that the
	// source embeds but the module does not ship, being an npm build).
	ExtraFiles map[string]string
	// Tags are build tags of an InSource build (such as the one that
	// compiles ExtraFiles' sources in).
	Tags string
}

// pinned tells an upstream binary from one of this repository.
func (g GoBinary) pinned() bool { return g.Module != "" }

func (g GoBinary) ldflags() string {
	return strings.TrimSpace("-s -w " + g.LDFlags)
}

// String names the binary in hashes and messages.
func (g GoBinary) String() string {
	if g.pinned() {
		s := fmt.Sprintf("%s=%s@%s ldflags=%q", g.Name, g.Package, g.Version, g.ldflags())
		if g.InSource {
			s += " in-source"
			if g.Tags != "" {
				s += " tags=" + g.Tags
			}
			for _, k := range slices.Sorted(maps.Keys(g.ExtraFiles)) {
				sum := sha256.Sum256([]byte(g.ExtraFiles[k]))
				s += fmt.Sprintf(" +%s:%x", k, sum[:6])
			}
		}
		return s
	}
	return fmt.Sprintf("%s=%s (repository) ldflags=%q", g.Name, g.Package, g.ldflags())
}

// goEnv is the environment of every go command: static binaries, and no
// workspace file of the caller changing what a pinned install resolves.
var goEnv = []string{"CGO_ENABLED=0", "GOWORK=off"}

// goVersion is the toolchain's version, part of every pinned binary's cache key.
func (b *Builder) goVersion(ctx context.Context) (string, error) {
	if b.goVer != "" {
		return b.goVer, nil
	}
	out, err := b.output(ctx, b.CacheDir, goEnv, "go", "env", "GOVERSION", "GOOS", "GOARCH")
	if err != nil {
		return "", fmt.Errorf("go toolchain: %w", err)
	}
	b.goVer = strings.Join(strings.Fields(out), "/")
	return b.goVer, nil
}

// goBinary returns the path of g's binary, building it when needed. A pinned
// module version never changes, so a pinned binary is built once per
// toolchain and kept in the cache; a repository binary goes through
// `go install`, which relinks only when a source changed.
func (b *Builder) goBinary(ctx context.Context, image string, g GoBinary) (string, error) {
	if p, ok := b.built[g.String()]; ok {
		return p, nil
	}
	var p string
	var err error
	if g.pinned() {
		p, err = b.pinnedBinary(ctx, image, g)
	} else {
		p, err = b.repoBinary(ctx, image, g)
	}
	if err != nil {
		return "", err
	}
	b.built[g.String()] = p
	return p, nil
}

func (b *Builder) pinnedBinary(ctx context.Context, image string, g GoBinary) (string, error) {
	gover, err := b.goVersion(ctx)
	if err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(g.String() + "\n" + gover + "\n" + strings.Join(goEnv, " ")))
	dir := filepath.Join(b.CacheDir, "gobin", fmt.Sprintf("%s-%s-%s", g.Name, g.Version, hex.EncodeToString(key[:6])))
	bin := filepath.Join(dir, g.Name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	// Install into a scratch GOBIN, then rename: an interrupted build never
	// leaves a half-written binary that a later run would trust.
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	if g.InSource {
		if err := b.sourceBuild(ctx, image, g, filepath.Join(tmp, g.Name)); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", &StepError{Image: image, Step: "install " + g.Name, Err: err}
		}
		return bin, nil
	}
	b.logf("  %s: go install %s@%s (a cold module cache takes minutes)", image, g.Package, g.Version)
	err = b.run(ctx, image, "go install "+g.Package+"@"+g.Version, command{
		dir:  b.CacheDir,
		env:  append([]string{"GOBIN=" + tmp, "GOFLAGS="}, goEnv...),
		name: "go",
		args: []string{"install", "-trimpath", "-ldflags", g.ldflags(), g.Package + "@" + g.Version},
	})
	if err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, path.Base(g.Package)), filepath.Join(tmp, g.Name)); err != nil {
		return "", &StepError{Image: image, Step: "install " + g.Name, Err: err}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", &StepError{Image: image, Step: "install " + g.Name, Err: err}
	}
	return bin, nil
}

func (b *Builder) repoBinary(ctx context.Context, image string, g GoBinary) (string, error) {
	if path.Base(g.Package) != g.Name {
		return "", fmt.Errorf("image %s: repository binary %s must be named after its package directory", image, g.Package)
	}
	gobin := filepath.Join(b.CacheDir, "repobin")
	// No VCS stamp: the binary, and so the image hash, changes only when a source does.
	err := b.run(ctx, image, "go install "+g.Package+" (in "+b.RepoRoot+")", command{
		dir:  b.RepoRoot,
		env:  append([]string{"GOBIN=" + gobin}, goEnv...),
		name: "go",
		args: []string{"install", "-trimpath", "-buildvcs=false", "-ldflags", g.ldflags(), g.Package},
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(gobin, g.Name), nil
}

// moduleDir returns the source directory of a pinned module in the module cache.
func (b *Builder) moduleDir(ctx context.Context, image, module, version string) (string, error) {
	key := module + "@" + version
	if d, ok := b.modDirs[key]; ok {
		return d, nil
	}
	out, err := b.output(ctx, b.CacheDir, append([]string{"GOFLAGS="}, goEnv...), "go", "mod", "download", "-json", key)
	if err != nil {
		return "", &StepError{Image: image, Step: "go mod download " + key, Err: err, Tail: out}
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Dir == "" {
		return "", &StepError{Image: image, Step: "go mod download " + key, Err: fmt.Errorf("no module directory in the answer (%v %s)", err, m.Error), Tail: out}
	}
	b.modDirs[key] = m.Dir
	return m.Dir, nil
}

// sourceBuild builds g with go build in a writable copy of its module's
// source (plus g.ExtraFiles), writing the binary to out. The module's own
// go.mod and go.sum pin every dependency, as go install would.
func (b *Builder) sourceBuild(ctx context.Context, image string, g GoBinary, out string) error {
	src, err := b.moduleDir(ctx, image, g.Module, g.Version)
	if err != nil {
		return err
	}
	rel, ok := strings.CutPrefix(g.Package, g.Module)
	if !ok {
		return fmt.Errorf("image %s: package %s is not in module %s", image, g.Package, g.Module)
	}
	work, err := os.MkdirTemp(b.CacheDir, "src-"+g.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		return &StepError{Image: image, Step: "copy the source of " + g.Module, Err: err}
	}
	for _, name := range slices.Sorted(maps.Keys(g.ExtraFiles)) {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(g.ExtraFiles[name]), 0o644); err != nil {
			return err
		}
	}
	b.logf("  %s: go build %s (in a copy of %s@%s; a cold module cache takes minutes)", image, g.Package, g.Module, g.Version)
	return b.run(ctx, image, "go build "+g.Package+"@"+g.Version, command{
		dir:  work,
		env:  append([]string{"GOFLAGS=-mod=readonly"}, goEnv...),
		name: "go",
		args: []string{"build", "-trimpath", "-tags", g.Tags, "-ldflags", g.ldflags(), "-o", out, "./" + strings.TrimPrefix(rel, "/")},
	})
}
