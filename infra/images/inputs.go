package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// HashInputs hashes everything an image is made of: its tag, its parent
// image's ID (a rebuilt base rebuilds its children), the pinned versions
// of its binaries, and every file of its build context (path, mode and
// content: the rendered recipe, the binaries, the module files).
func HashInputs(tag, parentID string, binaries []GoBinary, contextDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "tag %s\nparent %s\n", tag, parentID)
	for _, g := range binaries {
		fmt.Fprintf(h, "binary %s\n", g)
	}
	var files []string
	err := filepath.WalkDir(contextDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, p := range files {
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(contextDir, p)
		sum, err := fileSum(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %o %s\n", filepath.ToSlash(rel), st.Mode().Perm(), sum)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopy puts src at dst: a hard link when both are on one file
// system (binaries are large), a copy otherwise.
func linkOrCopy(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return os.Chmod(dst, mode)
	}
	return copyContent(src, dst, mode)
}

// copyTree copies a file or a directory tree (module sources are read-only
// in the module cache, so modes are normalised to 0644/0755).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		return copyFile(p, target)
	})
}

// copyFile copies a module file as 0644; never a hard link, since a chmod
// on the link would change the module cache's read-only file.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyContent(src, dst, 0o644)
}

// copyContent writes src's bytes to dst, a file of the given mode.
func copyContent(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
