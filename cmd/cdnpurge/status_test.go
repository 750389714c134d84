package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestStatus(t *testing.T) {
	endpoint := testutil.MustEmulator(t, time.Hour)
	getenv := cliEnv(endpoint)
	empty := cliEnv(testutil.MustEmulator(t, time.Hour))
	backend := testutil.NewInvalidator(endpoint)
	create := func(ref string, paths ...string) string {
		t.Helper()
		inv, err := backend.CreateInvalidation(context.Background(), purge.Batch{DistributionID: testutil.DistributionID, CallerReference: ref, Paths: paths})
		if err != nil {
			t.Fatal(err)
		}
		return inv.ID
	}
	console := create("console-2026-01-01", "/console")
	slackID := create(purge.SlackCallerReference("U123", "trigger.1"), "/slack")
	code, out, errOut := runCmd(t, getenv, "invalidate", "/cli/*")
	if code != 0 {
		t.Fatalf("invalidate: exit %d: %s", code, errOut)
	}
	cliID := fieldValue(out, "invalidation")

	tests := []struct {
		name     string
		getenv   func(string) string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{"latest", getenv, []string{"status"}, 0, []string{"invalidation  " + cliID, "requested by  cdnpurge CLI", "paths         /cli/*", "InProgress", "s ago)"}, ""},
		{"by ID, from the CLI", getenv, []string{"status", cliID}, 0, []string{cliID, "cdnpurge CLI"}, ""},
		{"by ID, from Slack", getenv, []string{"status", slackID}, 0, []string{slackID, "requested by  Slack user U123", "/slack"}, ""},
		{"by ID, from elsewhere", getenv, []string{"status", console}, 0, []string{console, "unknown (not created by cdnpurge)"}, ""},
		{"no invalidations", empty, []string{"status"}, 0, []string{"has no invalidations"}, ""},
		{"unknown ID", getenv, []string{"status", "INOSUCHINVALID"}, exitCDN, nil, "no invalidation INOSUCHINVALID"},
		{"unknown distribution", getenv, []string{"status", "--distribution", "ENOSUCHDIST"}, exitCDN, nil, "no distribution ENOSUCHDIST"},
		{"two IDs", getenv, []string{"status", cliID, slackID}, 2, nil, "at most one invalidation ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.getenv, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, errOut := runCmd(t, getenv, "status", "--json", slackID)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got statusJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got.ID != slackID || got.RequestedBy != "Slack user U123" || got.Status != purge.StatusInProgress ||
			len(got.Paths) != 1 || got.Created.IsZero() || got.Age < 0 || got.Age > 60 {
			t.Errorf("JSON: %+v", got)
		}
		if code, out, _ := runCmd(t, empty, "status", "--json"); code != 0 || strings.TrimSpace(out) != "null" {
			t.Errorf("no invalidations: exit %d, %q", code, out)
		}
	})
}
