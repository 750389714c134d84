package testutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The helpers below are shared by the tests and by the measuring scripts
// (scripts/coldstart, scripts/rss), which return errors instead of failing a
// test.

// FreeAddr returns a free port on 127.0.0.1, as "127.0.0.1:PORT".
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitListening waits until something accepts connections on addr, for at
// most 20 seconds.
func WaitListening(addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

// FindRIE finds aws-lambda-rie on PATH or in GOBIN or GOPATH/bin, where
// `go install` puts it.
func FindRIE() (string, error) {
	p, err := FindTool("aws-lambda-rie")
	if err != nil {
		return "", errors.New("aws-lambda-rie is not installed (.ci/run installs it with go install; see README.md, Tests)")
	}
	return p, nil
}

// FindTool finds the program name on PATH or, for one installed with
// `go install`, in GOBIN or each GOPATH's bin.
func FindTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	out, _ := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var dirs []string
	if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
		dirs = append(dirs, strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed", name)
}

// MustTool returns the path of the program name (see FindTool), or
// skips the test, saying how to install it: .ci/run installs every tool,
// and fails in CI when one is missing, so there nothing skips.
func MustTool(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := FindTool(name)
	if err != nil {
		tb.Skipf("%v: %s (.ci/run does)", err, install)
	}
	return p
}
