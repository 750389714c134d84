package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestFollowUpReplacesTheMessage(t *testing.T) {
	in := testutil.NewSlackInbox(t, responseSecret)
	var pool *followup.Pool
	f := newFixture(t, func(o *service.Options) {
		o.Invalidator = testutil.MustEmulatedInvalidator(t, 300*time.Millisecond)
		pool = followup.NewPool(&followup.Follower{Invalidator: o.Invalidator, Poster: o.Poster, FirstDelay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond}, 4, nil)
		o.Followups = pool
	})
	_, m := f.command(t, map[string]string{"response_url": in.URL})
	if !strings.Contains(m.Text+blocksText(m), "this message will update") {
		t.Errorf("the reply does not promise an update: %s", blocksText(m))
	}
	done := in.Next(t)
	if !done.ReplaceOriginal || done.ResponseType != "in_channel" || !strings.Contains(done.Text, "Purged 1 path") {
		t.Fatalf("follow-up: %+v", done)
	}
	if !strings.Contains(blocksText(done), "Completed in") || !strings.Contains(blocksText(done), replyInvalidationID(m)) {
		t.Errorf("follow-up blocks: %s", blocksText(done))
	}
	// The same delivery again: one invalidation, followed once. The command
	// schedules its follow-up before it answers, and Shutdown returns once
	// every follow-up is over: a second post would be in the inbox by then.
	f.command(t, map[string]string{"response_url": in.URL})
	if err := pool.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.h.Wait(context.Background())
	in.NoMore(t)
}

func TestFollowUpNotPossible(t *testing.T) {
	var pool *followup.Pool
	f := newFixture(t, func(o *service.Options) {
		pool = followup.NewPool(&followup.Follower{Invalidator: o.Invalidator, Poster: o.Poster}, 1, nil)
		o.Followups = pool
		o.Poster = &slack.Poster{} // no loopback: a loopback response_url is refused
	})
	_, m := f.command(t, map[string]string{"response_url": "http://127.0.0.1:9/commands/T0/1/" + responseSecret})
	if m.ResponseType != "in_channel" || !strings.Contains(blocksText(m), "check later with `/cdn-purge status "+replyInvalidationID(m)) {
		t.Fatalf("reply: %s", blocksText(m))
	}
	if pool.Len() != 0 {
		t.Fatal("a follow-up was scheduled for a refused response_url")
	}
}

func TestShutdownHandsFollowUpsBack(t *testing.T) {
	in := testutil.NewSlackInbox(t, responseSecret)
	var pool *followup.Pool
	f := newFixture(t, func(o *service.Options) {
		pool = followup.NewPool(&followup.Follower{Invalidator: o.Invalidator, Poster: o.Poster, FirstDelay: 20 * time.Millisecond}, 4, nil)
		o.Followups = pool
	})
	_, m := f.command(t, map[string]string{"response_url": in.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	pool.Shutdown(ctx) // the emulated invalidation takes an hour
	msg := in.Next(t)
	if !msg.ReplaceOriginal || !strings.Contains(msg.Text, "Still purging") || !strings.Contains(blocksText(msg), "/cdn-purge status "+replyInvalidationID(m)) {
		t.Fatalf("hand-over message: %s %s", msg.Text, blocksText(msg))
	}
	if err := pool.Schedule(context.Background(), followup.Request{DistributionID: testDist, InvalidationID: "I1", ResponseURL: in.URL, Started: time.Now()}); err != followup.ErrPoolClosed {
		t.Fatalf("Schedule after Shutdown = %v", err)
	}
}

func TestStatusAndList(t *testing.T) {
	f := newFixture(t, nil)
	_, m := f.command(t, map[string]string{"text": "status"})
	if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "No invalidations") {
		t.Fatalf("status with none: %s", m.Text)
	}
	_, first := f.command(t, map[string]string{"text": "/one", "trigger_id": "t1"})
	_, second := f.command(t, map[string]string{"text": "/two", "trigger_id": "t2"})
	_, m = f.command(t, map[string]string{"text": "status"})
	if !strings.Contains(m.Text, replyInvalidationID(second)) || !strings.Contains(m.Text, "/two") || !strings.Contains(m.Text, "<@U2147483697>") {
		t.Errorf("latest status: %s", m.Text)
	}
	_, m = f.command(t, map[string]string{"text": "status " + replyInvalidationID(first)})
	if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "/one") || !strings.Contains(m.Text, "in progress") {
		t.Errorf("status by ID: %s", m.Text)
	}
	_, m = f.command(t, map[string]string{"text": "status INOSUCHTHING"})
	if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, ":x:") {
		t.Errorf("status of an unknown ID: %s", m.Text)
	}
	_, m = f.command(t, map[string]string{"text": "list"})
	a, b := strings.Index(m.Text, replyInvalidationID(second)), strings.Index(m.Text, replyInvalidationID(first))
	if m.ResponseType != "ephemeral" || a < 0 || b < 0 || a > b {
		t.Errorf("list is not newest first: %s", m.Text)
	}
	_, m = f.command(t, map[string]string{"text": "list", "channel_id": "C0RANDOM01", "channel_name": "random"})
	if !strings.Contains(m.Text, "may not purge") {
		t.Errorf("list in a refused channel: %s", m.Text)
	}
}

