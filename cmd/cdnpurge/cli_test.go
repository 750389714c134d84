package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
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
	code, out, errOut := runCmd(t, getenv, append([]string{"list", "--json"}, args...)...)
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
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
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

func TestList(t *testing.T) {
	getenv := cliEnv(testutil.MustEmulator(t, time.Hour))
	if code, out, _ := runCmd(t, getenv, "list"); code != 0 || !strings.Contains(out, "has no invalidations") {
		t.Fatalf("empty list: exit %d\n%s", code, out)
	}
	var created []string // oldest first
	for _, p := range []string{"/one", "/two", "/three", "/four"} {
		code, out, errOut := runCmd(t, getenv, "invalidate", p)
		if code != 0 {
			t.Fatalf("invalidate %s: exit %d: %s", p, code, errOut)
		}
		created = append(created, fieldValue(out, "invalidation"))
	}
	newestFirst := []string{created[3], created[2], created[1], created[0]}

	tests := []struct {
		name     string
		pageSize int
		args     []string
		want     []string
	}{
		{"all, newest first", 100, nil, newestFirst},
		{"--max", 100, []string{"--max", "2"}, newestFirst[:2]},
		{"paging with Marker", 1, []string{"--max", "3"}, newestFirst[:3]},
		{"paging past the end", 3, []string{"--max", "50"}, newestFirst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(n int) { listPageSize = n }(listPageSize)
			listPageSize = tt.pageSize
			if got := listIDs(t, getenv, tt.args...); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		code, out, errOut := runCmd(t, getenv, "list", "--max", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], newestFirst[0]+" ") ||
			!strings.HasPrefix(lines[2], newestFirst[1]+" ") || !strings.Contains(lines[1], "InProgress") {
			t.Errorf("table:\n%s", out)
		}
	})
	for _, args := range [][]string{{"list", "--max", "0"}, {"list", "extra"}} {
		if code, _, errOut := runCmd(t, getenv, args...); code != 2 {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
}

func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	inProgress := &purge.Invalidation{ID: "I2J0I21PCUYOIK", Status: purge.StatusInProgress}
	completed := &purge.Invalidation{ID: "I2J0I21PCUYOIK", Status: purge.StatusCompleted}
	play := func(p *progress) {
		p.update(inProgress, t0)
		p.beat(t0.Add(time.Second))
		p.update(inProgress, t0.Add(5*time.Second))
		p.beat(t0.Add(31 * time.Second))
		p.beat(t0.Add(40 * time.Second))
		p.update(completed, t0.Add(45*time.Second))
		p.finish()
		p.beat(t0.Add(50 * time.Second)) // after finish: nothing
	}

	t.Run("terminal", func(t *testing.T) {
		var buf bytes.Buffer
		play(&progress{w: &buf, terminal: true, id: inProgress.ID, start: t0})
		want := "\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 0s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 1s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 5s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 31s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 40s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK Completed after 45s\n"
		if buf.String() != want {
			t.Errorf("got  %q\nwant %q", buf.String(), want)
		}
	})
	t.Run("log", func(t *testing.T) {
		var buf bytes.Buffer
		play(&progress{w: &buf, terminal: false, id: inProgress.ID, start: t0})
		want := "2026-03-01T10:00:00Z invalidation I2J0I21PCUYOIK InProgress, 0s elapsed\n" +
			"2026-03-01T10:00:31Z invalidation I2J0I21PCUYOIK still InProgress after 31s\n" +
			"2026-03-01T10:00:45Z invalidation I2J0I21PCUYOIK Completed after 45s\n"
		if buf.String() != want {
			t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
		}
	})
	t.Run("not a terminal", func(t *testing.T) {
		if isTerminal(&bytes.Buffer{}) {
			t.Error("a bytes.Buffer is a terminal")
		}
	})
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                    "0s",
		1400 * time.Millisecond:         "1s",
		5*time.Minute + 3*time.Second:   "5m3s",
		3*time.Hour + 12*time.Minute:    "3h12m",
		4*24*time.Hour + 2*time.Hour:    "4d2h",
		2*time.Hour + 29*time.Second:    "2h0m",
		49*time.Hour + 10*time.Minute:   "2d1h",
		59*time.Minute + 59*time.Second: "59m59s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
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
