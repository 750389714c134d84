package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const socketSealSecret = "serve-socket-seal-secret-0123456789"

// socketCommand is a slash_commands envelope of Slack's Socket Mode.
func socketCommand(envelopeID, text, trigger, responseURL string) testutil.Envelope {
	return testutil.Envelope{
		Type: "slash_commands", EnvelopeID: envelopeID, AcceptsResponsePayload: true,
		Payload: map[string]string{
			"team_id": "T1", "channel_id": "C1234567890", "channel_name": "deploys", "user_id": "U1", "user_name": "alice",
			"command": "/cdn-purge", "text": text, "trigger_id": trigger, "api_app_id": "A0STANDIN",
			"response_url": responseURL,
		},
	}
}

// serveSocket runs `cdnpurge serve` in Socket Mode against the stand-in
// with flags and extra settings; stop ends it as SIGTERM would, and done
// gives its exit code.
func serveSocket(t *testing.T, sm *testutil.SocketMode, token string, extra map[string]string, flags ...string) (emu *emulator.Emulator, logs *testutil.LockedBuffer, stop func(), done chan int) {
	t.Helper()
	emu = emulator.New(emulator.Options{Distributions: []string{defaultDistributionID}, CompleteAfter: time.Hour})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		config.EnvDistributionID: defaultDistributionID, config.EnvChannels: "deploys",
		config.EnvSlackAppToken: token, config.EnvSealSecret: socketSealSecret, config.EnvSlackAPIURL: sm.URL,
		config.EnvCloudFrontEndpoint: srv.URL, config.EnvDevAllowLoopback: "1",
	}
	for k, v := range extra {
		vars[k] = v
	}
	logs = &testutil.LockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan int, 1)
	go func() {
		done <- run(ctx, env{args: append([]string{"serve", "--addr", "127.0.0.1:0"}, flags...),
			getenv: func(k string) string { return vars[k] }, stdout: logs, stderr: logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
		if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), socketSealSecret) {
			t.Errorf("serve's output shows a secret:\n%s", logs.String())
		}
	})
	return emu, logs, cancel, done
}

// TestServeSocketMode: with an app token and no signing secret, serve
// takes a command over the socket (one invalidation, the reply in the
// acknowledgement), keeps /healthz, serves the Slack routes only with
// --slack-routes, and on SIGTERM closes the socket and exits 0.
func TestServeSocketMode(t *testing.T) {
	tests := []struct {
		name       string
		extra      map[string]string
		flags      []string
		wantRoutes int // the status of a signed POST /slack/commands
	}{
		{name: "socket only", wantRoutes: http.StatusNotFound},
		{name: "with --slack-routes", extra: map[string]string{config.EnvSigningSecret: lambdaSecret}, flags: []string{"--slack-routes"}, wantRoutes: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := testutil.NewSocketMode(t, testutil.SlackAppToken)
			inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
			// The follow-up the purge starts is cut off at the end of the grace, and tells
			// the inbox to check later.
			emu, logs, stop, done := serveSocket(t, sm, testutil.SlackAppToken, tt.extra, append(tt.flags, "--shutdown-grace", "500ms")...)
			base := serveURL(t, logs)
			sm.WaitConnections(t, 1)
			sm.Send(t, socketCommand("env-serve", "/blog/*", "trigger.serve", inbox.URL))
			var reply struct{ Text, ResponseType string }
			if err := json.Unmarshal(sm.WaitAck(t, "env-serve").Payload, &reply); err != nil || !strings.Contains(reply.Text, "Purging 1 path") {
				t.Errorf("the acknowledgement's reply: %+v, %v", reply, err)
			}
			if n := len(emu.CallerReferences(defaultDistributionID)); n != 1 {
				t.Errorf("%d invalidations, want 1", n)
			}
			resp, err := http.Get(base + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("/healthz: %v %v", resp, err)
			}
			form := commandForm("/routes/*", "deploys", "trigger.http")
			form.Set("response_url", inbox.URL)
			if status, _ := postForm(t, base, form); status != tt.wantRoutes {
				t.Errorf("POST /slack/commands: %d, want %d", status, tt.wantRoutes)
			}
			stop()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d:\n%s", code, logs.String())
			}
			done <- 0
			sm.WaitClosed(t)
			if !strings.Contains(logs.String(), `"socket_mode":true`) || !strings.Contains(logs.String(), `"msg":"socket mode closed"`) {
				t.Errorf("the log lacks Socket Mode's start or close:\n%s", logs.String())
			}
		})
	}
}

