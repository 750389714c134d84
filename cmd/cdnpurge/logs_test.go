package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// durationKeys are names a log line once gave a time.Duration under, which
// slog's JSON handler writes as integer nanoseconds.
var durationKeys = []string{"duration", "after", "watched", "age", "grace", "delay", "elapsed", "took", "latency"}

// TestLogDurationsInSeconds runs the demo's whole flow with its JSON log
// (requests, the audit post, the follow-up, the shutdown) and checks that
// every duration in it is a number of seconds under a *_seconds key, never
// integer nanoseconds.
func TestLogDurationsInSeconds(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "demo", "-v", "--complete-after", "300ms")
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errOut)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		for k, v := range rec {
			for _, d := range durationKeys {
				if k == d {
					t.Errorf("%q logs a duration as %v (nanoseconds): %s", k, v, line)
				}
			}
			if strings.HasSuffix(k, "_seconds") {
				if f, ok := v.(float64); !ok || f < 0 || f > 60 {
					t.Errorf("%s = %v, want seconds: %s", k, v, line)
				}
				seen[k] = true
			}
		}
	}
	for _, want := range []string{"duration_seconds", "after_seconds"} {
		if !seen[want] {
			t.Errorf("no log line has %s:\n%s", want, errOut)
		}
	}
}
