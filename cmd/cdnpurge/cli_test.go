package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// cliEnv is the environment of a pipeline aimed at the emulator at endpoint;
// unset lists variables to leave out.
func cliEnv(endpoint string, unset ...string) func(string) string {
	vars := map[string]string{
		config.EnvCloudFrontEndpoint: endpoint,
		config.EnvDistributionID:     testutil.DistributionID,
	}
	for _, k := range unset {
		delete(vars, k)
	}
	return func(k string) string { return vars[k] }
}

// fieldValue returns the value of the first "key  value" line of out.
func fieldValue(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// listIDs runs `list` and returns the IDs it prints, in order.
func listIDs(t *testing.T, getenv func(string) string, args ...string) []string {
	t.Helper()
	return listIDsWith(t, nil, getenv, args...)
}

// listIDsWith is listIDs with settings s (nil: the defaults).
func listIDsWith(t *testing.T, s *settings, getenv func(string) string, args ...string) []string {
	t.Helper()
	code, out, errOut := runCmdWith(t, s, getenv, append([]string{"list", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("list exited %d: %s", code, errOut)
	}
	var l listJSON
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	ids := []string{}
	for _, s := range l.Invalidations {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestJSONOnFailure checks that with --json a failing invalidate, status or
// list prints one JSON object on stdout, {"error": {"code", "message"}}
// (inside the invalidation's own object when one was created), and exits
// with the same code as without --json.
func TestJSONOnFailure(t *testing.T) {
	tests := []struct {
		name        string
		unset       []string
		args        []string // --json is added at the end, or after the command with jsonFirst
		jsonFirst   bool
		wantCode    int
		wantErrCode purge.Code
		wantMessage string
		wantCreated bool // the object is the invalidation, with the error inside
	}{
		{name: "refused path", args: []string{"invalidate", "/ok.html", "/a*b"}, wantCode: exitRefused, wantErrCode: purge.Invalid, wantMessage: `"/a*b"`},
		{name: "unknown distribution", args: []string{"invalidate", "--distribution", "ENOSUCHDIST", "/a"}, wantCode: exitCDN, wantErrCode: purge.NotFound, wantMessage: "ENOSUCHDIST"},
		{name: "no paths", args: []string{"invalidate"}, wantCode: 2, wantErrCode: purge.Invalid, wantMessage: "no paths given"},
		{name: "bad flag after --json", args: []string{"invalidate", "--purge-all", "/a"}, jsonFirst: true, wantCode: 2, wantErrCode: purge.Invalid, wantMessage: "flag provided but not defined: -purge-all"},
		{name: "no distribution configured", unset: []string{config.EnvDistributionID}, args: []string{"invalidate", "/a"}, wantCode: exitFailure, wantErrCode: purge.Invalid, wantMessage: config.EnvDistributionID + " is not set"},
		{name: "wait times out", args: []string{"invalidate", "--wait", "--timeout", "300ms", "/a"}, wantCode: exitTimeout, wantErrCode: purge.Unavailable, wantMessage: "still running", wantCreated: true},
		{name: "status of an unknown invalidation", args: []string{"status", "INOSUCHINVALIDATION"}, wantCode: exitCDN, wantErrCode: purge.NotFound, wantMessage: "INOSUCHINVALIDATION"},
		{name: "status, two IDs", args: []string{"status", "I1", "I2"}, wantCode: 2, wantErrCode: purge.Invalid, wantMessage: "at most one invalidation ID"},
		{name: "list of an unknown distribution", args: []string{"list", "--distribution", "ENOSUCHDIST"}, wantCode: exitCDN, wantErrCode: purge.NotFound, wantMessage: "ENOSUCHDIST"},
		{name: "list --max 0", args: []string{"list", "--max", "0"}, wantCode: 2, wantErrCode: purge.Invalid, wantMessage: "--max must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := cliEnv(testutil.MustEmulator(t, time.Hour), tt.unset...)
			plainCode, plainOut, _ := runCmd(t, getenv, tt.args...)
			if plainCode != tt.wantCode {
				t.Fatalf("without --json: exit %d, want %d", plainCode, tt.wantCode)
			}
			args := append(append([]string{}, tt.args...), "--json")
			if tt.jsonFirst {
				args = append([]string{tt.args[0], "--json"}, tt.args[1:]...)
			}
			code, out, errOut := runCmd(t, getenv, args...)
			if code != tt.wantCode {
				t.Errorf("with --json: exit %d, want %d as without", code, tt.wantCode)
			}
			dec := json.NewDecoder(strings.NewReader(out))
			var got struct {
				invalidateJSON
				Error *struct {
					Code    purge.Code `json:"code"`
					Message string     `json:"message"`
				} `json:"error"`
			}
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s\n(plain stdout: %q)", err, out, plainOut)
			}
			if dec.More() {
				t.Errorf("stdout holds more than one JSON value:\n%s", out)
			}
			if got.Error == nil || got.Error.Code != tt.wantErrCode || !strings.Contains(got.Error.Message, tt.wantMessage) {
				t.Errorf("error = %+v, want code %q and a message with %q\n%s", got.Error, tt.wantErrCode, tt.wantMessage, out)
			}
			if created := got.ID != ""; created != tt.wantCreated || (created && got.Status != purge.StatusInProgress) {
				t.Errorf("invalidation in the object: %+v, want one: %v", got.invalidateJSON, tt.wantCreated)
			}
			if !strings.Contains(errOut, tt.wantMessage) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantMessage, errOut)
			}
		})
	}
}
