package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RepoModule is this repository's module path; the builder checks it so
// repository binaries are never built from the wrong tree.
const RepoModule = "github.com/ampledata/temporal-kit"

// Builder builds images of the set into the local Docker engine.
type Builder struct {
	// RepoRoot is this repository's root (for the worker and fixture-server binaries).
	RepoRoot string
	// CacheDir holds built binaries and build contexts; never inside RepoRoot.
	CacheDir string
	// Mirrors override the Debian archives; zero uses the tools' defaults.
	Mirrors Mirrors
	// Out gets one progress line per step and image; nil discards.
	Out io.Writer
	// Verbose, when set, gets the full output of every command.
	Verbose io.Writer
	// Force rebuilds images whose inputs did not change: a fresh debootstrap
	// and apt-get upgrade pick up Debian's security updates.
	Force bool

	goVer   string
	built   map[string]string
	modDirs map[string]string
}

// Result is what happened to one image.
type Result struct {
	Name, Tag string
	// Built is false when the image was up to date.
	Built    bool
	Duration time.Duration
}

// DefaultCacheDir is $KIT_IMAGES_CACHE, else <user cache dir>/temporal-kit/images.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("KIT_IMAGES_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (%v); set KIT_IMAGES_CACHE", err)
	}
	return filepath.Join(d, "temporal-kit", "images"), nil
}

// FindRepoRoot walks up from dir to this repository's go.mod.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if f, err := os.Open(filepath.Join(d, "go.mod")); err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if fs := strings.Fields(s.Text()); len(fs) == 2 && fs[0] == "module" {
					f.Close()
					if fs[1] != RepoModule {
						return "", fmt.Errorf("%s is module %s, not %s: run kit-images from the temporal-kit repository", d, fs[1], RepoModule)
					}
					return d, nil
				}
			}
			f.Close()
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s above %s: run kit-images from the temporal-kit repository", RepoModule, dir)
		}
	}
}

// NewBuilder checks its directories: the cache must lie outside the
// repository, so build contexts and binaries never end up in the tree.
func NewBuilder(repoRoot, cacheDir string) (*Builder, error) {
	repoRoot, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, err
	}
	cacheDir, err = filepath.Abs(cacheDir)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(repoRoot, cacheDir); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("cache directory %s is inside the repository %s; set KIT_IMAGES_CACHE to a directory outside it", cacheDir, repoRoot)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w (set KIT_IMAGES_CACHE to a writable directory)", err)
	}
	return &Builder{
		RepoRoot: repoRoot,
		CacheDir: cacheDir,
		built:    map[string]string{},
		modDirs:  map[string]string{},
	}, nil
}

func (b *Builder) logf(format string, args ...any) {
	if b.Out != nil {
		fmt.Fprintf(b.Out, format+"\n", args...)
	}
}

// Build builds the given images (use Select for their parents) in order and
// reports each one. It holds a lock on the cache, so two runs on one machine
// take turns instead of overwriting each other's contexts.
func (b *Builder) Build(ctx context.Context, set []Image) ([]Result, error) {
	if err := b.Mirrors.Check(); err != nil {
		return nil, err
	}
	unlock, err := b.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Fail before any long go build when no engine answers.
	if _, _, err := Inspect(ctx, DebianBase); err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, im := range Set() {
		tags[im.Name] = im.Tag
	}
	var results []Result
	for _, im := range set {
		began := time.Now()
		var built bool
		var err error
		if im.Parent == "" {
			built, err = b.buildDebian(ctx, im)
		} else {
			built, err = b.buildImage(ctx, im, tags[im.Parent])
		}
		if err != nil {
			return results, err
		}
		r := Result{Name: im.Name, Tag: im.Tag, Built: built, Duration: time.Since(began)}
		status := "up to date"
		if built {
			status = "built"
		}
		b.logf("%-22s %-11s %9s  %s", r.Name, status, r.Duration.Round(100*time.Millisecond), r.Tag)
		results = append(results, r)
	}
	b.pruneReplaced(ctx)
	return results, nil
}

func (b *Builder) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(b.CacheDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b.logf("waiting for another kit-images run to finish (lock %s)", f.Name())
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
	}
	return func() { f.Close() }, nil
}