// TestServeSocketModeRefused: a token Slack refuses stops serve with exit
// code 1 and a message that says what to do, never the token.
func TestServeSocketModeRefused(t *testing.T) {
	const revoked = "xapp-1-A0-1-REVOKEDTOKENNEVERSHOWN"
	sm := testutil.NewSocketMode(t, testutil.SlackAppToken)
	_, logs, _, done := serveSocket(t, sm, revoked, nil)
	var code int
	select {
	case code = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	done <- code
	out := logs.String()
	if code != 1 {
		t.Errorf("serve exited %d, want 1", code)
	}
	if want := "cdnpurge serve: socket mode: the app-level token was refused by Slack (invalid_auth): "; !strings.Contains(out, want) || !strings.Contains(out, "connections:write") {
		t.Errorf("output lacks %q and what to do:\n%s", want, out)
	}
	if sm.Opens() != 1 {
		t.Errorf("%d apps.connections.open calls, want 1", sm.Opens())
	}
}

// TestSocketModeSettings: what serve and the Lambda refuse in Socket Mode.
func TestSocketModeSettings(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"--slack-routes without a signing secret", []string{"serve", "--addr", "127.0.0.1:0", "--slack-routes"},
			map[string]string{config.EnvSlackAppToken: testutil.SlackAppToken, config.EnvSealSecret: socketSealSecret}, "--slack-routes serves Slack's signed Request URLs"},
		{"no seal secret", []string{"serve", "--addr", "127.0.0.1:0"},
			map[string]string{config.EnvSlackAppToken: testutil.SlackAppToken}, config.EnvSealSecret + " is not set"},
		{"Lambda without a signing secret", nil,
			map[string]string{config.EnvSlackAppToken: testutil.SlackAppToken, config.EnvSealSecret: socketSealSecret, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"}, "the Lambda serves Slack's Request URLs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{config.EnvDistributionID: defaultDistributionID, config.EnvChannels: "deploys", config.EnvDevAllowLoopback: "1"}
			for k, v := range tt.env {
				vars[k] = v
			}
			code, _, stderr := runCmd(t, func(k string) string { return vars[k] }, tt.args...)
			if code == 0 || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want an error with %q", code, stderr, tt.wantErr)
			}
			if strings.Contains(stderr, testutil.SlackAppToken) || strings.Contains(stderr, socketSealSecret) {
				t.Errorf("stderr shows a secret: %s", stderr)
			}
		})
	}
}

// TestDemoSocketMode: the demo's flow through the Socket Mode stand-in's
// socket: the reply in the acknowledgement, the redelivery taken once, the
// HTTP listener closed to commands, the follow-up and both targets.
func TestDemoSocketMode(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "demo", "--socket-mode", "--complete-after", "300ms")
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"cdnpurge connected out to it", "reply, carried by the envelope's acknowledgement", "Purging 3 paths on `www`",
		"audit post to the incoming webhook", "retry_attempt 1", "This command was already taken", "nothing new was created",
		"HTTP 404: in Socket Mode the listener serves only /healthz", "replaces the reply", "✅ Purged 3 paths",
		"✅ Purged 3 items on `shop` (Cloudflare)", "Completed after",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xapp-") {
		t.Errorf("the demo shows its app token:\n%s", out)
	}
}
