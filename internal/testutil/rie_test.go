package testutil

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// mustRIEOptions runs /bin/true as the bootstrap: RIE starts the
// bootstrap only on the first invoke, so these tests never run it.
func mustRIEOptions(t *testing.T) (RIEOptions, *LockedBuffer) {
	t.Helper()
	path, err := FindRIE()
	if err != nil {
		t.Skip(err)
	}
	var out LockedBuffer
	return RIEOptions{Path: path, Bootstrap: "/bin/true", Env: []string{"HOME=" + t.TempDir()}, Output: &out}, &out
}

func TestStartRIEListensOnBothPorts(t *testing.T) {
	opts, out := mustRIEOptions(t)
	r, err := StartRIE(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.InvokeAddr == r.RuntimeAPIAddr {
		t.Fatalf("one address for both APIs: %s", r.InvokeAddr)
	}
	for _, addr := range []string{r.InvokeAddr, r.RuntimeAPIAddr} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("RIE listens on %s, not on loopback", addr)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", addr, err, out.String())
		}
		c.Close()
	}
	ports, err := listeningPorts(r.cmd.Process.Pid)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if len(ports) != 2 {
		t.Errorf("RIE listens on %v, want its two ports", ports)
	}
}

// TestStartRIERetriesATakenPort: another process holds the Runtime API
// port picked first (as a parallel test may bind a port just freed); RIE
// fails to bind it, and the start is tried again with a fresh port.
func TestStartRIERetriesATakenPort(t *testing.T) {
	opts, _ := mustRIEOptions(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	pick := func() (string, error) {
		picks++
		if picks == 1 {
			return taken.Addr().String(), nil
		}
		return FreeAddr()
	}
	r, err := startRIE(opts, pick)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if picks != 2 || r.RuntimeAPIAddr == taken.Addr().String() {
		t.Fatalf("%d picks, runtime API on %s (taken: %s)", picks, r.RuntimeAPIAddr, taken.Addr())
	}
}

// TestStartRIEGivesUp: when every pick is taken, StartRIE fails with
// each attempt's reason instead of handing back another process's port.
func TestStartRIEGivesUp(t *testing.T) {
	opts, _ := mustRIEOptions(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	_, err = startRIE(opts, func() (string, error) { picks++; return taken.Addr().String(), nil })
	if err == nil {
		t.Fatal("RIE started on a port another process holds")
	}
	if picks != rieStartAttempts || !strings.Contains(err.Error(), "failed to listen") {
		t.Fatalf("%d picks: %v", picks, err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != rieStartAttempts {
		t.Fatalf("want one error per attempt: %v", err)
	}
}
