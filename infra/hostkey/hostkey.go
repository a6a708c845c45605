// Package hostkey is the SSH host key a stack generates for its server
// (target hetzner): known before the server exists, installed by
// cloud-init, the only key the deploy trusts, kept as a secret in the
// stack's state.
//
// The key derives from 32 random bytes (a random.RandomBytes resource, made
// once and kept in the state) used as an ed25519 seed. Its OpenSSH private
// key encoding is written here deterministically: ssh.MarshalPrivateKey
// draws random check integers, which would change the cloud-init user-data,
// and so replace the server, on every run.
package hostkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"
)

// SeedSize is the length of the random seed: an ed25519 seed.
const SeedSize = ed25519.SeedSize

// Pair is an SSH host key in the forms its users want.
type Pair struct {
	// Private is the OpenSSH private key (PEM "OPENSSH PRIVATE KEY"), what
	// sshd reads from /etc/ssh/ssh_host_ed25519_key.
	Private string
	// Public is the public key line "ssh-ed25519 AAAA... comment".
	Public string
}

// Comment ends the public key line and is stored in the private key.
const Comment = "temporal-kit-host"

// FromSeed derives the key pair from a 32-byte seed; the same seed always
// gives the same bytes.
func FromSeed(seed []byte) (Pair, error) {
	if len(seed) != SeedSize {
		return Pair{}, fmt.Errorf("host key seed: %d bytes, want %d", len(seed), SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return Pair{}, err
	}
	block := &pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: marshalOpenSSH(priv, pub, checkInt(seed), Comment)}
	return Pair{
		Private: string(pem.EncodeToMemory(block)),
		Public:  strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + Comment,
	}, nil
}

// checkInt is the check integer of an unencrypted key (PROTOCOL.key: it
// lets a decrypting reader tell a wrong passphrase). Unencrypted, any value
// is valid; this one is derived from the seed by a one-way hash, so it
// reveals nothing of the key and never changes.
func checkInt(seed []byte) uint32 {
	h := sha256.Sum256(append([]byte("temporal-kit host key check\x00"), seed...))
	return binary.BigEndian.Uint32(h[:4])
}

// marshalOpenSSH writes the "openssh-key-v1" encoding (OpenSSH's
// PROTOCOL.key) of one unencrypted ed25519 key: magic, cipher "none", kdf
// "none", empty kdf options, one public key, then the private section
// (check integers, key type, public key, seed||public, comment) padded
// with 1, 2, 3... to the cipher block size, 8 for "none".
func marshalOpenSSH(priv ed25519.PrivateKey, pub ed25519.PublicKey, check uint32, comment string) []byte {
	var pubBlob bytes.Buffer
	putString(&pubBlob, []byte(ssh.KeyAlgoED25519))
	putString(&pubBlob, pub)

	var sec bytes.Buffer
	putUint32(&sec, check)
	putUint32(&sec, check)
	putString(&sec, []byte(ssh.KeyAlgoED25519))
	putString(&sec, pub)
	putString(&sec, priv) // ed25519.PrivateKey is seed || public key, 64 bytes
	putString(&sec, []byte(comment))
	for i := byte(1); sec.Len()%8 != 0; i++ {
		sec.WriteByte(i)
	}

	var out bytes.Buffer
	out.WriteString("openssh-key-v1\x00")
	putString(&out, []byte("none"))
	putString(&out, []byte("none"))
	putString(&out, nil)
	putUint32(&out, 1)
	putString(&out, pubBlob.Bytes())
	putString(&out, sec.Bytes())
	return out.Bytes()
}

func putUint32(b *bytes.Buffer, v uint32) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], v)
	b.Write(n[:])
}

func putString(b *bytes.Buffer, s []byte) {
	putUint32(b, uint32(len(s)))
	b.Write(s)
}

// Key is a stack-generated host key as Pulumi outputs.
type Key struct {
	// Private is secret; Public is not (it is what known_hosts holds).
	Private pulumi.StringOutput
	Public  pulumi.StringOutput
}

// New registers the seed (random.RandomBytes, kept in the state, secret)
// and derives the key pair from it.
func New(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*Key, error) {
	seed, err := random.NewRandomBytes(ctx, name, &random.RandomBytesArgs{Length: pulumi.Int(SeedSize)}, opts...)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", name, err)
	}
	derive := func(b64 string) (Pair, error) {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return Pair{}, fmt.Errorf("host key %s: seed: %w", name, err)
		}
		return FromSeed(raw)
	}
	private := pulumi.ToSecret(seed.Base64.ApplyT(func(b64 string) (string, error) {
		p, err := derive(b64)
		return p.Private, err
	})).(pulumi.StringOutput)
	// The public half reveals nothing; unsecret, it shows in outputs and diffs.
	public := pulumi.Unsecret(seed.Base64.ApplyT(func(b64 string) (string, error) {
		p, err := derive(b64)
		return p.Public, err
	})).(pulumi.StringOutput)
	return &Key{Private: private, Public: public}, nil
}
