package testutil

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// SlackAppToken is the fake app-level token (xapp-…) tests give the Socket
// Mode client; tests check that it never appears in an error, a log line or
// a message.
const SlackAppToken = "xapp-1-A0000000000-1111111111111-FakeAppTokenNeverShown0123456789"

// SocketMode is a stand-in for Slack's Socket Mode on loopback, as Slack's
// "Using Socket Mode" documentation describes it:
//
//   - POST apps.connections.open with "Authorization: Bearer xapp-…"
//     answers {"ok":true,"url":"ws://127.0.0.1:PORT/link/?ticket=…&app_id=…"}
//     (HTTP 200 and JSON, like every Web API method), or {"ok":false,
//     "error":"not_authed"} without a token, "invalid_auth" with another
//     one, or the error Refuse set;
//   - the WebSocket at that URL takes each ticket once, says hello
//     ({"type":"hello","num_connections":1,"debug_info":{…},
//     "connection_info":{"app_id":…}}), sends a WebSocket ping every
//     PingEvery, sends the envelopes a test gives it (Send) and records
//     every acknowledgement ({"envelope_id":…,"payload":…}) with the
//     connection it came on;
//   - Disconnect sends {"type":"disconnect","reason":…} and, like Slack,
//     closes that socket once the client has opened another (or after
//     10 s); Drop cuts a socket with no goodbye.
//
// Every change (an open, a connection, an acknowledgement, a socket
// closed) wakes the waiters (WaitOpens, WaitConnections, WaitAck), so that
// a test synchronizes on what the stand-in saw, never on a sleep.
type SocketMode struct {
	// URL is the Web API's base URL, ending in "/", as slack-go's
	// OptionAPIURL wants it (CDNPURGE_SLACK_API_URL).
	URL string
	// PingEvery is how often each socket is pinged; set it before the
	// first connection.
	PingEvery time.Duration

	token string
	srv   *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change
	opens   int           // apps.connections.open calls answered
	refuse  string        // the error code opens answer; "" to accept
	tickets map[string]bool
	conns   []*socketConn
	acks    []SocketAck
	taken   map[int]bool // the acks WaitAck has returned, by index
	loseAck bool         // drop the socket at the next acknowledgement
}

// SocketAck is an acknowledgement the stand-in received.
type SocketAck struct {
	EnvelopeID string
	// Payload is the acknowledgement's payload as sent; nil for none.
	Payload json.RawMessage
	// Conn is the connection it came on, from 1.
	Conn int
	// Lost says the stand-in cut the socket as the acknowledgement came
	// (LoseNextAck): Slack never took it, and redelivers the envelope.
	Lost bool
}

// Envelope is a message the stand-in sends over a socket: a
// slash_commands or interactive envelope, in Slack's format.
type Envelope struct {
	Type       string `json:"type"`
	EnvelopeID string `json:"envelope_id"`
	// Payload is the command (the fields of a slash command's form, as
	// JSON) or the interaction (block_actions).
	Payload                any    `json:"payload"`
	AcceptsResponsePayload bool   `json:"accepts_response_payload"`
	RetryAttempt           int    `json:"retry_attempt"`
	RetryReason            string `json:"retry_reason"`
}

type socketConn struct {
	n      int
	ws     *websocket.Conn
	wmu    sync.Mutex // gorilla allows one writer at a time
	closed bool       // guarded by SocketMode.mu
	done   chan struct{}
}

// NewSocketMode starts a Socket Mode stand-in that accepts appToken. It
// stops with the test, closing every socket.
func NewSocketMode(tb testing.TB, appToken string) *SocketMode {
	tb.Helper()
	s := &SocketMode{token: appToken, PingEvery: time.Second, changed: make(chan struct{}), tickets: map[string]bool{}, taken: map[int]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/apps.connections.open", s.open)
	mux.HandleFunc("/link/", s.link)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		slackAnswer(w, map[string]any{"ok": false, "error": "unknown_method"})
	})
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(func() {
		s.mu.Lock()
		conns := append([]*socketConn(nil), s.conns...)
		s.mu.Unlock()
		for _, c := range conns {
			c.ws.Close()
		}
		s.srv.Close()
	})
	s.URL = s.srv.URL + "/"
	return s
}

// Refuse makes later apps.connections.open calls answer {"ok":false,
// "error":code}; Refuse("") accepts again.
func (s *SocketMode) Refuse(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = code
}

// LoseNextAck makes the stand-in cut the socket the next acknowledgement
// comes on, as that acknowledgement arrives: it is recorded as Lost, as
// one Slack never received.
func (s *SocketMode) LoseNextAck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseAck = true
}

// Opens is how many apps.connections.open calls have been answered.
func (s *SocketMode) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Connections is how many sockets have connected.
func (s *SocketMode) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Acks returns every acknowledgement received so far, in order.
func (s *SocketMode) Acks() []SocketAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SocketAck(nil), s.acks...)
}

// WaitOpens waits until n apps.connections.open calls have been answered,
// failing the test after 15 s.
func (s *SocketMode) WaitOpens(tb testing.TB, n int) {
	tb.Helper()
	s.waitFor(tb, fmt.Sprintf("%d apps.connections.open calls", n), func() bool { return s.opens >= n })
}

