package socketmode

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The envelopes of Slack's "Using Socket Mode" documentation, with
// cdnpurge's command and button.
var (
	//go:embed testdata/slash_commands.json
	slashCommandsJSON []byte
	//go:embed testdata/block_actions.json
	blockActionsJSON []byte
)

const sealSecret = "socketmode-test-seal-secret-0123456789"

// rig is a Socket Mode client serving the service over the stand-in, with
// CloudFront emulated in process.
type rig struct {
	sm    *testutil.SocketMode
	emu   *emulator.Emulator
	logs  *testutil.LockedBuffer
	done  chan error // Run's result
	stop  context.CancelFunc
	inbox *testutil.SlackInbox
	// replies receives the transport of each reply the client measured.
	replies chan string
}

// replyMetrics sends each reply's transport to its channel, dropping it
// when the channel is full (the tests that do not read it).
type replyMetrics chan string

func (m replyMetrics) Reply(transport string, d time.Duration) {
	if d <= 0 {
		transport += " (no duration)"
	}
	select {
	case m <- transport:
	default:
	}
}

// mustRig starts the stand-in and a client on it (unless start is false:
// then call run). confirm says which purges wait for a click.
func mustRig(tb testing.TB, confirm purge.ConfirmMode, start bool) *rig {
	tb.Helper()
	r := &rig{sm: testutil.NewSocketMode(tb, testutil.SlackAppToken), logs: &testutil.LockedBuffer{}, inbox: testutil.NewSlackInbox(tb, "RESPONSEURLTOKEN"), replies: make(chan string, 64)}
	tb.Cleanup(func() {
		if strings.Contains(r.logs.String(), testutil.SlackAppToken) || strings.Contains(r.logs.String(), "RESPONSEURLTOKEN") {
			tb.Errorf("the log shows a token:\n%s", r.logs.String())
		}
		if testing.Verbose() {
			tb.Log(r.logs.String())
		}
	})
	if start {
		r.run(tb, testutil.SlackAppToken, confirm)
	}
	return r
}

// run starts the client with token.
func (r *rig) run(tb testing.TB, token string, confirm purge.ConfirmMode) {
	tb.Helper()
	emu, client := testutil.NewInProcessEmulator(time.Hour)
	r.emu = emu
	log := slog.New(slog.NewJSONHandler(r.logs, nil))
	poster := &slack.Poster{AllowLoopback: true, Attempts: 1}
	svc := service.New(service.Options{
		SealSecret:     sealSecret,
		Invalidator:    cloudfrontcdn.New(testutil.AWSConfig(), cloudfrontcdn.Options{Endpoint: testutil.InProcessEndpoint, HTTPClient: client}),
		DistributionID: testutil.DistributionID,
		Channels:       slack.Channels{"deploys"},
		Confirm:        purge.ConfirmPolicy{Mode: confirm},
		Poster:         poster,
		Logger:         log,
	})
	c := New(Options{
		Service: svc, AppToken: token, APIURL: r.sm.URL, Poster: poster, Logger: log, Metrics: replyMetrics(r.replies),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	ctx, stop := context.WithCancel(context.Background())
	r.stop, r.done = stop, make(chan error, 1)
	go func() { r.done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			tb.Error("Run did not return after its context ended")
		}
		svc.Wait(context.Background())
	})
}

// invalidations is how many invalidations the emulator holds.
func (r *rig) invalidations() int { return len(r.emu.CallerReferences(testutil.DistributionID)) }

// command is the fixture's slash command with this envelope ID, text and
// trigger_id.
func command(tb testing.TB, envelopeID, text, triggerID string) testutil.Envelope {
	tb.Helper()
	env, payload := fixture(tb, slashCommandsJSON, envelopeID)
	payload["text"], payload["trigger_id"] = text, triggerID
	return env
}

