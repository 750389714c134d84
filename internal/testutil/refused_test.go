package testutil

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

func TestMustRefusingAddrRefuses(t *testing.T) {
	addr := MustRefusingAddr(t)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("%s accepted a connection", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: %v, want connection refused", addr, err)
		}
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("another listener could bind %s", addr)
	}
}
