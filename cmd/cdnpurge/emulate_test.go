package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestEmulateTenantFlag(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
	}{
		{"no prefix", "2wjDZi3hD1ivOXf6rpZJOSNE1AB"},
		{"a distribution ID", "EDFDVBD6EXAMPLE"},
		{"prefix only", "dt_"},
		{"a slash", "dt_a/b"},
		{"upper-case prefix", "DT_2wjDZi3hD1ivOXf6rpZJOSNE1AB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, nil, "emulate", "--addr", "127.0.0.1:0", "--tenant", tt.tenant)
			if code != 2 || !strings.Contains(errOut, "not a distribution tenant ID") {
				t.Errorf("exit %d, stderr %q; want 2 and a usage error", code, errOut)
			}
		})
	}
}

// TestEmulateTenant starts `cdnpurge emulate` with two tenants and purges
// one of them through the real backend.
func TestEmulateTenant(t *testing.T) {
	const tenant = "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testutil.LockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, env{
			args:   []string{"emulate", "--addr", "127.0.0.1:0", "--tenant", tenant, "--tenant", "dt_Other1", "--complete-after", "0s"},
			getenv: func(string) string { return "" },
			stdout: &stdout, stderr: &stderr,
		})
	}()

	addrRE := regexp.MustCompile(`CloudFront emulator on (http://127\.0\.0\.1:\d+) `)
	var endpoint string
	for deadline := time.Now().Add(10 * time.Second); endpoint == ""; time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stdout.String()); m != nil {
			endpoint = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("emulate exited %d: %s%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulate did not start:\n%s%s", stdout.String(), stderr.String())
		}
	}
	for _, want := range []string{"Distribution tenants: " + tenant + ", dt_Other1", "create-invalidation-for-distribution-tenant", "--id " + tenant} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}

	inv, err := cloudfrontcdn.New(testutil.AWSConfig(), cloudfrontcdn.Options{Endpoint: endpoint}).CreateInvalidation(ctx,
		purge.Batch{DistributionID: tenant, CallerReference: "emulate-test", Paths: []string{"/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if inv.DistributionID != tenant || inv.Status != purge.StatusCompleted {
		t.Errorf("CreateInvalidation on the tenant = %+v", inv)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulate exited %d after its context ended: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop")
	}
}