// click sends a signed block_actions interaction for a button of msg.
func (f *fixture) click(t *testing.T, msg *slackapi.WebhookMessage, actionID, userID, channelID, responseURL string) int {
	t.Helper()
	status, _ := f.do(t, clickRequest(t, msg, actionID, userID, channelID, responseURL))
	return status
}

// clickRequest is the signed block_actions interaction of userID clicking
// the button actionID of msg in channelID.
func clickRequest(t *testing.T, msg *slackapi.WebhookMessage, actionID, userID, channelID, responseURL string) *http.Request {
	t.Helper()
	var value string
	for _, b := range msg.Blocks.BlockSet {
		if ab, ok := b.(*slackapi.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok && btn.ActionID == actionID {
					value = btn.Value
				}
			}
		}
	}
	if value == "" {
		t.Fatalf("no %s button in %s", actionID, msg.Text)
	}
	payload, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]string{"id": userID, "name": "someone"},
		"team":         map[string]string{"id": "T0001"},
		"channel":      map[string]string{"id": channelID, "name": "deploys"},
		"response_url": responseURL,
		"trigger_id":   "click-" + userID,
		"actions":      []map[string]string{{"action_id": actionID, "block_id": "cdnpurge_confirm", "value": value, "type": "button"}},
	})
	return signedRequest(t, "/slack/interactions", testSecret, url.Values{"payload": {string(payload)}}.Encode(), 0)
}

