package testutil

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Process is a cdnpurge child process whose stdout carries JSON log lines,
// as `serve` writes them: a test waits for a line by its message and reads
// what it says.
type Process struct {
	Cmd    *exec.Cmd
	stdout LockedBuffer
	stderr LockedBuffer
	lines  chan map[string]any
}

// MustStartProcess starts cmd, reading its stdout line by line; the process
// is killed when the test ends, if it is still running.
func MustStartProcess(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p := &Process{Cmd: cmd, lines: make(chan map[string]any, 100)}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck // gone already when the test passes
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write(append(sc.Bytes(), '\n')) //nolint:errcheck // a buffer
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"not_json": sc.Text()}
			}
			p.lines <- rec
		}
	}()
	return p
}

// Next waits for the next log line whose msg is msg and returns it; a line
// on stdout that is not JSON fails the test.
func (p *Process) Next(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case rec, ok := <-p.lines:
			if !ok {
				tb.Fatalf("stdout ended before %q; stdout:\n%s\nstderr:\n%s", msg, p.stdout.String(), p.stderr.String())
			}
			if s, ok := rec["not_json"]; ok {
				tb.Errorf("not a JSON log line on stdout: %q", s)
			}
			if rec["msg"] == msg {
				return rec
			}
		case <-timeout:
			tb.Fatalf("no log line %q; stdout:\n%s\nstderr:\n%s", msg, p.stdout.String(), p.stderr.String())
		}
	}
}

// Wait reads stdout to its end (Wait closes it) and waits for the process
// to exit.
func (p *Process) Wait(tb testing.TB) error {
	tb.Helper()
	for rec := range p.lines {
		if s, ok := rec["not_json"]; ok {
			tb.Errorf("not a JSON log line on stdout: %q", s)
		}
	}
	return p.Cmd.Wait()
}

// Stdout is all the process wrote to stdout so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr is all the process wrote to stderr so far.
func (p *Process) Stderr() string { return strings.TrimSpace(p.stderr.String()) }