// fixture decodes an envelope fixture, gives it envelopeID, and returns it
// with its payload to change.
func fixture(tb testing.TB, raw []byte, envelopeID string) (testutil.Envelope, map[string]any) {
	tb.Helper()
	var env testutil.Envelope
	var payload map[string]any
	env.Payload = &payload
	if err := json.Unmarshal(raw, &env); err != nil {
		tb.Fatal(err)
	}
	env.EnvelopeID, env.Payload = envelopeID, payload
	return env, payload
}

// click is the fixture's button click on action with value, answered to
// responseURL.
func click(tb testing.TB, envelopeID, action, value, responseURL string) testutil.Envelope {
	tb.Helper()
	env, payload := fixture(tb, blockActionsJSON, envelopeID)
	a := payload["actions"].([]any)[0].(map[string]any)
	a["action_id"], a["value"] = action, value
	payload["response_url"] = responseURL
	return env
}

// replyOf decodes an acknowledgement's payload as the message it carries.
func replyOf(tb testing.TB, a testutil.SocketAck) *slackapi.WebhookMessage {
	tb.Helper()
	if len(a.Payload) == 0 || string(a.Payload) == "null" {
		tb.Fatalf("the acknowledgement of %s carries no reply", a.EnvelopeID)
	}
	var m slackapi.WebhookMessage
	if err := json.Unmarshal(a.Payload, &m); err != nil {
		tb.Fatalf("acknowledgement payload: %v", err)
	}
	return &m
}