// WaitConnections waits until n sockets have connected and been greeted,
// failing the test after 15 s.
func (s *SocketMode) WaitConnections(tb testing.TB, n int) {
	tb.Helper()
	s.waitFor(tb, fmt.Sprintf("%d socket connections", n), func() bool { return len(s.conns) >= n })
}

// WaitAck waits for an acknowledgement of envelopeID that was not lost
// and that no earlier WaitAck returned (a redelivered envelope is
// acknowledged again), failing the test after 15 s.
func (s *SocketMode) WaitAck(tb testing.TB, envelopeID string) SocketAck {
	tb.Helper()
	var got SocketAck
	s.waitFor(tb, "the acknowledgement of envelope "+envelopeID, func() bool {
		for i, a := range s.acks {
			if a.EnvelopeID == envelopeID && !a.Lost && !s.taken[i] {
				s.taken[i] = true
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// WaitLostAck waits for the acknowledgement LoseNextAck cut off, failing
// the test after 15 s.
func (s *SocketMode) WaitLostAck(tb testing.TB, envelopeID string) {
	tb.Helper()
	s.waitFor(tb, "the lost acknowledgement of envelope "+envelopeID, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID && a.Lost {
				return true
			}
		}
		return false
	})
}

// WaitClosed waits until every socket has closed, failing the test after
// 15 s.
func (s *SocketMode) WaitClosed(tb testing.TB) {
	tb.Helper()
	s.waitFor(tb, "every socket closed", func() bool {
		for _, c := range s.conns {
			if !c.closed {
				return false
			}
		}
		return true
	})
}

// waitFor waits until cond, called with s.mu held, is true.
func (s *SocketMode) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("the Socket Mode stand-in did not see %s", what)
			return
		}
	}
}

// changedLocked wakes the waiters; s.mu must be held.
func (s *SocketMode) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Send sends env on the newest open socket, failing the test if there is
// none.
func (s *SocketMode) Send(tb testing.TB, env Envelope) {
	tb.Helper()
	c := s.newest(tb)
	if err := c.write(env); err != nil {
		tb.Fatalf("send envelope %s: %v", env.EnvelopeID, err)
	}
}

// Disconnect sends Slack's disconnect message with reason
// ("refresh_requested", "link_disabled", "warning") on the newest open
// socket; that socket closes once the client has connected again, or
// after 10 s, as Slack's does.
func (s *SocketMode) Disconnect(tb testing.TB, reason string) {
	tb.Helper()
	c := s.newest(tb)
	if err := c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-stand-in"}}); err != nil {
		tb.Fatalf("send disconnect: %v", err)
	}
	go func() {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		s.waitQuietly(10*time.Second, func() bool { return len(s.conns) > n || c.closed })
		c.ws.Close()
	}()
}

// Drop cuts the newest open socket with no close message, as a network
// failure would.
func (s *SocketMode) Drop(tb testing.TB) {
	tb.Helper()
	s.newest(tb).ws.Close()
}

// waitQuietly is waitFor without a test: it gives up after d.
func (s *SocketMode) waitQuietly(d time.Duration, cond func() bool) {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			return
		}
	}
}

func (s *SocketMode) newest(tb testing.TB) *socketConn {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.conns) - 1; i >= 0; i-- {
		if !s.conns[i].closed {
			return s.conns[i]
		}
	}
	tb.Fatal("the Socket Mode stand-in has no open socket")
	return nil
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// open answers apps.connections.open.
func (s *SocketMode) open(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		slackAnswer(w, map[string]any{"ok": false, "error": "method_not_supported_for_channel_type"})
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	defer s.changedLocked()
	switch {
	case token == "":
		slackAnswer(w, map[string]any{"ok": false, "error": "not_authed"})
	case token != s.token:
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_auth"})
	case s.refuse != "":
		slackAnswer(w, map[string]any{"ok": false, "error": s.refuse})
	default:
		ticket := strconv.Itoa(s.opens) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		s.tickets[ticket] = true
		slackAnswer(w, map[string]any{"ok": true, "url": "ws://" + r.Host + "/link/?ticket=" + ticket + "&app_id=A0STANDIN"})
	}
}

// link is the WebSocket: one connection per ticket.
func (s *SocketMode) link(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown ticket", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	s.mu.Lock()
	c.n = len(s.conns) + 1
	live := 0
	for _, o := range s.conns {
		if !o.closed {
			live++
		}
	}
	s.mu.Unlock()
	if c.write(map[string]any{
		"type": "hello", "num_connections": live + 1,
		"debug_info":      map[string]any{"host": "applink-stand-in", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": "A0STANDIN"},
	}) != nil {
		ws.Close()
		return
	}
	// The connection counts once it has been greeted: a test that waits
	// for it may send at once.
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.changedLocked()
	s.mu.Unlock()
	go s.ping(c)
	s.read(c)
}

func (s *SocketMode) ping(c *socketConn) {
	t := time.NewTicker(s.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// read records the acknowledgements a socket brings until it closes.
func (s *SocketMode) read(c *socketConn) {
	defer func() {
		c.ws.Close()
		close(c.done)
		s.mu.Lock()
		c.closed = true
		s.changedLocked()
		s.mu.Unlock()
	}()
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(raw, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		lost := s.loseAck
		s.loseAck = false
		s.acks = append(s.acks, SocketAck{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Conn: c.n, Lost: lost})
		s.changedLocked()
		s.mu.Unlock()
		if lost {
			return
		}
	}
}
