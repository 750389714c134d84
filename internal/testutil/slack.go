package testutil

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
)

// SlackInbox is a stand-in for a Slack response_url (or incoming webhook)
// on loopback: it records every message posted to it.
type SlackInbox struct {
	// URL is where to post; its last element stands for the secret token.
	URL   string
	count atomic.Int32
	got   chan *slackapi.WebhookMessage
}

// NewSlackInbox starts an inbox whose URL ends in token; it stops with the
// test. A post that is not a Slack message fails the test.
func NewSlackInbox(tb testing.TB, token string) *SlackInbox {
	tb.Helper()
	in := &SlackInbox{got: make(chan *slackapi.WebhookMessage, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slackapi.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			tb.Errorf("post to the Slack inbox: %v", err)
		}
		in.count.Add(1)
		in.got <- &m
	}))
	tb.Cleanup(srv.Close)
	in.URL = srv.URL + "/commands/T0/1/" + token
	return in
}

// Next returns the next message posted, failing the test after 15 s.
func (in *SlackInbox) Next(tb testing.TB) *slackapi.WebhookMessage {
	tb.Helper()
	select {
	case m := <-in.got:
		return m
	case <-time.After(15 * time.Second):
		tb.Fatal("nothing was posted to the Slack inbox")
		return nil
	}
}

// None fails the test if a message is posted within wait.
func (in *SlackInbox) None(tb testing.TB, wait time.Duration) {
	tb.Helper()
	select {
	case m := <-in.got:
		tb.Fatalf("unexpected post to the Slack inbox: %s", m.Text)
	case <-time.After(wait):
	}
}

// Count is how many messages have been posted.
func (in *SlackInbox) Count() int { return int(in.count.Load()) }
