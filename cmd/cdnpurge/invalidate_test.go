package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

var timestamped = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ invalidation I[0-9A-Z]+ `)

func TestInvalidate(t *testing.T) {
	tests := []struct {
		name          string
		completeAfter time.Duration
		unset         []string
		args          []string
		wantCode      int
		wantOut       []string
		wantErr       []string
		check         func(t *testing.T, getenv func(string) string, out, errOut string)
	}{
		{
			name: "created without waiting", completeAfter: time.Hour,
			args:     []string{"invalidate", "/blog/*", "/blog/post.html", "https://www.example.com/about?lang=en", "/index.html", "/index.html"},
			wantCode: 0,
			wantOut:  []string{"status        InProgress", "/blog/*", "/about?lang=en", "/index.html", "dropped       2 of 5 given"},
			check: func(t *testing.T, getenv func(string) string, out, _ string) {
				id := fieldValue(out, "invalidation")
				if id == "" {
					t.Fatalf("no invalidation ID in:\n%s", out)
				}
				code, status, errOut := runCmd(t, getenv, "status", id)
				if code != 0 || fieldValue(status, "invalidation") != id || !strings.Contains(status, "InProgress") {
					t.Fatalf("status %s: exit %d\n%s%s", id, code, status, errOut)
				}
				if strings.Contains(out, "\r") {
					t.Errorf("output to a non-terminal holds \\r:\n%q", out)
				}
			},
		},
		{
			name: "waits until completed", completeAfter: 300 * time.Millisecond,
			args:     []string{"invalidate", "--wait", "/a", "/b"},
			wantCode: 0,
			wantOut:  []string{"InProgress, 0s elapsed", "Completed after"},
			check: func(t *testing.T, _ func(string) string, out, _ string) {
				lines := timestamped.FindAllString(out, -1)
				if len(lines) != 2 {
					t.Errorf("want 2 timestamped lines (InProgress, Completed), got %d:\n%s", len(lines), out)
				}
				if strings.Contains(out, "\r") {
					t.Errorf("output to a non-terminal holds \\r:\n%q", out)
				}
			},
		},
		{
			name: "flags after paths", completeAfter: 200 * time.Millisecond,
			args:     []string{"invalidate", "/a", "--wait", "--json"},
			wantCode: 0,
			check: func(t *testing.T, _ func(string) string, out, errOut string) {
				var got invalidateJSON
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("--json: %v\n%s", err, out)
				}
				if got.ID == "" || got.Status != purge.StatusCompleted || got.Distribution != testutil.DistributionID ||
					len(got.Paths) != 1 || got.Paths[0] != "/a" || got.Created.IsZero() || got.Elapsed <= 0 || got.Elapsed > 30 {
					t.Errorf("JSON: %+v", got)
				}
				if !timestamped.MatchString(errOut) {
					t.Errorf("with --json, progress belongs on stderr:\n%s", errOut)
				}
			},
		},
		{
			name: "wait times out", completeAfter: time.Hour,
			args:     []string{"invalidate", "--wait", "--timeout", "300ms", "/a"},
			wantCode: exitTimeout,
			wantErr:  []string{"still running", "cdnpurge status I"},
			check: func(t *testing.T, _ func(string) string, out, errOut string) {
				if id := fieldValue(out, "invalidation"); id == "" || !strings.Contains(errOut, id) {
					t.Errorf("the message does not name invalidation %q:\n%s", id, errOut)
				}
			},
		},
		{
			name: "bad path", completeAfter: time.Hour,
			args:     []string{"invalidate", "/ok.html", "/a*b"},
			wantCode: exitRefused,
			wantErr:  []string{`"/a*b"`, "* only as the last character"},
			check: func(t *testing.T, getenv func(string) string, out, _ string) {
				if out != "" {
					t.Errorf("stdout: %q", out)
				}
				if ids := listIDs(t, getenv); len(ids) != 0 {
					t.Errorf("a refused command created %v", ids)
				}
			},
		},
		{
			name: "path without a slash", completeAfter: time.Hour,
			args:     []string{"invalidate", "index.html"},
			wantCode: exitRefused,
			wantErr:  []string{`"index.html" must start with /`},
		},
		{
			name: "unknown distribution", completeAfter: time.Hour,
			args:     []string{"invalidate", "--distribution", "ENOSUCHDIST", "/a"},
			wantCode: exitCDN,
			wantErr:  []string{"no distribution ENOSUCHDIST"},
		},
		{
			name: "no paths", completeAfter: time.Hour,
			args:     []string{"invalidate", "--wait"},
			wantCode: 2,
			wantErr:  []string{"no paths given"},
		},
		{
			name: "bad flag", completeAfter: time.Hour,
			args:     []string{"invalidate", "--purge-all", "/a"},
			wantCode: 2,
			wantErr:  []string{"flag provided but not defined"},
		},
		{
			name: "bad --distribution", completeAfter: time.Hour,
			args:     []string{"invalidate", "--distribution", "my-site", "/a"},
			wantCode: 2,
			wantErr:  []string{`--distribution "my-site" is not a distribution ID`},
		},
		{
			name: "no distribution configured", completeAfter: time.Hour, unset: []string{config.EnvDistributionID},
			args:     []string{"invalidate", "/a"},
			wantCode: exitFailure,
			wantErr:  []string{config.EnvDistributionID + " is not set", "--distribution"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := cliEnv(testutil.MustEmulator(t, tt.completeAfter), tt.unset...)
			code, out, errOut := runCmd(t, getenv, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			wantOutput(t, out, errOut, tt.wantOut, tt.wantErr)
			if tt.check != nil {
				tt.check(t, getenv, out, errOut)
			}
		})
	}
}

func TestInvalidateCallerReference(t *testing.T) {
	getenv := cliEnv(testutil.MustEmulator(t, time.Hour))
	var ids []string
	for range 2 {
		code, out, errOut := runCmd(t, getenv, "invalidate", "--caller-reference", "pipeline-1234", "/a", "/b")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		ids = append(ids, fieldValue(out, "invalidation"))
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("the same caller reference gave %q then %q", ids[0], ids[1])
	}
	if got := listIDs(t, getenv); len(got) != 1 {
		t.Fatalf("a retry created another invalidation: %v", got)
	}
	code, _, errOut := runCmd(t, getenv, "invalidate", "--caller-reference", "pipeline-1234", "/other")
	if code != exitCDN || !strings.Contains(errOut, "already used for other paths") {
		t.Fatalf("same reference, other paths: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, getenv, "invalidate", "--caller-reference", " ", "/a"); code != 2 {
		t.Fatalf("empty reference: exit %d: %s", code, errOut)
	}
}

// wantOutput fails the test for each of wantOut that stdout lacks and each
// of wantErr that stderr lacks.
func wantOutput(t *testing.T, stdout, stderr string, wantOut, wantErr []string) {
	t.Helper()
	for _, want := range wantOut {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range wantErr {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
