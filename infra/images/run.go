package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// tailLines is how much of a failing command's output an error shows.
const tailLines = 40

// StepError says which image and which step failed, with the end of the
// step's output: enough to fix the cause without re-running verbosely.
type StepError struct {
	Image, Step string
	Err         error
	Tail        string
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("image %s: %s: %v", e.Image, e.Step, e.Err)
	if e.Tail != "" {
		msg += "\n--- last lines of output ---\n" + e.Tail
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// tailBuffer keeps the last n lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.push(string(t.part[:i]))
		t.part = t.part[i+1:]
	}
	return len(p), nil
}

func (t *tailBuffer) push(line string) {
	t.lines = append(t.lines, strings.TrimRight(line, "\r"))
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if len(t.part) > 0 {
		out = append(out, string(t.part))
	}
	return strings.Join(out, "\n")
}

// command describes one external program run by the builder.
type command struct {
	dir   string
	env   []string // added to the builder's environment
	stdin io.Reader
	name  string
	args  []string
}

// run executes c; its output goes to the verbose log and a tail buffer, and
// a failure becomes a StepError naming image and step.
func (b *Builder) run(ctx context.Context, image, step string, c command) error {
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = c.stdin
	tail := &tailBuffer{n: tailLines}
	var w io.Writer = tail
	if b.Verbose != nil {
		w = io.MultiWriter(tail, b.Verbose)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return &StepError{Image: image, Step: step, Err: err, Tail: tail.String()}
	}
	return nil
}

// output runs a short command and returns its stdout; stderr goes into the error.
func (b *Builder) output(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
