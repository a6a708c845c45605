package integration

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ampledata/temporal-kit/stacks"
	"github.com/ampledata/temporal-kit/stacks/stacktest"
)

// capNames are the kernel's capability numbers (linux/capability.h), by bit.
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// capSet decodes a /proc/<pid>/status capability mask into CAP_ names.
func capSet(hex string) ([]string, error) {
	mask, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return nil, err
	}
	var out []string
	for bit := 0; bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		name := fmt.Sprintf("CAP_%d", bit)
		if bit < len(capNames) {
			name = "CAP_" + capNames[bit]
		}
		out = append(out, name)
	}
	return out, nil
}

// checkPrivileges reads, in each running container, what the kernel says
// its first process may do: the bounding set (what any process in it can
// ever hold) must be exactly the capabilities the Definition adds back,
// the effective set no more than that, and NoNewPrivs set. Jobs have
// exited: their engine config is checked instead.
func checkPrivileges(ctx context.Context, t *testing.T, st *stacktest.Stack, def stacks.Definition) {
	for _, svc := range def.Services {
		t.Run(svc.Name, func(t *testing.T) {
			c := st.Container(svc.Name)
			if c == nil {
				t.Skip("not started")
			}
			info, err := c.Inspect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if hc := info.HostConfig; !slices.Equal(hc.CapDrop, []string{"ALL"}) || !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) {
				t.Errorf("engine config: CapDrop %v, SecurityOpt %v", hc.CapDrop, hc.SecurityOpt)
			}
			if svc.Kind == stacks.OneShot {
				return
			}
			code, out, err := st.Exec(ctx, svc.Name, "cat", "/proc/1/status")
			if err != nil || code != 0 {
				t.Fatalf("read /proc/1/status: code %d, %v\n%s", code, err, out)
			}
			status := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					status[k] = strings.TrimSpace(v)
				}
			}
			want := slices.Sorted(slices.Values(svc.CapAdd))
			bnd, err := capSet(status["CapBnd"])
			if err != nil {
				t.Fatalf("CapBnd %q: %v", status["CapBnd"], err)
			}
			if !slices.Equal(bnd, want) {
				t.Errorf("bounding set %v, want %v", bnd, want)
			}
			eff, err := capSet(status["CapEff"])
			if err != nil {
				t.Fatalf("CapEff %q: %v", status["CapEff"], err)
			}
			for _, cp := range eff {
				if !slices.Contains(want, cp) {
					t.Errorf("effective %s, which the Definition does not add", cp)
				}
			}
			if status["NoNewPrivs"] != "1" {
				t.Errorf("NoNewPrivs %q, want 1", status["NoNewPrivs"])
			}
			t.Logf("FIGURE %-22s CapEff %s (%v), CapBnd %s, NoNewPrivs %s", svc.Name, status["CapEff"], eff, status["CapBnd"], status["NoNewPrivs"])
		})
	}
}