// TestCommandAckCarriesReply: a slash command over the socket creates one
// invalidation, and its acknowledgement carries the reply.
func TestCommandAckCarriesReply(t *testing.T) {
	r := mustRig(t, purge.ConfirmNever, true)
	r.sm.WaitConnections(t, 1)
	r.sm.Send(t, command(t, "env-1", "/blog/* /index.html", "trigger.1"))
	m := replyOf(t, r.sm.WaitAck(t, "env-1"))
	if !strings.Contains(m.Text, "Purging 2 paths") || !strings.Contains(m.Text, "nvalidation") {
		t.Errorf("reply: %s", m.Text)
	}
	if n := r.invalidations(); n != 1 {
		t.Errorf("%d invalidations, want 1", n)
	}
	if got := r.logs.String(); !strings.Contains(got, `"msg":"socket mode connected"`) || !strings.Contains(got, `"num_connections":1`) {
		t.Errorf("the connection is not logged:\n%s", got)
	}
	// The envelope's time to its acknowledgement, measured once.
	select {
	case got := <-r.replies:
		if got != "socket_mode" {
			t.Errorf("reply measured as %q, want socket_mode", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reply was not measured")
	}
	select {
	case got := <-r.replies:
		t.Errorf("a second reply measured: %q", got)
	default:
	}
}

// TestRedelivered: the same command delivered again creates nothing and
// is answered "already taken": a redelivered envelope, another envelope
// with the same trigger_id (a second connection), and an envelope whose
// acknowledgement was lost with its socket, redelivered on the next one.
func TestRedelivered(t *testing.T) {
	tests := []struct {
		name  string
		again func(t *testing.T, r *rig, first testutil.Envelope) testutil.Envelope
	}{
		{"same envelope, retry_attempt 1", func(t *testing.T, r *rig, first testutil.Envelope) testutil.Envelope {
			r.sm.WaitAck(t, first.EnvelopeID)
			first.RetryAttempt, first.RetryReason = 1, "timeout"
			return first
		}},
		{"same trigger_id, another envelope", func(t *testing.T, r *rig, first testutil.Envelope) testutil.Envelope {
			r.sm.WaitAck(t, first.EnvelopeID)
			again := first
			again.EnvelopeID = "env-other"
			return again
		}},
		{"acknowledgement lost with the socket", func(t *testing.T, r *rig, first testutil.Envelope) testutil.Envelope {
			r.sm.WaitLostAck(t, first.EnvelopeID)
			r.sm.WaitConnections(t, 2)
			first.RetryAttempt, first.RetryReason = 1, "timeout"
			return first
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRig(t, purge.ConfirmNever, true)
			r.sm.WaitConnections(t, 1)
			first := command(t, "env-1", "/blog/*", "trigger.redelivered")
			if strings.Contains(tt.name, "lost") {
				r.sm.LoseNextAck()
			}
			r.sm.Send(t, first)
			again := tt.again(t, r, first)
			r.sm.Send(t, again)
			m := replyOf(t, r.sm.WaitAck(t, again.EnvelopeID))
			if !strings.Contains(m.Text, "already taken") || !strings.Contains(m.Text, "Nothing new was purged") {
				t.Errorf("the repeat's reply: %s", m.Text)
			}
			if n := r.invalidations(); n != 1 {
				t.Errorf("%d invalidations, want 1", n)
			}
		})
	}
}

// TestClickApproves: a purge that waits for approval is asked for in the
// command's acknowledgement; the Approve click over the socket is
// acknowledged empty, purges once, and the answer goes to response_url.
func TestClickApproves(t *testing.T) {
	r := mustRig(t, purge.ConfirmAlways, true)
	r.sm.WaitConnections(t, 1)
	r.sm.Send(t, command(t, "env-cmd", "/blog/*", "trigger.click"))
	asked := replyOf(t, r.sm.WaitAck(t, "env-cmd"))
	value := buttonValue(t, asked, slack.ActionApprove)
	if n := r.invalidations(); n != 0 {
		t.Fatalf("%d invalidations before the approval", n)
	}
	r.sm.Send(t, click(t, "env-click", slack.ActionApprove, value, r.inbox.URL))
	if a := r.sm.WaitAck(t, "env-click"); len(a.Payload) != 0 && string(a.Payload) != "null" {
		t.Errorf("the click's acknowledgement carries %s, want nothing", a.Payload)
	}
	if m := r.inbox.Next(t); !strings.Contains(m.Text, "Purging") {
		t.Errorf("answer to the click: %s", m.Text)
	}
	if n := r.invalidations(); n != 1 {
		t.Errorf("%d invalidations, want 1", n)
	}
}

// buttonValue finds the value of the button actionID in m.
func buttonValue(tb testing.TB, m *slackapi.WebhookMessage, actionID string) string {
	tb.Helper()
	if m.Blocks != nil {
		for _, b := range m.Blocks.BlockSet {
			if ab, ok := b.(*slackapi.ActionBlock); ok {
				for _, e := range ab.Elements.ElementSet {
					if btn, ok := e.(*slackapi.ButtonBlockElement); ok && btn.ActionID == actionID {
						return btn.Value
					}
				}
			}
		}
	}
	tb.Fatalf("no %s button in %s", actionID, m.Text)
	return ""
}

// TestReconnects: a disconnect from Slack, a dropped socket and a failed
// apps.connections.open are each survived: the client opens again,
// connects a second socket, logs why, and serves the command sent on it.
func TestReconnects(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(t *testing.T, r *rig)
		wantLog string
	}{
		{"disconnect refresh_requested", func(t *testing.T, r *rig) { r.sm.Disconnect(t, "refresh_requested") }, `"reason":"refresh_requested"`},
		{"disconnect link_disabled", func(t *testing.T, r *rig) { r.sm.Disconnect(t, "link_disabled") }, `"reason":"link_disabled"`},
		{"dropped socket", func(t *testing.T, r *rig) { r.sm.Drop(t) }, `"msg":"socket mode connection closed: reconnecting"`},
		{"failed apps.connections.open", func(t *testing.T, r *rig) {
			r.sm.Refuse("internal_error")
			r.sm.Drop(t)
			r.sm.WaitOpens(t, 2)
			r.sm.Refuse("")
		}, `"msg":"socket mode connection failed; retrying"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRig(t, purge.ConfirmNever, true)
			r.sm.WaitConnections(t, 1)
			tt.break_(t, r)
			r.sm.WaitConnections(t, 2)
			if r.sm.Opens() < 2 {
				t.Errorf("%d apps.connections.open calls, want 2 or more", r.sm.Opens())
			}
			r.sm.Send(t, command(t, "env-after", "/after/*", "trigger.after"))
			if a := r.sm.WaitAck(t, "env-after"); a.Conn != 2 || !strings.Contains(replyOf(t, a).Text, "Purging") {
				t.Errorf("after the reconnect: connection %d, reply %s", a.Conn, a.Payload)
			}
			if got := r.logs.String(); !strings.Contains(got, tt.wantLog) {
				t.Errorf("the log lacks %s:\n%s", tt.wantLog, got)
			}
		})
	}
}

// TestTokenRefused: a token Slack refuses for good stops Run with an
// error that says so and what to do, without retrying and without the
// token.
func TestTokenRefused(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		refuse string
		want   string
	}{
		{"wrong token", "xapp-1-A0-1-SOMEOTHERTOKENNEVERSHOWN", "", "invalid_auth"},
		{"no connections:write", testutil.SlackAppToken, "missing_scope", "connections:write"},
		{"revoked", testutil.SlackAppToken, "token_revoked", "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRig(t, purge.ConfirmNever, false)
			r.sm.Refuse(tt.refuse)
			r.run(t, tt.token, purge.ConfirmNever)
			var err error
			select {
			case err = <-r.done:
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not stop")
			}
			if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want ErrTokenRefused saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.token) || strings.Contains(r.logs.String(), tt.token) {
				t.Errorf("the error or the log shows the token: %v\n%s", err, r.logs.String())
			}
			if n := r.sm.Opens(); n != 1 {
				t.Errorf("%d apps.connections.open calls, want 1: no retry", n)
			}
			r.done <- err // for the cleanup
		})
	}
}

// TestStopClosesSocket: when Run's context ends the socket closes and Run
// returns nil.
func TestStopClosesSocket(t *testing.T) {
	r := mustRig(t, purge.ConfirmNever, true)
	r.sm.WaitConnections(t, 1)
	r.sm.Send(t, command(t, "env-1", "/blog/*", "trigger.stop"))
	r.sm.WaitAck(t, "env-1")
	r.stop()
	if err := <-r.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	r.done <- nil
	r.sm.WaitClosed(t)
	if got := r.logs.String(); !strings.Contains(got, `"msg":"socket mode closed"`) {
		t.Errorf("the log lacks the close:\n%s", got)
	}
}

// TestBackoff: the wait before an open grows from MinBackoff to
// MaxBackoff, jittered over the upper half, and is none for the first
// open and after a connection that lasted.
func TestBackoff(t *testing.T) {
	g := &openGate{min: 100 * time.Millisecond, max: time.Second, stable: time.Minute, closing: new(atomic.Bool)}
	tests := []struct {
		name   string
		before func()
		lo, hi time.Duration
	}{
		{name: "first open", lo: 0, hi: 0},
		{name: "after a failure", before: g.failed, lo: 50 * time.Millisecond, hi: 100 * time.Millisecond},
		{name: "after a short connection", before: g.connected, lo: 100 * time.Millisecond, hi: 200 * time.Millisecond},
		{name: "again", lo: 200 * time.Millisecond, hi: 400 * time.Millisecond},
		{name: "again", lo: 400 * time.Millisecond, hi: 800 * time.Millisecond},
		{name: "bounded", lo: 500 * time.Millisecond, hi: time.Second},
		{name: "bounded still", lo: 500 * time.Millisecond, hi: time.Second},
		{name: "after a connection that lasted", before: func() {
			g.mu.Lock()
			g.connectedAt = time.Now().Add(-2 * time.Minute)
			g.mu.Unlock()
		}, lo: 0, hi: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			if d := g.wait(); d < tt.lo || d > tt.hi {
				t.Errorf("wait = %s, want %s to %s", d, tt.lo, tt.hi)
			}
		})
	}
}
