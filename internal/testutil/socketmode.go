package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/socketmode/socketmodetest"
)

// SlackAppToken is the fake app-level token (xapp-…) tests give the Socket
// Mode client; tests check that it never appears in an error, a log line or
// a message.
const SlackAppToken = "xapp-1-A0000000000-1111111111111-FakeAppTokenNeverShown0123456789"

// Envelope and SocketAck are the Socket Mode stand-in's: what it sends
// and what it receives.
type (
	Envelope  = socketmodetest.Envelope
	SocketAck = socketmodetest.Ack
)

// SocketMode is a stand-in for Slack's Socket Mode on loopback
// (socketmodetest.Server, which describes what it answers) whose waits
// fail the test after 15 s instead of returning an error.
type SocketMode struct {
	*socketmodetest.Server
}

// NewSocketMode starts a Socket Mode stand-in that accepts appToken. It
// stops with the test.
func NewSocketMode(tb testing.TB, appToken string) *SocketMode {
	tb.Helper()
	s := socketmodetest.New(appToken)
	tb.Cleanup(s.Close)
	return &SocketMode{Server: s}
}

// must runs a wait with the stand-ins' 15 s and fails the test on its
// error.
func must(tb testing.TB, wait func(ctx context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := wait(ctx); err != nil {
		tb.Fatal(err)
	}
}

// WaitOpens waits until n apps.connections.open calls have been answered.
func (s *SocketMode) WaitOpens(tb testing.TB, n int) {
	tb.Helper()
	must(tb, func(ctx context.Context) error { return s.Server.WaitOpens(ctx, n) })
}

// WaitConnections waits until n sockets have connected and been greeted.
func (s *SocketMode) WaitConnections(tb testing.TB, n int) {
	tb.Helper()
	must(tb, func(ctx context.Context) error { return s.Server.WaitConnections(ctx, n) })
}

// WaitAck waits for an acknowledgement of envelopeID not returned before
// (see socketmodetest.Server.WaitAck).
func (s *SocketMode) WaitAck(tb testing.TB, envelopeID string) SocketAck {
	tb.Helper()
	var a SocketAck
	must(tb, func(ctx context.Context) (err error) { a, err = s.Server.WaitAck(ctx, envelopeID); return err })
	return a
}

// WaitLostAck waits for the acknowledgement LoseNextAck cut off.
func (s *SocketMode) WaitLostAck(tb testing.TB, envelopeID string) {
	tb.Helper()
	must(tb, func(ctx context.Context) error { return s.Server.WaitLostAck(ctx, envelopeID) })
}

// WaitClosed waits until every socket has closed.
func (s *SocketMode) WaitClosed(tb testing.TB) {
	tb.Helper()
	must(tb, s.Server.WaitClosed)
}

// Send sends env on the newest open socket.
func (s *SocketMode) Send(tb testing.TB, env Envelope) {
	tb.Helper()
	if err := s.Server.Send(env); err != nil {
		tb.Fatal(err)
	}
}

// Disconnect sends Slack's disconnect message with reason on the newest
// open socket.
func (s *SocketMode) Disconnect(tb testing.TB, reason string) {
	tb.Helper()
	if err := s.Server.Disconnect(reason); err != nil {
		tb.Fatal(err)
	}
}

// Drop cuts the newest open socket with no close message.
func (s *SocketMode) Drop(tb testing.TB) {
	tb.Helper()
	if err := s.Server.Drop(); err != nil {
		tb.Fatal(err)
	}
}
