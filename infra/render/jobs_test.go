package render

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runScript runs runJobScript with a fake docker CLI that prints lines and
// exits with code, and returns what the command provider would show.
func runScript(t *testing.T, lines, code int) (string, error) {
	t.Helper()
	bin := t.TempDir()
	fake := fmt.Sprintf("#!/bin/sh\n[ \"$1 $2 $3\" = 'start --attach temporal-kit-x-job' ] || { echo \"unexpected docker $*\"; exit 99; }\n"+
		"i=1; while [ $i -le %d ]; do echo \"log line $i\"; i=$((i+1)); done\nexit %d\n", lines, code)
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf(runJobScript, DockerCLI{}.command()))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"KIT_JOB=job", "KIT_JOB_CONTAINER=temporal-kit-x-job", fmt.Sprintf("KIT_JOB_LOG_LINES=%d", jobLogLines))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRunJobPassesTheExitCodeAndTheEndOfTheLog(t *testing.T) {
	out, err := runScript(t, 50, 3)
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("exit = %v, want code 3; output:\n%s", err, out)
	}
	for _, want := range []string{
		"log line 50", "log line 31",
		"job job failed: container temporal-kit-x-job exited with code 3",
		"docker logs temporal-kit-x-job",
		"run pulumi up again: the job runs again by itself",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "log line 30\n") {
		t.Errorf("more than the last %d lines of the log:\n%s", jobLogLines, out)
	}
}

func TestRunJobSucceedsQuietly(t *testing.T) {
	out, err := runScript(t, 3, 0)
	if err != nil {
		t.Fatalf("exit = %v; output:\n%s", err, out)
	}
	if out != "log line 1\nlog line 2\nlog line 3\n" {
		t.Errorf("output = %q", out)
	}
	if got := lastLine(out); got != "log line 3" {
		t.Errorf("status = %q, want the last line", got)
	}
	if got := lastLine(""); got != "completed (exit 0)" {
		t.Errorf("status of a silent job = %q", got)
	}
}
