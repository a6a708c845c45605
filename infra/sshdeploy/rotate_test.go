package sshdeploy

import (
	"os/exec"
	"strings"
	"testing"
)

// The scripts parse (sh -n), and the remote one, which travels in single
// quotes inside the local one, has none itself.
func TestRotateScriptsParse(t *testing.T) {
	if strings.Contains(remoteInstallScript, "'") {
		t.Fatal("the remote install script holds a single quote: it would end the quoting it travels in")
	}
	for name, s := range map[string]string{"local": RotateScript(), "remote": remoteInstallScript} {
		if out, err := exec.Command("/bin/sh", "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("%s script does not parse: %v\n%s", name, err, out)
		}
	}
	for _, o := range Options() {
		if !strings.Contains(RotateScript(), o) {
			t.Errorf("the rotation's ssh lacks option %s", o)
		}
	}
}
