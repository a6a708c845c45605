package hostkey

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"
)

func seed(b byte) []byte { return bytes.Repeat([]byte{b}, SeedSize) }

func TestSameSeedSameBytes(t *testing.T) {
	a, err := FromSeed(seed(7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromSeed(seed(7))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("two derivations of one seed differ:\n%s\n%s", a.Private, b.Private)
	}
	c, err := FromSeed(seed(8))
	if err != nil {
		t.Fatal(err)
	}
	if c.Private == a.Private || c.Public == a.Public {
		t.Fatal("two seeds give the same key")
	}
}

func TestParsesAndMatchesItsPublicKey(t *testing.T) {
	s := seed(42)
	p, err := FromSeed(s)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(p.Private))
	if err != nil {
		t.Fatalf("ssh.ParsePrivateKey refuses the key: %v\n%s", err, p.Private)
	}
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(p.Public))
	if err != nil || len(rest) != 0 {
		t.Fatalf("public line %q: %v", p.Public, err)
	}
	if comment != Comment {
		t.Errorf("comment %q, want %q", comment, Comment)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), pub.Marshal()) {
		t.Error("the private key's public half is not the public line")
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("type %s", pub.Type())
	}
	// It is the ed25519 key of the seed, and it signs.
	want := ed25519.NewKeyFromSeed(s).Public().(ed25519.PublicKey)
	if got := pub.(ssh.CryptoPublicKey).CryptoPublicKey().(ed25519.PublicKey); !got.Equal(want) {
		t.Error("the key is not the seed's ed25519 key")
	}
	sig, err := signer.Sign(nil, []byte("data"))
	if err != nil || pub.Verify([]byte("data"), sig) != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	// The raw key parses to the same ed25519 private key too.
	raw, err := ssh.ParseRawPrivateKey([]byte(p.Private))
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := raw.(*ed25519.PrivateKey); !ok || !bytes.Equal(*k, ed25519.NewKeyFromSeed(s)) {
		t.Errorf("raw key %T is not the seed's", raw)
	}
}

// The encoding is the one OpenSSH writes: ssh-keygen reads it and derives
// the same public key (skipped without ssh-keygen).
func TestSSHKeygenReadsIt(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen on this machine")
	}
	p, err := FromSeed(seed(3))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(f, []byte(p.Private), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-y", "-f", f).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out))[:2], strings.Fields(p.Public)[:2]; got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ssh-keygen derives %v, want %v", got, want)
	}
}

func TestCheckIntsMatchAndPaddingIsAligned(t *testing.T) {
	p, _ := FromSeed(seed(9))
	block, _ := pem.Decode([]byte(p.Private))
	if block == nil || block.Type != "OPENSSH PRIVATE KEY" {
		t.Fatalf("not an OpenSSH PEM block: %q", p.Private)
	}
	if !bytes.HasPrefix(block.Bytes, []byte("openssh-key-v1\x00")) {
		t.Fatal("magic missing")
	}
	// cipher, kdf, kdf options, key count, public key, private section.
	b := block.Bytes[len("openssh-key-v1\x00"):]
	next := func() []byte {
		n := binary.BigEndian.Uint32(b)
		v := b[4 : 4+n]
		b = b[4+n:]
		return v
	}
	if c, k, o := string(next()), string(next()), next(); c != "none" || k != "none" || len(o) != 0 {
		t.Fatalf("cipher %q kdf %q options %q, want none/none/empty", c, k, o)
	}
	if n := binary.BigEndian.Uint32(b); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}
	b = b[4:]
	next()
	sec := next()
	if len(b) != 0 {
		t.Errorf("%d bytes after the private section", len(b))
	}
	if len(sec)%8 != 0 {
		t.Errorf("private section %d bytes, not a multiple of 8", len(sec))
	}
	if !bytes.Equal(sec[0:4], sec[4:8]) {
		t.Error("check integers differ")
	}
	if bytes.Equal(sec[0:4], seed(9)[:4]) {
		t.Error("the check integer is the seed's first bytes")
	}
}

func TestBadSeed(t *testing.T) {
	if _, err := FromSeed(make([]byte, 16)); err == nil {
		t.Error("a 16-byte seed was taken")
	}
}

// Under mocks: the RandomBytes resource is registered with 32 bytes, the
// private key is secret and the public line is not.
type mocks struct {
	mu     sync.Mutex
	inputs map[string]resource.PropertyMap
}

func (m *mocks) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inputs[a.TypeToken] = a.Inputs
	out := a.Inputs.Copy()
	out["base64"] = resource.NewStringProperty(base64.StdEncoding.EncodeToString(seed(5)))
	return a.Name + "-id", out, nil
}

func (m *mocks) Call(a pulumi.MockCallArgs) (resource.PropertyMap, error) { return a.Args, nil }

func TestNewUnderMocks(t *testing.T) {
	m := &mocks{inputs: map[string]resource.PropertyMap{}}
	want, _ := FromSeed(seed(5))
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		k, err := New(ctx, "host-key")
		if err != nil {
			return err
		}
		done := make(chan struct{})
		pulumi.All(k.Private, k.Public).ApplyT(func(v []any) error {
			defer close(done)
			if v[0].(string) != want.Private || v[1].(string) != want.Public {
				t.Error("the outputs are not the seed's key")
			}
			return nil
		})
		<-done
		checkSecret(t, "private", k.Private, true)
		checkSecret(t, "public", k.Public, false)
		return nil
	}, pulumi.WithMocks("kit", "prod", m))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := m.inputs["random:index/randomBytes:RandomBytes"]
	if !ok {
		t.Fatalf("no RandomBytes registered: %v", m.inputs)
	}
	if got := in["length"]; !got.IsNumber() || got.NumberValue() != SeedSize {
		t.Errorf("RandomBytes length %v, want %d", got, SeedSize)
	}
}

func checkSecret(t *testing.T, what string, o pulumi.StringOutput, want bool) {
	t.Helper()
	if secret := pulumi.IsSecret(o); secret != want {
		t.Errorf("%s: secret=%v, want %v", what, secret, want)
	}
}
