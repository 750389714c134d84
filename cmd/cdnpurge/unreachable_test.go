package main

import (
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestCLIUnreachable checks that invalidate, status and list, aimed at an
// endpoint where nothing listens, say CloudFront could not be reached there
// (its scheme, host and port only) and, for invalidate, that nothing was
// purged.
func TestCLIUnreachable(t *testing.T) {
	addr, err := testutil.FreeAddr() // closed again: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	getenv := cliEnv(base + "/some/path?token=hunter2")
	tests := []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"invalidate", "/index.html"}, []string{"nothing was purged"}, []string{"may have been created"}},
		{[]string{"invalidate", "--json", "/index.html"}, []string{"nothing was purged"}, []string{"may have been created"}},
		{[]string{"status", "I2J0I21PCUYOIK"}, nil, []string{"nothing was purged"}},
		{[]string{"status"}, nil, []string{"nothing was purged"}},
		{[]string{"list"}, nil, []string{"nothing was purged"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, getenv, tt.args...)
			if code != exitCDN {
				t.Errorf("exit code %d, want %d", code, exitCDN)
			}
			want := append([]string{"CloudFront could not be reached at " + base + " (connection refused)", "CDNPURGE_CLOUDFRONT_ENDPOINT"}, tt.want...)
			for _, s := range want {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not say %q:\n%s", s, errOut)
				}
			}
			for _, s := range append([]string{"did not answer in time", "hunter2", "/some/path"}, tt.notWant...) {
				if strings.Contains(out+errOut, s) {
					t.Errorf("output says %q:\nstdout:\n%s\nstderr:\n%s", s, out, errOut)
				}
			}
			t.Logf("stderr: %s", errOut)
		})
	}
}
