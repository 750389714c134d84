// Package socketmodetest is a stand-in for Slack's Socket Mode on
// loopback, for tests (through internal/testutil's wrappers) and for
// `cdnpurge demo --socket-mode`: like net/http/httptest, it imports no
// testing package, so the binary may hold it.
package socketmodetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Server is a stand-in for Slack's Socket Mode on loopback, as Slack's
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
// a caller synchronizes on what the stand-in saw, never on a sleep.
type Server struct {
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
	acks    []Ack
	taken   map[int]bool // the acks WaitAck has returned, by index
	loseAck bool         // drop the socket at the next acknowledgement
}

// Ack is an acknowledgement the stand-in received.
type Ack struct {
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
	closed bool       // guarded by Server.mu
	done   chan struct{}
}

// New starts a stand-in that accepts appToken. Close stops it.
func New(appToken string) *Server {
	s := &Server{token: appToken, PingEvery: time.Second, changed: make(chan struct{}), tickets: map[string]bool{}, taken: map[int]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/apps.connections.open", s.open)
	mux.HandleFunc("/link/", s.link)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/"
	return s
}

// Close closes every socket and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	conns := append([]*socketConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.srv.Close()
}

// Refuse makes later apps.connections.open calls answer {"ok":false,
// "error":code}; Refuse("") accepts again.
func (s *Server) Refuse(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = code
}

// LoseNextAck makes the stand-in cut the socket the next acknowledgement
// comes on, as that acknowledgement arrives: it is recorded as Lost, as
// one Slack never received.
func (s *Server) LoseNextAck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseAck = true
}

// Opens is how many apps.connections.open calls have been answered.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Connections is how many sockets have connected.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Acks returns every acknowledgement received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitOpens waits until n apps.connections.open calls have been answered,
// or ctx ends.
func (s *Server) WaitOpens(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d apps.connections.open calls", n), func() bool { return s.opens >= n })
}

// WaitConnections waits until n sockets have connected and been greeted,
// or ctx ends.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d socket connections", n), func() bool { return len(s.conns) >= n })
}

// WaitAck waits for an acknowledgement of envelopeID that was not lost
// and that no earlier WaitAck returned (a redelivered envelope is
// acknowledged again), or until ctx ends.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var got Ack
	err := s.waitFor(ctx, "the acknowledgement of envelope "+envelopeID, func() bool {
		for i, a := range s.acks {
			if a.EnvelopeID == envelopeID && !a.Lost && !s.taken[i] {
				s.taken[i] = true
				got = a
				return true
			}
		}
		return false
	})
	return got, err
}

// WaitLostAck waits for the acknowledgement LoseNextAck cut off, or until
// ctx ends.
func (s *Server) WaitLostAck(ctx context.Context, envelopeID string) error {
	return s.waitFor(ctx, "the lost acknowledgement of envelope "+envelopeID, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID && a.Lost {
				return true
			}
		}
		return false
	})
}

// WaitClosed waits until every socket has closed, or ctx ends.
func (s *Server) WaitClosed(ctx context.Context) error {
	return s.waitFor(ctx, "every socket closed", func() bool {
		for _, c := range s.conns {
			if !c.closed {
				return false
			}
		}
		return true
	})
}

// waitFor waits until cond, called with s.mu held, is true, or ctx ends:
// then the error says what was not seen.
func (s *Server) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("the Socket Mode stand-in did not see %s: %w", what, ctx.Err())
		}
	}
}

// changedLocked wakes the waiters; s.mu must be held.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Send sends env on the newest open socket.
func (s *Server) Send(env Envelope) error {
	c, err := s.newest()
	if err != nil {
		return err
	}
	if err := c.write(env); err != nil {
		return fmt.Errorf("send envelope %s: %w", env.EnvelopeID, err)
	}
	return nil
}

// Disconnect sends Slack's disconnect message with reason
// ("refresh_requested", "link_disabled", "warning") on the newest open
// socket; that socket closes once the client has connected again, or
// after 10 s, as Slack's does.
func (s *Server) Disconnect(reason string) error {
	c, err := s.newest()
	if err != nil {
		return err
	}
	if err := c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-stand-in"}}); err != nil {
		return fmt.Errorf("send disconnect: %w", err)
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.waitFor(ctx, "a new connection", func() bool { return len(s.conns) > n || c.closed })
		c.ws.Close()
	}()
	return nil
}

// Drop cuts the newest open socket with no close message, as a network
// failure would.
func (s *Server) Drop() error {
	c, err := s.newest()
	if err != nil {
		return err
	}
	return c.ws.Close()
}

func (s *Server) newest() (*socketConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.conns) - 1; i >= 0; i-- {
		if !s.conns[i].closed {
			return s.conns[i], nil
		}
	}
	return nil, errors.New("the Socket Mode stand-in has no open socket")
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// open answers apps.connections.open.
func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		answer(w, map[string]any{"ok": false, "error": "method_not_supported_for_channel_type"})
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	defer s.changedLocked()
	switch {
	case token == "":
		answer(w, map[string]any{"ok": false, "error": "not_authed"})
	case token != s.token:
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
	case s.refuse != "":
		answer(w, map[string]any{"ok": false, "error": s.refuse})
	default:
		ticket := strconv.Itoa(s.opens) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		s.tickets[ticket] = true
		answer(w, map[string]any{"ok": true, "url": "ws://" + r.Host + "/link/?ticket=" + ticket + "&app_id=A0STANDIN"})
	}
}

// link is the WebSocket: one connection per ticket.
func (s *Server) link(w http.ResponseWriter, r *http.Request) {
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

func (s *Server) ping(c *socketConn) {
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
func (s *Server) read(c *socketConn) {
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
		s.acks = append(s.acks, Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Conn: c.n, Lost: lost})
		s.changedLocked()
		s.mu.Unlock()
		if lost {
			return
		}
	}
}

// answer writes v as the Web API does: HTTP 200 and JSON, even for an
// error.
func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
