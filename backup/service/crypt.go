package service

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// ParseRecipients reads age public keys (age1...); the private keys are
// never on the host.
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range keys {
		r, err := age.ParseX25519Recipient(k)
		if err != nil {
			return nil, fmt.Errorf("age recipient %q (stack config backupAgeRecipients): %w; give public keys as age-keygen prints them (age1...)", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// encryptFile encrypts dir/name to dir/name.age for recipients and removes
// the plain file; it returns the new name.
func encryptFile(dir, name string, keys []string) (string, error) {
	rs, err := ParseRecipients(keys)
	if err != nil {
		return "", err
	}
	in, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(filepath.Join(dir, name+".age"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	defer out.Close()
	w, err := age.Encrypt(out, rs...)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(w, in); err != nil {
		return "", fmt.Errorf("encrypt %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encrypt %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("encrypt %s: %w", name, err)
	}
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return "", err
	}
	return name + ".age", nil
}

// readIdentities reads an age identity file (AGE-SECRET-KEY-1... lines).
func readIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("age identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("age identity file %s: %w", path, err)
	}
	return ids, nil
}

// decryptFile writes the plain text of src (an .age file) to dst.
func decryptFile(src, dst string, ids []age.Identity) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	r, err := age.Decrypt(in, ids...)
	if err != nil {
		return fmt.Errorf("decrypt %s: %w (is the identity one of the backup's recipients?)", filepath.Base(src), err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, r); err != nil {
		return fmt.Errorf("decrypt %s: %w", filepath.Base(src), err)
	}
	return out.Close()
}

func plainName(name string) string { return strings.TrimSuffix(name, ".age") }
