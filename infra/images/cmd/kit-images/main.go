// Command kit-images builds the kit's offline image set into the local
// Docker engine: what the "local" image catalog names, from pinned sources,
// with no registry. Images whose inputs did not change are kept.
//
//	go run ./infra/images/cmd/kit-images build [-v] [-force] [NAME...]
//	go run ./infra/images/cmd/kit-images list
//
// Environment: KIT_IMAGES_CACHE (binaries and build contexts; default
// <user cache dir>/temporal-kit/images), KIT_DEBIAN_MIRROR and
// KIT_DEBIAN_SECURITY_MIRROR (an air-gapped site's Debian mirror; unset,
// debootstrap uses its default mirror and apt in the images the one the
// base was made from, with its "-security" sibling for security updates).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ampledata/temporal-kit/infra/images"
)

func main() {
	os.Setenv("PATH", withSbin(os.Getenv("PATH")))
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kit-images:", err)
		os.Exit(1)
	}
}

// withSbin appends the sbin directories missing from path: debootstrap and
// the chroot it runs live there, and a root shell has them on PATH but a
// plain environment (env -i, a CI step) may not.
func withSbin(path string) string {
	dirs := filepath.SplitList(path)
	for _, d := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, string(os.PathListSeparator))
}

func usage() error {
	return fmt.Errorf("usage: kit-images build [-v] [-force] [NAME...] | kit-images list\nimages: %v", images.Names())
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "build":
		fs := flag.NewFlagSet("build", flag.ContinueOnError)
		verbose := fs.Bool("v", false, "stream the output of every go and docker command")
		force := fs.Bool("force", false, "rebuild even up-to-date images (fresh debootstrap and Debian security updates)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return build(ctx, fs.Args(), *verbose, *force)
	case "list":
		return list(ctx)
	default:
		return usage()
	}
}

func build(ctx context.Context, names []string, verbose, force bool) error {
	set, err := images.Select(names...)
	if err != nil {
		return err
	}
	b, err := newBuilder()
	if err != nil {
		return err
	}
	if verbose {
		b.Verbose = os.Stderr
	}
	b.Force = force
	fmt.Printf("kit-images: building %d images (cache %s)\n", len(set), b.CacheDir)
	began := time.Now()
	results, err := b.Build(ctx, set)
	built := 0
	for _, r := range results {
		if r.Built {
			built++
		}
	}
	total := time.Since(began).Round(100 * time.Millisecond)
	if err != nil {
		return fmt.Errorf("%w\n(after %s; rerun with -v for the full output)", err, total)
	}
	fmt.Printf("kit-images: %d built, %d up to date, total %s\n", built, len(results)-built, total)
	return nil
}

func newBuilder() (*images.Builder, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := images.FindRepoRoot(wd)
	if err != nil {
		return nil, err
	}
	cache, err := images.DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	b, err := images.NewBuilder(root, cache)
	if err != nil {
		return nil, err
	}
	if m := os.Getenv("KIT_DEBIAN_MIRROR"); m != "" {
		b.Mirrors.Debian = m
	}
	if m := os.Getenv("KIT_DEBIAN_SECURITY_MIRROR"); m != "" {
		b.Mirrors.Security = m
	}
	b.Out = os.Stdout
	return b, nil
}

// list shows each image and whether the engine has it; whether it is up to
// date needs its inputs, which only build assembles.
func list(ctx context.Context) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTAG\tPRESENT\tINPUTS")
	for _, im := range images.Set() {
		info, ok, err := images.Inspect(ctx, im.Tag)
		if errors.Is(err, images.ErrNoDocker) {
			return err
		}
		present, inputs := "no", "-"
		if err != nil {
			present = "error: " + err.Error()
		} else if ok {
			present = "yes"
			if h := info.Labels[images.InputsLabel]; len(h) > 19 {
				inputs = h[:19]
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", im.Name, im.Tag, present, inputs)
	}
	return w.Flush()
}
