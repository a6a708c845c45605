package service

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// runEncrypted runs tool with its stdout encrypted to keys into the new
// file path (mode 0600). A failure leaves the (encrypted) file for the
// caller's clean-up of its partial directory.
func runEncrypted(ctx context.Context, path string, keys []string, tool string, args ...string) error {
	rs, err := ParseRecipients(keys)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := age.Encrypt(out, rs...)
	if err != nil {
		return err
	}
	// A failed write (a full volume) stops the copy and pg_dump dies of
	// the closed pipe; report the write, which says why.
	ew := &errWriter{w: w}
	if err := runIO(ctx, nil, ew, tool, args...); err != nil {
		if ew.err != nil {
			return fmt.Errorf("encrypt %s: %w", filepath.Base(path), ew.err)
		}
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypt %s: %w", filepath.Base(path), err)
	}
	return out.Close()
}

// identities decrypt a backup's files; nil for a backup that is not
// encrypted.
type identities []age.Identity

// open returns the plaintext of the file at path as a stream.
func (ids identities) open(path string) (io.ReadCloser, error) {
	if ids == nil {
		return os.Open(path)
	}
	return openDecrypted(path, ids)
}

// readIdentities reads an age identity file (AGE-SECRET-KEY-1... lines).
func readIdentities(path string) (identities, error) {
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

// openDecrypted opens src (an .age file) and returns its plaintext as a
// stream: restores feed it to the PostgreSQL tools, never to a file.
func openDecrypted(src string, ids []age.Identity) (io.ReadCloser, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(in, ids...)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("decrypt %s: %w (is the identity one of the backup's recipients?)", filepath.Base(src), err)
	}
	return struct {
		io.Reader
		io.Closer
	}{&namedReader{r, filepath.Base(src)}, in}, nil
}

// namedReader names the file in a decryption error (a damaged chunk).
type namedReader struct {
	r    io.Reader
	name string
}

func (n *namedReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decrypt %s: %w", n.name, err)
	}
	return k, err
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
