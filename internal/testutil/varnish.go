package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrNoVarnish is StartVarnish's error when varnishd or varnishadm is not
// installed.
var ErrNoVarnish = errors.New("varnishd not found (apt-get install varnish varnish-modules; .ci/run installs them)")

// varnishStartWithin bounds how long StartVarnish waits for varnishd to
// compile its VCL and start its child; it usually takes about a second.
const varnishStartWithin = 60 * time.Second

// Varnish is a varnishd started for a test.
type Varnish struct {
	// Addr is where it serves HTTP: "127.0.0.1:PORT".
	Addr string
	// URL is "http://" + Addr.
	URL string
	// Dir is its working directory (varnishd -n), for varnishadm.
	Dir string

	adm string        // varnishadm's path
	out *LockedBuffer // varnishd's output
	cmd *exec.Cmd     // varnishd -F, the manager process
	end chan struct{} // closed when cmd has exited
}

// CdnpurgeVCL returns the absolute path of the VCL cdnpurge ships,
// deploy/varnish/cdnpurge.vcl, so that tests run the shipped file itself.
func CdnpurgeVCL(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate internal/testutil")
	}
	p := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "varnish", "cdnpurge.vcl")
	if _, err := os.Stat(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// MustStartVarnish starts the real varnishd on a loopback port with the VCL
// at vclPath in front of the origin at backendAddr ("127.0.0.1:PORT"), and
// stops it when the test ends. It skips the test when varnishd is not
// installed.
//
// vclPath is included, unchanged, by a small generated VCL that only
// declares the backend; so vclPath must declare none (cdnpurge.vcl does
// not).
func MustStartVarnish(tb testing.TB, vclPath, backendAddr string) *Varnish {
	tb.Helper()
	v, err := StartVarnish(tb.TempDir(), vclPath, backendAddr)
	if errors.Is(err, ErrNoVarnish) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := v.Stop(); err != nil {
			tb.Error(err)
		}
		if tb.Failed() {
			tb.Logf("varnishd's output:\n%s", v.out.String())
		}
	})
	return v
}

// StartVarnish starts varnishd in the foreground (-F) with its working
// directory and generated VCL in dir, listening on a port of 127.0.0.1 the
// kernel picks, and waits until its child serves. It asks varnishd where
// it listens (varnishadm debug.listen_address) rather than picking a free
// port first, which another process could take meanwhile. On error nothing
// is left running; otherwise the caller must call Stop.
func StartVarnish(dir, vclPath, backendAddr string) (*Varnish, error) {
	varnishd, err := VarnishdPath()
	if err != nil {
		return nil, err
	}
	adm, err := lookSbin("varnishadm")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoVarnish, err)
	}
	main, err := writeMainVCL(dir, vclPath, backendAddr)
	if err != nil {
		return nil, err
	}
	v := &Varnish{Dir: filepath.Join(dir, "varnish"), adm: adm, out: &LockedBuffer{}, end: make(chan struct{})}
	v.cmd = exec.Command(varnishd,
		"-F",         // foreground: the process to stop is this one
		"-j", "none", // no jail: as root, the default jail would drop to a user that cannot read dir
		"-n", v.Dir,
		"-a", "127.0.0.1:0",
		"-T", "127.0.0.1:0", // the CLI varnishadm talks to; its secret is in v.Dir
		"-s", "malloc,32m",
		"-f", main,
	)
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start varnishd: %w", err)
	}
	go func() { v.cmd.Wait(); close(v.end) }()
	if err := v.waitServing(); err != nil {
		v.Stop()
		return nil, err
	}
	return v, nil
}

// lookSbin finds name on PATH or, since Debian installs varnishd there and
// a user's PATH may lack it, in /usr/sbin.
func lookSbin(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if p, err2 := exec.LookPath(filepath.Join("/usr/sbin", name)); err2 == nil {
		return p, nil
	}
	return "", err
}

// VarnishdPath returns the path of varnishd, or ErrNoVarnish.
func VarnishdPath() (string, error) {
	p, err := lookSbin("varnishd")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoVarnish, err)
	}
	return p, nil
}

// writeMainVCL writes the VCL varnishd loads: the backend, then vclPath
// included as it is.
func writeMainVCL(dir, vclPath, backendAddr string) (string, error) {
	abs, err := filepath.Abs(vclPath)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(backendAddr)
	if err != nil {
		return "", fmt.Errorf("backend address %q: %w", backendAddr, err)
	}
	// A VCL string cannot hold a double quote or a newline.
	if strings.ContainsAny(abs+host+port, "\"\n\r") {
		return "", fmt.Errorf("VCL path %q or backend %q cannot be written in VCL", abs, backendAddr)
	}
	vcl := fmt.Sprintf("vcl 4.1;\n\nbackend default {\n    .host = %q;\n    .port = %q;\n}\n\ninclude %q;\n", host, port, abs)
	main := filepath.Join(dir, "main.vcl")
	return main, os.WriteFile(main, []byte(vcl), 0o644)
}

// waitServing waits until varnishd's child runs and its listening address
// accepts connections, and sets Addr and URL.
func (v *Varnish) waitServing() error {
	deadline := time.Now().Add(varnishStartWithin)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-v.end:
			return fmt.Errorf("varnishd exited: %s", v.out.String())
		default:
		}
		addr, err := v.listenAddress()
		if err == nil {
			var c net.Conn
			if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				v.Addr, v.URL = addr, "http://"+addr
				return nil
			}
		}
		last = err
		select {
		case <-v.end:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("varnishd did not serve within %s: %v\n%s", varnishStartWithin, last, v.out.String())
}

// listenAddress asks the running child where it listens: varnishadm
// debug.listen_address answers "a0 127.0.0.1 PORT", one line a socket.
func (v *Varnish) listenAddress() (string, error) {
	// -t 0: without it, varnishadm waits a second or more for varnishd's
	// shared memory even once it is there.
	out, err := v.Admin("-t", "0", "debug.listen_address")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			return net.JoinHostPort(f[1], f[2]), nil
		}
	}
	return "", fmt.Errorf("debug.listen_address: no address in %q", out)
}

// Admin runs varnishadm on v with args (a command such as ban.list, after
// varnishadm's own options) and returns its output.
func (v *Varnish) Admin(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, v.adm, append([]string{"-n", v.Dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("varnishadm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// MustAdmin is Admin that fails the test on error.
func (v *Varnish) MustAdmin(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := v.Admin(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Output returns what varnishd has written so far.
func (v *Varnish) Output() string { return v.out.String() }

// Stop stops varnishd: SIGTERM to the manager, which stops its child, and
// SIGKILL if it has not exited within 10 seconds. It waits for the exit.
func (v *Varnish) Stop() error {
	select {
	case <-v.end:
		return nil
	default:
	}
	v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.end:
		return nil
	case <-time.After(10 * time.Second):
	}
	v.cmd.Process.Kill()
	<-v.end
	return fmt.Errorf("varnishd did not stop on SIGTERM within 10s; killed")
}