// buildImage assembles im's build context (recipe, binaries, module files),
// hashes it and runs docker build unless the image carries that hash already.
func (b *Builder) buildImage(ctx context.Context, im Image, parentTag string) (bool, error) {
	parent, ok, err := Inspect(ctx, parentTag)
	if err != nil {
		return false, &StepError{Image: im.Name, Step: "inspect parent " + parentTag, Err: err}
	}
	if !ok {
		return false, &StepError{Image: im.Name, Step: "inspect parent", Err: fmt.Errorf("parent image %s is missing; build it first (kit-images build %s)", parentTag, im.Name)}
	}
	dir := filepath.Join(b.CacheDir, "context", im.Name)
	if err := os.RemoveAll(dir); err != nil {
		return false, &StepError{Image: im.Name, Step: "prepare build context", Err: err}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, &StepError{Image: im.Name, Step: "prepare build context", Err: err}
	}
	if err := writeRecipe(im, parentTag, b.Mirrors, dir); err != nil {
		return false, &StepError{Image: im.Name, Step: "render recipe", Err: err}
	}
	for _, g := range im.Binaries {
		p, err := b.goBinary(ctx, im.Name, g)
		if err != nil {
			return false, err
		}
		if err := linkOrCopy(p, filepath.Join(dir, g.Name), 0o755); err != nil {
			return false, &StepError{Image: im.Name, Step: "copy binary " + g.Name, Err: err}
		}
	}
	for _, mf := range im.ModuleFiles {
		src, err := b.moduleDir(ctx, im.Name, mf.Module, mf.Version)
		if err != nil {
			return false, err
		}
		if err := copyTree(filepath.Join(src, filepath.FromSlash(mf.Path)), filepath.Join(dir, filepath.FromSlash(mf.Dest))); err != nil {
			return false, &StepError{Image: im.Name, Step: "copy " + mf.Path + " of " + mf.Module + "@" + mf.Version, Err: err}
		}
	}
	inputs, err := HashInputs(im.Tag, parent.ID, im.Binaries, dir)
	if err != nil {
		return false, &StepError{Image: im.Name, Step: "hash inputs", Err: err}
	}
	cur, ok, err := Inspect(ctx, im.Tag)
	if err != nil {
		return false, &StepError{Image: im.Name, Step: "inspect", Err: err}
	}
	if ok && cur.Labels[InputsLabel] == inputs && !b.Force {
		return false, nil
	}
	if err := b.dockerBuild(ctx, im, dir, inputs); err != nil {
		return false, err
	}
	return true, nil
}

// debootstrap's inputs: the image is remade when one of them changes.
// Without a mirror argument debootstrap takes its built-in default.
func (b *Builder) debootstrapArgs(rootfs string) []string {
	args := []string{"--variant=minbase", "--include=ca-certificates", DebianSuite, rootfs}
	if b.Mirrors.Debian != "" {
		args = append(args, b.Mirrors.Debian)
	}
	return args
}

// buildDebian makes the base: a minbase debootstrap of Debian, imported as
// an image. Its content depends on the day it was made (package updates),
// so its hash covers the recipe only, and children hash its image ID.
func (b *Builder) buildDebian(ctx context.Context, im Image) (bool, error) {
	sum := sha256.Sum256([]byte(strings.Join(b.debootstrapArgs("ROOTFS"), " ") + "\nclean apt caches; PATH; CMD bash"))
	inputs := "sha256:" + hex.EncodeToString(sum[:])
	cur, ok, err := Inspect(ctx, im.Tag)
	if err != nil {
		return false, &StepError{Image: im.Name, Step: "inspect", Err: err}
	}
	if ok && cur.Labels[InputsLabel] == inputs && !b.Force {
		return false, nil
	}
	if os.Geteuid() != 0 {
		return false, &StepError{Image: im.Name, Step: "debootstrap", Err: errors.New("debootstrap must run as root: run kit-images as root (CI does) or with sudo")}
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return false, &StepError{Image: im.Name, Step: "debootstrap", Err: errors.New("debootstrap is not installed: apt-get install debootstrap")}
	}
	rootfs := filepath.Join(b.CacheDir, "rootfs-"+DebianSuite)
	if err := os.RemoveAll(rootfs); err != nil {
		return false, &StepError{Image: im.Name, Step: "debootstrap", Err: err}
	}
	defer os.RemoveAll(rootfs)
	if err := b.debootstrap(ctx, im.Name, rootfs); err != nil {
		return false, err
	}
	if err := b.importRootfs(ctx, im, rootfs, inputs); err != nil {
		return false, err
	}
	return true, nil
}

// debootstrap makes the Debian tree in rootfs, without the downloaded
// .debs and package lists (they only make the image bigger).
func (b *Builder) debootstrap(ctx context.Context, name, rootfs string) error {
	from := b.Mirrors.Debian
	if from == "" {
		from = "debootstrap's default mirror"
	}
	b.logf("  %s: debootstrap %s from %s", name, DebianSuite, from)
	if err := b.run(ctx, name, "debootstrap", command{name: "debootstrap", args: b.debootstrapArgs(rootfs)}); err != nil {
		return err
	}
	for _, pattern := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, pattern))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
	return nil
}

// importRootfs imports the tree in rootfs as the image im, labelled with
// the hash of its inputs.
func (b *Builder) importRootfs(ctx context.Context, im Image, rootfs, inputs string) error {
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", rootfs, "-c", ".")
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return &StepError{Image: im.Name, Step: "docker import", Err: err}
	}
	tarErr := &tailBuffer{n: tailLines}
	tar.Stderr = tarErr
	if err := tar.Start(); err != nil {
		return &StepError{Image: im.Name, Step: "tar rootfs", Err: err}
	}
	importErr := b.run(ctx, im.Name, "docker import", command{
		stdin: pipe,
		name:  "docker",
		args: []string{"import",
			"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"--change", `CMD ["bash"]`,
			"--change", "LABEL " + InputsLabel + "=" + inputs,
			"-", im.Tag},
	})
	if err := tar.Wait(); err != nil && importErr == nil {
		return &StepError{Image: im.Name, Step: "tar rootfs", Err: err, Tail: tarErr.String()}
	}
	return importErr
}
