package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestSpawnReconciles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cdnpurge and runs it as two child processes; skipped under -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command on PATH to build cdnpurge with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // the build included
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--spawn", "--count", "200", "--concurrency", "16", "--max-duration", "30s",
		"--fail-rate", "0.2", "--throttle-rate", "0.05", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	var rep struct {
		Sent           int              `json:"sent"`
		StoppedBy      string           `json:"stopped_by"`
		Status         map[string]int   `json:"status_codes"`
		Replies        map[string]any   `json:"replies"`
		Reconciliation reconciliation   `json:"reconciliation"`
		InjectedFaults map[string]any   `json:"injected_faults"`
		CloudFront     *cloudFrontCalls `json:"cloudfront_calls"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the -json report does not decode: %v\n%s", err, &stdout)
	}
	r := rep.Reconciliation
	switch {
	case rep.Sent != 200 || rep.StoppedBy != "count":
		t.Errorf("sent %d, stopped by %s; want 200 by count", rep.Sent, rep.StoppedBy)
	case rep.Status["200"] != 200:
		t.Errorf("status codes %v, want 200 OKs", rep.Status)
	case !r.Checked || !r.OK:
		t.Errorf("reconciliation failed: %+v", r)
	case r.Accepted == 0 || r.Created != r.Accepted || r.DistinctCallerReferences != r.Created:
		t.Errorf("accepted %d, created %d, distinct caller references %d", r.Accepted, r.Created, r.DistinctCallerReferences)
	case rep.InjectedFaults == nil || rep.InjectedFaults["unavailable"].(float64) == 0:
		t.Errorf("the emulator reports no injected 503s: %v", rep.InjectedFaults)
	}
	// Every purge made one CreateInvalidation at least; the injected 503s
	// made retries, which count too.
	if c := rep.CloudFront; c == nil || c.Skipped != "" || c.Purges != r.Accepted ||
		c.Calls["CreateInvalidation"] < c.Purges || c.PerPurge["CreateInvalidation"] < 1 {
		t.Errorf("CloudFront calls %+v, want at least one CreateInvalidation for each of %d purges", c, r.Accepted)
	}
	if started, warned := rep.Replies["in_channel_started"].(float64), rep.Replies["ephemeral_warning"].(float64); int(started+warned) != 200 {
		t.Errorf("replies %v: every command should start or warn", rep.Replies)
	}
}

func TestRefusesWhatIsNotLoopback(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr; "" for accepted
	}{
		{"private address", []string{"--target", "http://10.0.0.1:8080", "--secret", "s"}, "not loopback"},
		{"public host", []string{"--target", "https://example.com", "--secret", "s"}, "not loopback"},
		{"IPv6 public", []string{"--target", "http://[2001:db8::1]:80", "--secret", "s"}, "not loopback"},
		{"emulator elsewhere", []string{"--target", "http://127.0.0.1:1", "--secret", "s", "--cloudfront-endpoint", "http://192.0.2.1:4510"}, "--cloudfront-endpoint"},
		{"user info", []string{"--target", "http://user:pw@127.0.0.1:1", "--secret", "s"}, "user information"},
		{"no secret", []string{"--target", "http://127.0.0.1:1"}, "needs --secret"},
		{"faults need spawn", []string{"--target", "http://127.0.0.1:1", "--secret", "s", "--fail-rate", "0.1"}, "need --spawn"},
		{"both modes", []string{"--spawn", "--target", "http://127.0.0.1:1"}, "exclude each other"},
		{"neither mode", nil, "--spawn or --target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, &stderr, tt.want)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:8080", "https://localhost:8443/", "http://LOCALHOST"} {
		if err := checkLoopbackURL(ok); err != nil {
			t.Errorf("checkLoopbackURL(%q) = %v", ok, err)
		}
	}
}

func TestClientDialsOnlyLoopback(t *testing.T) {
	c := newLoopbackClient(1, 5*time.Second)
	// The dialer refuses before connecting: nothing leaves the machine.
	_, err := c.Get("http://192.0.2.1:9/")
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("GET of a non-loopback address: %v", err)
	}
}
