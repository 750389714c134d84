package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestInvalidateCloudFrontLimits: CloudFront's limits on one invalidation
// are checked before CloudFront is asked, with the same words as in Slack.
func TestInvalidateCloudFrontLimits(t *testing.T) {
	emu := emulator.New(emulator.Options{Distributions: []string{defaultDistributionID}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	env := func(k string) string {
		return map[string]string{config.EnvDistributionID: defaultDistributionID, config.EnvCloudFrontEndpoint: srv.URL}[k]
	}
	wildcards := make([]string, cloudfrontcdn.MaxWildcardPaths+1)
	for i := range wildcards {
		wildcards[i] = fmt.Sprintf("/w%d/*", i)
	}
	code, _, errOut := runCmd(t, env, append([]string{"invalidate"}, wildcards...)...)
	if code == 0 || !strings.Contains(errOut, "16 wildcard paths in one request; CloudFront allows at most 15 in progress") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := emu.Calls(emulator.OpCreateInvalidation); n != 0 {
		t.Fatalf("CloudFront was asked %d times", n)
	}
	// 15 go through.
	if code, out, errOut := runCmd(t, env, append([]string{"invalidate"}, wildcards[:cloudfrontcdn.MaxWildcardPaths]...)...); code != 0 {
		t.Fatalf("15 wildcards: exit %d\n%s\n%s", code, out, errOut)
	}
}
