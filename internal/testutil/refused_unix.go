//go:build unix

package testutil

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// MustRefusingAddr returns a loopback address that refuses connections
// until the test ends: a socket bound to it that never listens. Unlike a
// port freed after use, no other process can bind it meanwhile.
func MustRefusingAddr(tb testing.TB) string {
	tb.Helper()
	// Close-on-exec, as Go's own sockets: a child process (RIE,
	// moto_server) must not inherit it.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
