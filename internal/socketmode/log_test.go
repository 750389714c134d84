package socketmode

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestConnLog: of slack-go's debug lines only a disconnect's reason, why a
// socket closed and a failed dial are kept; a payload never is, nor the
// token.
func TestConnLog(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string // "" for nothing logged
	}{
		{"disconnect", `Received WebSocket message: {"type":"disconnect","reason":"link_disabled","debug_info":{"host":"applink-1"}}`, `"reason":"link_disabled"`},
		{"command payload", `Received WebSocket message: {"type":"slash_commands","payload":{"text":"/secret/path","response_url":"[REDACTED]"}}`, ""},
		{"payload mentioning disconnect", `Received WebSocket message: {"type":"slash_commands","payload":{"text":"\"disconnect\""}}`, ""},
		{"socket closed", "Reconnecting due to websocket: close 1006 (abnormal closure): unexpected EOF\n", `"cause":"websocket: close 1006`},
		{"disconnect requested", "Reconnecting due to disconnection requested: Slack requested us to disconnect", `"cause":"disconnect requested by Slack"`},
		{"dial failed, token scrubbed", "Failed to dial to the websocket: bad handshake " + testutil.SlackAppToken, `"error":"bad handshake [redacted]"`},
		{"anything else", "Scheduling Socket Mode response for envelope ID 1: {\"payload\":{\"text\":\"/secret/path\"}}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testutil.LockedBuffer
			l := &connLog{log: slog.New(slog.NewJSONHandler(&out, nil)), token: testutil.SlackAppToken, closing: new(atomic.Bool)}
			l.Output(2, tt.line)
			got := out.String()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "/secret/path") || strings.Contains(got, testutil.SlackAppToken) {
				t.Errorf("logged a payload or the token: %s", got)
			}
		})
	}
}

// FuzzDisconnectReason: any message slack-go logs, which is whatever came
// over the socket, is read without a panic, and a reason is short.
func FuzzDisconnectReason(f *testing.F) {
	f.Add(`{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"applink-1"}}`)
	f.Add(`{"type":"hello","num_connections":1}`)
	f.Add(`{"type":"disconnect","reason":7}`)
	f.Add(`[invalid JSON]`)
	f.Fuzz(func(t *testing.T, msg string) {
		reason, ok := disconnectReason(msg)
		if !ok && reason != "" {
			t.Errorf("not a disconnect, but reason %q", reason)
		}
		if len(reason) > 64 {
			t.Errorf("reason of %d bytes", len(reason))
		}
	})
}
