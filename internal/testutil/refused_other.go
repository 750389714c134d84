//go:build !unix

package testutil

import "testing"

// MustRefusingAddr returns a loopback address that refuses connections.
// Here it is a port freed after use, which another process may bind.
func MustRefusingAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}
