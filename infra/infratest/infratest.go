// Package infratest runs the kit's Pulumi program under pulumi.WithMocks:
// no CLI, no provider plugin, no Docker. It records every registered
// resource with its inputs (secrets kept as secrets) and plays the provider's
// part for the few outputs the program reads.
package infratest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ampledata/temporal-kit/stacks"
)

// Resource types the kit registers.
const (
	TypeContainer      = "docker:index/container:Container"
	TypeNetwork        = "docker:index/network:Network"
	TypeVolume         = "docker:index/volume:Volume"
	TypeRemoteImage    = "docker:index/remoteImage:RemoteImage"
	TypeImage          = "docker:index/image:Image"
	TypeRandomPassword = "random:index/randomPassword:RandomPassword"
	TypeCommand        = "command:local:Command"
	TypeDockerProvider = "pulumi:providers:docker"
	TypeRandomBytes    = "random:index/randomBytes:RandomBytes"
)

// JobRunSuffix names the command that runs a one-shot job: "<job>-run".
const JobRunSuffix = "-run"

// Resource is one registration seen by the mocks.
type Resource struct {
	Type, Name, URN string
	Inputs          resource.PropertyMap
	// Deps are the URNs the resource was registered as depending on.
	Deps []string
	// RetainOnDelete: `pulumi destroy` leaves the resource in place.
	RetainOnDelete bool
	// Provider is the explicit provider's reference ("urn::id"); empty for
	// the default provider.
	Provider string
}

// Key is "type name", the form resource lists are compared in.
func (r Resource) Key() string { return r.Type + " " + r.Name }

// Mocks implements pulumi.MockResourceMonitor.
type Mocks struct {
	// ExitCodes sets the exit code a one-shot job's container reports, by
	// job name; unset means 0. A non-zero code fails the job's run command,
	// as the command provider does.
	ExitCodes map[string]int

	mu        sync.Mutex
	stack     string
	resources []Resource
}

// NewMocks returns mocks under which every job succeeds.
func NewMocks() *Mocks { return &Mocks{ExitCodes: map[string]int{}} }

// GeneratedBytes is what the mock random provider returns, base64, for a
// RandomBytes resource: 32 bytes fixed by the resource's name.
func GeneratedBytes(name string) string {
	sum := sha256.Sum256([]byte("mock random bytes " + name))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Generated is the value the mock random provider returns for a password resource.
func Generated(name string) string { return "generated-" + name + "-value" }

// JobOutput is what the mock command provider reports a job printed: its
// last line is the job's status output.
func JobOutput(job string) string { return "starting " + job + "\n" + job + " is done\n" }

// PulledID is the image ID the mock docker provider reports for a pulled image resource.
func PulledID(name string) string { return "sha256:pulled-" + name }

// BuiltID is the image ID the mock docker provider reports for a built image resource.
func BuiltID(name string) string { return "sha256:built-" + name }

// NewResource records the registration and returns the inputs as state, plus
// the outputs a real provider would compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs, Provider: args.Provider}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Deps = append(r.Deps, rpc.GetDependencies()...)
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		sort.Strings(r.Deps)
	}
	state := args.Inputs.Copy()
	switch args.TypeToken {
	case TypeRandomPassword:
		state["result"] = resource.NewProperty(Generated(args.Name))
	case TypeRandomBytes:
		state["base64"] = resource.MakeSecret(resource.NewProperty(GeneratedBytes(args.Name)))
	case TypeRemoteImage:
		state["imageId"] = resource.NewProperty(PulledID(args.Name))
	case TypeImage:
		state["repoDigest"] = resource.NewProperty(BuiltID(args.Name))
	case TypeCommand:
		job := strings.TrimSuffix(args.Name, JobRunSuffix)
		m.mu.Lock()
		code := m.ExitCodes[job]
		m.mu.Unlock()
		if code != 0 {
			return "", nil, fmt.Errorf("exit status %d: running job %s", code, job)
		}
		state["stdout"] = resource.NewProperty(JobOutput(job))
		state["stderr"] = resource.NewProperty("")
	}
	id := args.Name + "-id"
	if hid, ok := hcloudState(args, state); ok {
		id = hid
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r.URN = URN(m.stack, args.TypeToken, args.Name)
	m.resources = append(m.resources, r)
	return id, state, nil
}

// Call answers provider functions; the kit calls none.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("infratest: unexpected call of %s", args.Token)
}

// Resources returns what was registered, sorted by type and name.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Keys returns the "type name" of every registered resource, sorted.
func (m *Mocks) Keys() []string {
	var keys []string
	for _, r := range m.Resources() {
		keys = append(keys, r.Key())
	}
	return keys
}

// Find returns the registered resource of that type and name.
func (m *Mocks) Find(typ, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Of returns the registered resources of one type by name.
func (m *Mocks) Of(typ string) map[string]Resource {
	out := map[string]Resource{}
	for _, r := range m.Resources() {
		if r.Type == typ {
			out[r.Name] = r
		}
	}
	return out
}

// SetConfig sets the stack config as the Pulumi CLI hands it to a program:
// the PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS environment variables,
// which pulumi.RunErr reads and from which the program lists the stack's
// keys. Keys are given without the temporal-kit: prefix unless they name
// another namespace ("docker:host"); keys listed in secret were set with
// --secret. The variables are restored when t ends.
func SetConfig(t testing.TB, values map[string]string, secret ...string) {
	t.Helper()
	cfg := map[string]string{}
	for k, v := range values {
		cfg[fullKey(k)] = v
	}
	secretKeys := []string{}
	for _, k := range secret {
		secretKeys = append(secretKeys, fullKey(k))
	}
	for name, v := range map[string]any{pulumi.EnvConfig: cfg, pulumi.EnvConfigSecretKeys: secretKeys} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(name, string(b))
	}
}

func fullKey(k string) string {
	if strings.Contains(k, ":") {
		return k
	}
	return stacks.Namespace + ":" + k
}

// URN is the URN of a top-level resource of the kit's project in stack.
func URN(stack, typ, name string) string {
	return string(resource.NewURN(tokens.QName(stack), tokens.PackageName(stacks.Namespace), "", tokens.Type(typ), name))
}

// Run runs prog as stack under m with the given config options.
func Run(stack string, m *Mocks, prog pulumi.RunFunc, opts ...pulumi.RunOption) error {
	m.mu.Lock()
	m.stack = stack
	m.mu.Unlock()
	return pulumi.RunErr(prog, append([]pulumi.RunOption{pulumi.WithMocks(stacks.Namespace, stack, m)}, opts...)...)
}

// Strings returns the strings under v, split by whether a secret encloses
// them: what a test checks a secret value never shows in plain.
func Strings(v resource.PropertyValue) (plain, secret []string) {
	var walk func(v resource.PropertyValue, inSecret bool)
	walk = func(v resource.PropertyValue, inSecret bool) {
		switch {
		case v.IsSecret():
			walk(v.SecretValue().Element, true)
		case v.IsString():
			if inSecret {
				secret = append(secret, v.StringValue())
			} else {
				plain = append(plain, v.StringValue())
			}
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e, inSecret)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e, inSecret)
			}
		}
	}
	walk(v, false)
	return plain, secret
}
