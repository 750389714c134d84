package testutil

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// SlackBotToken is the fake bot token tests give the Slack Web API client;
// tests check that it never appears in an error, a log line or a message.
const SlackBotToken = "xoxb-0000000000-1111111111111-FakeBotTokenNeverShown"

// SlackAPI is a stand-in for Slack's Web API on loopback. It answers
// usergroups.users.list the way Slack does: POST with a form body or GET
// with a query, the token as the form field "token" (what slack-go sends)
// or as "Authorization: Bearer", the group in the field "usergroup", and a
// JSON answer with HTTP 200 whether or not the call succeeded:
// {"ok":true,"users":[…]}, or {"ok":false,"error":"no_such_subteam"} for a
// group it does not know, "not_authed" without a token, "invalid_auth" with
// another token. Other methods get "unknown_method".
//
// Its membership is set with SetMembers; Reply, Disconnect and Hold stand
// in for Slack's failures and slowness. Every request to a method counts as
// a hit.
type SlackAPI struct {
	// URL is the API's base URL, ending in "/", as slackapi.OptionAPIURL
	// wants it.
	URL string

	token string
	hits  atomic.Int32

	mu         sync.Mutex
	groups     map[string][]string
	reply      *slackReply
	disconnect bool
	gate       chan struct{} // while non-nil, requests wait for it to close
}

type slackReply struct {
	status int
	header http.Header
	body   []byte
}

// NewSlackAPI starts a stand-in for Slack's Web API that accepts token and
// knows no user groups yet. It stops with the test.
func NewSlackAPI(tb testing.TB, token string) *SlackAPI {
	tb.Helper()
	s := &SlackAPI{token: token, groups: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	// Cleanups run last-registered first: open the gate before Close waits
	// for the requests it holds.
	tb.Cleanup(s.release)
	s.URL = srv.URL + "/"
	return s
}

// SetMembers makes groupID a user group whose members are userIDs (none
// for an empty group).
func (s *SlackAPI) SetMembers(groupID string, userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[groupID] = append([]string{}, userIDs...)
}

// Reply makes every later request get this status, header and body
// verbatim, whatever it asks: one of Slack's error answers, say, from a
// fixture. Reply(0, nil, nil) goes back to answering from the membership.
func (s *SlackAPI) Reply(status int, header http.Header, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.reply = nil
		return
	}
	s.reply = &slackReply{status: status, header: header.Clone(), body: append([]byte{}, body...)}
}

// Disconnect makes every later request, while on, end with the connection
// closed and no answer, as a network failure would.
func (s *SlackAPI) Disconnect(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disconnect = on
}

// Hold makes later requests wait, after they are counted, until the
// returned release is called (or the test ends), so that a test can
// gather callers while one request is in flight. Release may be called
// more than once.
func (s *SlackAPI) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	return s.release
}

func (s *SlackAPI) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// Hits is how many requests have reached the API.
func (s *SlackAPI) Hits() int { return int(s.hits.Load()) }

func (s *SlackAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	gate, reply, disconnect := s.gate, s.reply, s.disconnect
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if disconnect {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if reply != nil {
		for k, v := range reply.header {
			w.Header()[k] = v
		}
		w.WriteHeader(reply.status)
		w.Write(reply.body)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// ParseForm reads the query of a GET and the form body of a POST.
	if err := r.ParseForm(); err != nil {
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := r.Form.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	switch {
	case token == "":
		slackAnswer(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	case token != s.token:
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if strings.TrimPrefix(r.URL.Path, "/") != "usergroups.users.list" {
		slackAnswer(w, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	group := r.Form.Get("usergroup")
	if group == "" {
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	s.mu.Lock()
	users, ok := s.groups[group]
	s.mu.Unlock()
	if !ok {
		slackAnswer(w, map[string]any{"ok": false, "error": "no_such_subteam"})
		return
	}
	slackAnswer(w, map[string]any{"ok": true, "users": users})
}

// slackAnswer writes v as the Web API does: HTTP 200 and JSON, even for
// an error.
func slackAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
