package testutil

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
)

// SlackInbox is a stand-in for a Slack response_url (or incoming webhook)
// on loopback: it records every message posted to it, before it answers
// the post. So once a sender is done (its call returned, or Handler.Wait
// or Pool.Shutdown did), everything it posted is recorded, and NoMore can
// tell that nothing else came without waiting for it.
type SlackInbox struct {
	// URL is where to post; its last element stands for the secret token.
	URL string

	mu    sync.Mutex
	posts []*slackapi.WebhookMessage // every message, in the order answered
	taken int                        // how many of posts Next has returned
	more  chan struct{}              // closed and replaced at each post
}

// NewSlackInbox starts an inbox whose URL ends in token; it stops with the
// test. A post that is not a Slack message fails the test.
func NewSlackInbox(tb testing.TB, token string) *SlackInbox {
	tb.Helper()
	in := &SlackInbox{more: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slackapi.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			tb.Errorf("post to the Slack inbox: %v", err)
		}
		in.mu.Lock()
		in.posts = append(in.posts, &m)
		close(in.more)
		in.more = make(chan struct{})
		in.mu.Unlock()
	}))
	tb.Cleanup(srv.Close)
	in.URL = srv.URL + "/commands/T0/1/" + token
	return in
}

// Next returns the next message posted, failing the test after 15 s.
func (in *SlackInbox) Next(tb testing.TB) *slackapi.WebhookMessage {
	tb.Helper()
	deadline := time.After(15 * time.Second)
	for {
		in.mu.Lock()
		if in.taken < len(in.posts) {
			m := in.posts[in.taken]
			in.taken++
			in.mu.Unlock()
			return m
		}
		more := in.more
		in.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			tb.Fatal("nothing was posted to the Slack inbox")
			return nil
		}
	}
}

// NoMore fails the test if a message was posted that Next has not
// returned. It does not wait: call it once the sender is done, so that
// every post it made has been answered and so recorded.
func (in *SlackInbox) NoMore(tb testing.TB) {
	tb.Helper()
	in.mu.Lock()
	extra := in.posts[in.taken:]
	in.mu.Unlock()
	for _, m := range extra {
		tb.Errorf("unexpected post to the Slack inbox: %s", m.Text)
	}
}

// Count is how many messages have been posted (and answered).
func (in *SlackInbox) Count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.posts)
}

// Posts returns every message posted so far, in order.
func (in *SlackInbox) Posts() []*slackapi.WebhookMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*slackapi.WebhookMessage(nil), in.posts...)
}
