package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestServeLogsCutOffFollowUps: serve stopping with a follow-up still
// running when the grace period ends hands it back to its channel, and
// logs and returns the pool's error saying so.
func TestServeLogsCutOffFollowUps(t *testing.T) {
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	emu := testutil.MustEmulator(t, time.Hour)
	cfg := lambdaConfig(emu)
	cfg.DevAllowLoopback = true
	var logs testutil.LockedBuffer
	a, err := newApp(context.Background(), cfg, func(string) string { return "" }, newLogger(env{stderr: &logs}, 0), modeServe)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	inv, err := testutil.NewInvalidator(emu).CreateInvalidation(context.Background(), batchFor("cutoff"))
	if err != nil {
		t.Fatal(err)
	}
	// The invalidation takes an hour: the follow-up is running when the
	// (empty) grace period ends.
	if err := a.pool.Schedule(context.Background(), followup.Request{
		DistributionID: defaultDistributionID, InvalidationID: inv.ID, ResponseURL: inbox.URL, Started: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	err = a.runWithShutdown(stopped, 0)
	if !errors.Is(err, followup.ErrCutOff) || !strings.Contains(err.Error(), "1 cut off") {
		t.Fatalf("runWithShutdown = %v", err)
	}
	if m := inbox.Next(t); !strings.Contains(m.Text, "Still purging") {
		t.Fatalf("hand-back post: %+v", m)
	}
	if got := logs.String(); !strings.Contains(got, `"msg":"shutdown"`) || !strings.Contains(got, "1 cut off") {
		t.Fatalf("the log does not report the cut-off follow-up:\n%s", got)
	}
	if strings.Contains(logs.String(), "RESPONSETOKEN") {
		t.Error("the log shows the response_url token")
	}
}

// TestPortFromEnv: PORT replaces the port of --addr and keeps its host;
// anything but a port number is refused, naming the value.
func TestPortFromEnv(t *testing.T) {
	tests := []struct {
		name, addr, port string
		want, wantErr    string
	}{
		{name: "no PORT", addr: ":8080", want: ":8080"},
		{name: "PORT, no host", addr: ":8080", port: "9090", want: ":9090"},
		{name: "PORT, host kept", addr: "127.0.0.1:8080", port: "3000", want: "127.0.0.1:3000"},
		{name: "IPv6 host kept", addr: "[::1]:8080", port: "3000", want: "[::1]:3000"},
		{name: "highest port", addr: ":8080", port: "65535", want: ":65535"},
		{name: "0: any free port", addr: "127.0.0.1:8080", port: "0", want: "127.0.0.1:0"},
		{name: "too high", addr: ":8080", port: "65536", wantErr: `PORT "65536" is not a port number (1 to 65535)`},
		{name: "negative", addr: ":8080", port: "-1", wantErr: `PORT "-1" is not a port number`},
		{name: "a name", addr: ":8080", port: "http", wantErr: `PORT "http" is not a port number`},
		{name: "leading zero", addr: ":8080", port: "08080", wantErr: `PORT "08080" is not a port number`},
		{name: "spaces", addr: ":8080", port: " 80", wantErr: `PORT " 80" is not a port number`},
		{name: "an address", addr: ":8080", port: "127.0.0.1:80", wantErr: `PORT "127.0.0.1:80" is not a port number`},
		{name: "--addr without a port", addr: "localhost", port: "80", wantErr: `--addr "localhost" is not HOST:PORT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portFromEnv(tt.addr, tt.port)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("portFromEnv(%q, %q) = %q, %v; want an error with %q", tt.addr, tt.port, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("portFromEnv(%q, %q) = %q, %v; want %q", tt.addr, tt.port, got, err, tt.want)
			}
		})
	}
}

// TestServePortAndStdout starts `serve` with PORT set: it listens on
// --addr's host with PORT's port, says so in one log line, and logs JSON
// lines to stdout, none to stderr; a bad PORT stops it at start.
func TestServePortAndStdout(t *testing.T) {
	vars := map[string]string{
		config.EnvDistributionID: defaultDistributionID, config.EnvSigningSecret: lambdaSecret, config.EnvChannels: "deploys",
		config.EnvCloudFrontEndpoint: testutil.MustEmulator(t, time.Hour), "PORT": "0",
	}
	t.Run("PORT=0", func(t *testing.T) {
		var stdout, stderr testutil.LockedBuffer
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, env{args: []string{"serve", "--addr", "127.0.0.1:8080"}, getenv: func(k string) string { return vars[k] }, stdout: &stdout, stderr: &stderr})
		}()
		base := serveURL(t, &stdout)
		stop()
		if code := <-done; code != 0 {
			t.Fatalf("serve exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
		}
		if base == "http://127.0.0.1:8080" || !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Errorf("serve listens on %s, want 127.0.0.1 and a free port", base)
		}
		if stderr.String() != "" {
			t.Errorf("serve wrote to stderr:\n%s", stderr.String())
		}
		var replaced int
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not a JSON log line on stdout: %q", line)
			}
			if rec["msg"] == "PORT replaces the port of --addr" {
				replaced++
				if rec["addr_flag"] != "127.0.0.1:8080" || rec["port"] != "0" || rec["addr"] != "127.0.0.1:0" {
					t.Errorf("the PORT line does not name both: %s", line)
				}
			}
		}
		if replaced != 1 {
			t.Errorf("%d log lines say PORT replaced the port, want 1:\n%s", replaced, stdout.String())
		}
	})
	t.Run("bad PORT", func(t *testing.T) {
		bad := map[string]string{}
		for k, v := range vars {
			bad[k] = v
		}
		bad["PORT"] = "eighty"
		code, out, errOut := runCmd(t, func(k string) string { return bad[k] }, "serve")
		if code != 1 || out != "" || errOut != "cdnpurge serve: PORT \"eighty\" is not a port number (1 to 65535)\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}