func TestApproval(t *testing.T) {
	const requester, other = "U2147483697", "U0OTHER0001"
	setup := func(t *testing.T, mustDiffer bool) (*fixture, *testutil.SlackInbox, *testutil.Clock, *slackapi.WebhookMessage) {
		in := testutil.NewSlackInbox(t, responseSecret)
		clk := testutil.NewClock(time.Now())
		f := newFixture(t, func(o *service.Options) {
			o.Confirm = purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge, ApproverMustDiffer: mustDiffer}
			o.Now = clk.Now
		})
		_, m := f.command(t, map[string]string{"text": "", "channel_id": "C2147483705", "response_url": in.URL})
		if m.ResponseType != "in_channel" || !strings.Contains(m.Text, "wants to purge 1 path") || f.count(t) != 0 {
			t.Fatalf("approval request: %s (invalidations: %d)", m.Text, f.count(t))
		}
		return f, in, clk, m
	}
	t.Run("approved by someone else", func(t *testing.T) {
		f, in, clk, m := setup(t, true)
		if status := f.click(t, m, slack.ActionApprove, other, "C2147483705", in.URL); status != 200 {
			t.Fatalf("click: %d", status)
		}
		started := in.Next(t)
		if !started.ReplaceOriginal || !strings.Contains(started.Text, "Purging 1 path") || !strings.Contains(blocksText(started), "approved by <@"+other+">") {
			t.Fatalf("after approval: %s %s", started.Text, blocksText(started))
		}
		if f.count(t) != 1 {
			t.Fatalf("%d invalidations", f.count(t))
		}
		// A second, later click on the same (stale) buttons purges nothing new.
		clk.Advance(time.Minute)
		f.click(t, m, slack.ActionApprove, other, "C2147483705", in.URL)
		again := in.Next(t)
		if again.ReplaceOriginal || !strings.Contains(again.Text, "<@"+other+"> already approved it") || f.count(t) != 1 {
			t.Fatalf("second click: %+v (invalidations: %d)", again, f.count(t))
		}
	})
	t.Run("requester may not approve", func(t *testing.T) {
		f, in, _, m := setup(t, true)
		f.click(t, m, slack.ActionApprove, requester, "C2147483705", in.URL)
		msg := in.Next(t)
		if msg.ReplaceOriginal || !strings.Contains(msg.Text, "someone else") || f.count(t) != 0 {
			t.Fatalf("self-approval: %+v", msg)
		}
	})
	t.Run("requester may approve when allowed", func(t *testing.T) {
		f, in, _, m := setup(t, false)
		f.click(t, m, slack.ActionApprove, requester, "C2147483705", in.URL)
		if msg := in.Next(t); !strings.Contains(msg.Text, "Purging") || f.count(t) != 1 {
			t.Fatalf("self-approval allowed: %+v", msg)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		f, in, _, m := setup(t, true)
		f.click(t, m, slack.ActionCancel, requester, "C2147483705", in.URL)
		msg := in.Next(t)
		if !msg.ReplaceOriginal || !strings.Contains(msg.Text, "Cancelled by <@"+requester+">") || f.count(t) != 0 {
			t.Fatalf("cancel: %+v", msg)
		}
	})
	t.Run("expired", func(t *testing.T) {
		f, in, clk, m := setup(t, true)
		clk.Advance(service.DefaultConfirmTTL + time.Second)
		f.click(t, m, slack.ActionApprove, other, "C2147483705", in.URL)
		if msg := in.Next(t); !strings.Contains(msg.Text, "expired") || f.count(t) != 0 {
			t.Fatalf("expired: %+v", msg)
		}
	})
	t.Run("other channel", func(t *testing.T) {
		f, in, _, m := setup(t, true)
		f.click(t, m, slack.ActionApprove, other, "C0OTHER001", in.URL)
		if msg := in.Next(t); !strings.Contains(msg.Text, "does not belong here") || f.count(t) != 0 {
			t.Fatalf("other channel: %+v", msg)
		}
	})
	t.Run("forged value", func(t *testing.T) {
		f, in, _, m := setup(t, true)
		for _, b := range m.Blocks.BlockSet {
			if ab, ok := b.(*slackapi.ActionBlock); ok {
				for _, el := range ab.Elements.ElementSet {
					btn := el.(*slackapi.ButtonBlockElement)
					btn.Value = strings.Replace(btn.Value, ".", "x.", 1)
				}
			}
		}
		f.click(t, m, slack.ActionApprove, other, "C2147483705", in.URL)
		if msg := in.Next(t); !strings.Contains(msg.Text, "not valid") || f.count(t) != 0 {
			t.Fatalf("forged: %+v", msg)
		}
	})
	t.Run("unsigned click", func(t *testing.T) {
		f, _, _, _ := setup(t, true)
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader("payload=%7B%7D"))
		if status, _ := f.do(t, req); status != http.StatusUnauthorized {
			t.Fatalf("unsigned: %d", status)
		}
	})
}

func blocksText(m *slackapi.WebhookMessage) string {
	raw, _ := json.Marshal(m.Blocks)
	return strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(string(raw))
}
