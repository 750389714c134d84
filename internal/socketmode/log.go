package socketmode

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
)

// connLog receives slack-go's debug log and keeps only what tells the
// connection's life: a `disconnect` from Slack with its reason, and why a
// socket closed. slack-go reports neither to the Events channel (it takes
// a disconnect as a cue to reconnect, silently), so its debug lines, from
// the pinned version, are the only place they show; TestDisconnectLogged
// fails if they change. Every other line is dropped: they carry payloads,
// which hold user data.
type connLog struct {
	log     *slog.Logger
	token   string
	closing *atomic.Bool // Run is closing the socket: no reconnect to log
}

// The prefixes of slack-go's debug lines kept (socket_mode_managed_conn.go).
const (
	receivedPrefix    = "Received WebSocket message: "
	reconnectPrefix   = "Reconnecting due to "
	dialFailedPrefix  = "Failed to dial to the websocket: "
	requestDisconnect = "disconnection requested"
)

// Output is log.Logger's, which slack-go's logger interface asks for.
func (l *connLog) Output(_ int, s string) error {
	s = strings.TrimRight(s, "\n")
	switch {
	case strings.HasPrefix(s, receivedPrefix):
		if reason, ok := disconnectReason(s[len(receivedPrefix):]); ok {
			l.log.Info("socket mode disconnect from Slack: reconnecting", "reason", scrub(reason, l.token))
		}
	case strings.HasPrefix(s, reconnectPrefix) && !l.closing.Load():
		cause := s[len(reconnectPrefix):]
		if strings.HasPrefix(cause, requestDisconnect) {
			cause = "disconnect requested by Slack"
		}
		l.log.Warn("socket mode connection closed: reconnecting", "cause", scrub(cause, l.token))
	case strings.HasPrefix(s, dialFailedPrefix):
		l.log.Warn("socket mode WebSocket dial failed", "error", scrub(s[len(dialFailedPrefix):], l.token))
	}
	return nil
}

// disconnectReason reads a Socket Mode message, as slack-go logs it, and
// returns the reason of a disconnect message; ok is false for any other.
func disconnectReason(msg string) (reason string, ok bool) {
	// A cheap test first: every message passes here, commands included.
	if !strings.Contains(msg, `"disconnect"`) {
		return "", false
	}
	var m struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(msg), &m) != nil || m.Type != "disconnect" {
		return "", false
	}
	if len(m.Reason) > 64 {
		m.Reason = m.Reason[:64]
	}
	return m.Reason, true
}
