package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The tests of this file hold the record true: what the channel and the
// audit webhook are told, once per invalidation, and what CloudFront is
// asked, once per purge.

const approver, secondApprover = "U0OTHER0001", "U0THIRD0001"

// auditPosts waits until every background delivery the handler started has
// finished, then returns the audit posts the webhook stand-in holds: a post
// the handler made is there by then, so "no more" is proven, not hoped.
func (f *fixture) auditPosts(t *testing.T) []*slackapi.WebhookMessage {
	t.Helper()
	if err := f.h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.hooks.mu.Lock()
	defer f.hooks.mu.Unlock()
	return append([]*slackapi.WebhookMessage(nil), f.hooks.posts...)
}

// approvalFixture is a fixture whose full purges wait for a click, with a
// clock the test moves; it returns the approval request of one "/*".
func approvalFixture(t *testing.T, mutate func(*service.Options)) (*fixture, *testutil.Clock, *slackapi.WebhookMessage) {
	t.Helper()
	clk := testutil.NewClock(time.Now())
	f := newFixture(t, func(o *service.Options) {
		o.Confirm = purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge, ApproverMustDiffer: true}
		o.Now = clk.Now
		if mutate != nil {
			mutate(o)
		}
	})
	_, m := f.command(t, map[string]string{"text": "", "channel_id": "C2147483705"})
	if m == nil || !strings.Contains(m.Text, "wants to purge") {
		t.Fatalf("approval request: %+v", m)
	}
	return f, clk, m
}

// serveAll serves reqs through the handler, all at once or one after the
// other, and returns the recorded responses in order.
func serveAll(h http.Handler, reqs []*http.Request, atOnce bool) []*httptest.ResponseRecorder {
	recs := make([]*httptest.ResponseRecorder, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		recs[i] = httptest.NewRecorder()
		if atOnce {
			wg.Go(func() { h.ServeHTTP(recs[i], req) })
		} else {
			h.ServeHTTP(recs[i], req)
		}
	}
	wg.Wait()
	return recs
}

// TestAnnouncedOnce: however many times Slack delivers a command, a replay
// resends it, or people click Approve, one after another or at the same
// moment, there is one invalidation and one audit post, made by the
// delivery or click that created it.
func TestAnnouncedOnce(t *testing.T) {
	for _, atOnce := range []bool{false, true} {
		when := map[bool]string{false: "one after another", true: "at the same moment"}[atOnce]
		t.Run("command delivered 6 times, "+when, func(t *testing.T) {
			f := newFixture(t, nil)
			body := mustForm(t, map[string]string{"trigger_id": "t.announce." + when, "text": "/announced"}).Encode()
			var reqs []*http.Request
			for range 6 {
				reqs = append(reqs, signedRequest(t, "/slack/commands", testSecret, body, 0))
			}
			started := 0
			for _, rec := range serveAll(f.h, reqs, atOnce) {
				if strings.Contains(rec.Body.String(), `"in_channel"`) {
					started++
				}
			}
			if n, posts := f.count(t), f.auditPosts(t); n != 1 || len(posts) != 1 || started != 1 {
				t.Fatalf("%d invalidations, %d audit posts, %d replies in the channel; want 1 each", n, len(posts), started)
			}
		})
		t.Run("Approve clicked by three people, "+when, func(t *testing.T) {
			f, _, m := approvalFixture(t, nil)
			in := testutil.NewSlackInbox(t, responseSecret)
			var reqs []*http.Request
			for _, u := range []string{approver, secondApprover, approver} {
				reqs = append(reqs, clickRequest(t, m, slack.ActionApprove, u, "C2147483705", in.URL))
			}
			serveAll(f.h, reqs, atOnce)
			posts := f.auditPosts(t)
			if n := f.count(t); n != 1 || len(posts) != 1 {
				t.Fatalf("%d invalidations, %d audit posts; want 1 each", n, len(posts))
			}
			// One click replaced the request with the started purge; the
			// others were told, only them, who approved it.
			replaced := 0
			for range 3 {
				if a := in.Next(t); a.ReplaceOriginal {
					replaced++
				} else if !strings.Contains(a.Text, "already approved it") {
					t.Errorf("answer to a later click: %s", a.Text)
				}
			}
			if replaced != 1 {
				t.Fatalf("%d clicks replaced the approval request, want 1", replaced)
			}
		})
	}
}

// TestSecondApprove: a second Approve, at any time after the first, even
// after the request expired, says who approved and when, creates nothing,
// posts nothing on the webhook and leaves the message as it is.
func TestSecondApprove(t *testing.T) {
	for _, later := range []time.Duration{time.Second, 10 * time.Minute, service.DefaultConfirmTTL + time.Minute} {
		t.Run(later.String()+" later", func(t *testing.T) {
			f, clk, m := approvalFixture(t, nil)
			in := testutil.NewSlackInbox(t, responseSecret)
			f.click(t, m, slack.ActionApprove, approver, "C2147483705", in.URL)
			if first := in.Next(t); !first.ReplaceOriginal || !strings.Contains(blocksText(first), "approved by <@"+approver+">") {
				t.Fatalf("first approval: %s", first.Text)
			}
			inv := f.newest(t)
			clk.Advance(later)
			f.click(t, m, slack.ActionApprove, secondApprover, "C2147483705", in.URL)
			again := in.Next(t)
			// The time of day, with the date once the click is on another
			// day (UTC) than the approval: the fixture's clock starts now,
			// so 10 minutes later may be tomorrow.
			at := inv.CreateTime.UTC().Format("15:04:05")
			if inv.CreateTime.UTC().YearDay() != clk.Now().UTC().YearDay() {
				at = inv.CreateTime.UTC().Format("Jan 2 15:04")
			}
			want := "<@" + approver + "> already approved it at " + at
			if again.ReplaceOriginal || again.ResponseType != "ephemeral" || !strings.Contains(again.Text, want) || !strings.Contains(again.Text, inv.ID) {
				t.Fatalf("second approval: %q, want an ephemeral answer with %q and %s", again.Text, want, inv.ID)
			}
			if n, posts := f.count(t), f.auditPosts(t); n != 1 || len(posts) != 1 {
				t.Fatalf("%d invalidations, %d audit posts after the second click; want 1 each", n, len(posts))
			}
		})
	}
}

// newest reads the newest invalidation of the fixture's distribution.
func (f *fixture) newest(t *testing.T) *purge.Invalidation {
	t.Helper()
	page, err := f.inv.ListInvalidations(context.Background(), testDist, purge.ListOptions{MaxItems: 1})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("no invalidation: %v", err)
	}
	inv, err := f.inv.GetInvalidation(context.Background(), testDist, page.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestCancelTellsTheTruth: Cancel after Approve says the purge already
// started, by whom, and leaves the started message; Cancel before it closes
// the request.
func TestCancelTellsTheTruth(t *testing.T) {
	f, _, m := approvalFixture(t, nil)
	in := testutil.NewSlackInbox(t, responseSecret)
	f.click(t, m, slack.ActionApprove, approver, "C2147483705", in.URL)
	in.Next(t)
	f.click(t, m, slack.ActionCancel, "U2147483697", "C2147483705", in.URL)
	got := in.Next(t)
	if got.ReplaceOriginal || !strings.Contains(got.Text, "Too late to cancel: <@"+approver+"> approved it") || strings.Contains(got.Text, "Nothing was purged") {
		t.Fatalf("cancel after approval: %s", got.Text)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d invalidations", n)
	}
}

// TestCancelNeedsApproveRights: on a target with people rules, someone who
// may not purge it may not cancel its approval request either; someone who
// may, may.
func TestCancelNeedsApproveRights(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	in := testutil.NewSlackInbox(t, responseSecret)
	m := f.send(t, docsChan, "docs", alice, "docs /guide/intro")
	if !strings.Contains(m.Text, "wants to purge") {
		t.Fatalf("approval request: %s", m.Text)
	}
	f.click(t, m, slack.ActionCancel, mallory, docsChan, in.URL)
	if got := in.Next(t); got.ReplaceOriginal || !strings.Contains(got.Text, "You may not cancel this purge") {
		t.Fatalf("cancel by someone who may not purge docs: %s", got.Text)
	}
	f.click(t, m, slack.ActionCancel, bob, docsChan, in.URL)
	if got := in.Next(t); !got.ReplaceOriginal || !strings.Contains(got.Text, "Cancelled by <@"+bob+">") {
		t.Fatalf("cancel by a member of the web team: %s", got.Text)
	}
	if n := total(f.invalidations(t)); n != 0 {
		t.Fatalf("%d invalidations after a cancelled request", n)
	}
}

// TestApproverOnRecord: who approved is in the reply, the audit post, the
// completion follow-up and CloudFront's own record (the CallerReference).
func TestApproverOnRecord(t *testing.T) {
	var pool *followup.Pool
	f, _, m := approvalFixture(t, func(o *service.Options) {
		o.Invalidator = testutil.MustEmulatedInvalidator(t, 50*time.Millisecond)
		pool = followup.NewPool(&followup.Follower{Invalidator: o.Invalidator, Poster: o.Poster, FirstDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, 4, nil)
		o.Followups = pool
	})
	t.Cleanup(func() { pool.Shutdown(context.Background()) })
	in := testutil.NewSlackInbox(t, responseSecret)
	f.click(t, m, slack.ActionApprove, approver, "C2147483705", in.URL)
	byWhom := "approved by <@" + approver + ">"
	if reply := in.Next(t); !strings.Contains(blocksText(reply), byWhom) || !strings.Contains(blocksText(reply), "requested by <@U2147483697>") {
		t.Errorf("reply: %s", blocksText(reply))
	}
	if done := in.Next(t); !strings.Contains(done.Text, "Purged") || !strings.Contains(blocksText(done), byWhom) {
		t.Errorf("completion follow-up: %s", blocksText(done))
	}
	if posts := f.auditPosts(t); len(posts) != 1 || !strings.Contains(posts[0].Text, byWhom) {
		t.Errorf("audit posts: %d, first %q", len(posts), posts[0].Text)
	}
	if inv := f.newest(t); purge.Approver(inv.CallerReference) != approver {
		t.Errorf("CallerReference %q names no approver %s", inv.CallerReference, approver)
	}
}

// hangingInbox is a response_url that takes every post and holds it until
// the test releases it.
type hangingInbox struct {
	got     chan struct{}
	release chan struct{}
}

func (h *hangingInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.got <- struct{}{}
	<-h.release
}

// TestClickAckedWhateverResponseURLDoes: the click is acknowledged while
// response_url still holds its answer, so a slow response_url cannot keep
// the click past Slack's 3 seconds; the answer is posted all the same.
func TestClickAckedWhateverResponseURLDoes(t *testing.T) {
	f, _, m := approvalFixture(t, nil)
	hang := &hangingInbox{got: make(chan struct{}, 4), release: make(chan struct{})}
	srv := httptest.NewServer(hang)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang.release) })
	acked := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, clickRequest(t, m, slack.ActionApprove, approver, "C2147483705", srv.URL+"/actions/T0/1/"+responseSecret))
		acked <- rec.Code
	}()
	select {
	case code := <-acked:
		if code != http.StatusOK {
			t.Fatalf("click answered %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the click was not acknowledged while response_url held its answer")
	}
	select {
	case <-hang.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the answer never reached response_url")
	}
}

// countingTransport counts the CloudFront API requests by operation.
type countingTransport struct {
	creates, lists, gets atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodPost:
		c.creates.Add(1)
	case strings.HasSuffix(r.URL.Path, "/invalidation"):
		c.lists.Add(1)
	default:
		c.gets.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestOneCallPerPurge: on the happy path a purge is one CreateInvalidation
// call, also with invalidations in progress; what is in flight is looked at
// only when CloudFront refuses for its limits.
func TestOneCallPerPurge(t *testing.T) {
	calls := &countingTransport{}
	endpoint := testutil.MustEmulator(t, time.Hour)
	f := newFixture(t, func(o *service.Options) {
		o.Invalidator = cloudfrontcdn.New(testutil.AWSConfig(), cloudfrontcdn.Options{Endpoint: endpoint, HTTPClient: &http.Client{Transport: calls}})
	})
	for i := range 5 {
		_, m := f.command(t, map[string]string{"trigger_id": fmt.Sprintf("t.one.%d", i), "text": fmt.Sprintf("/one/%d/*", i)})
		if !strings.Contains(m.Text, "Purging") {
			t.Fatalf("purge %d: %s", i, m.Text)
		}
	}
	if c, l, g := calls.creates.Load(), calls.lists.Load(), calls.gets.Load(); c != 5 || l != 0 || g != 0 {
		t.Fatalf("5 purges made %d CreateInvalidation, %d ListInvalidations and %d GetInvalidation calls; want 5, 0, 0", c, l, g)
	}
	// Fill the 15 wildcards: the refusal is explained with what is in flight.
	for i := 5; i < 15; i++ {
		f.command(t, map[string]string{"trigger_id": fmt.Sprintf("t.one.%d", i), "text": fmt.Sprintf("/one/%d/*", i)})
	}
	_, m := f.command(t, map[string]string{"trigger_id": "t.one.over", "text": "/over/*"})
	if !strings.Contains(m.Text, "15 are in progress") {
		t.Fatalf("refusal at the limit: %s", m.Text)
	}
}

// TestRetriedAfterOutage: CloudFront fails every create for 20 s, then is
// healthy. Every command is accepted and told it is being retried; the
// follow-up keeps creating each with the same CallerReference and ends with
// exactly one invalidation per command, one audit post each, and a true
// final message.
func TestRetriedAfterOutage(t *testing.T) {
	t.Parallel()
	const commands = 4
	outageEnds := time.Now().Add(20 * time.Second)
	emu, endpoint := testutil.MustEmulatorWithOutage(t, testDist, 100*time.Millisecond, outageEnds)
	var pool *followup.Pool
	f := newFixture(t, func(o *service.Options) {
		o.Invalidator = testutil.NewInvalidator(endpoint)
		pool = followup.NewPool(&followup.Follower{
			Invalidator: o.Invalidator, Poster: o.Poster, FirstDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
			CreateFirstDelay: 500 * time.Millisecond, CreateMaxDelay: 2 * time.Second,
			Auditor: &slack.Auditor{Poster: o.Poster, WebhookURL: o.WebhookURL},
		}, 8, nil)
		o.Followups = pool
	})
	t.Cleanup(func() { pool.Shutdown(context.Background()) })
	inboxes := make([]*testutil.SlackInbox, commands)
	for i := range commands {
		inboxes[i] = testutil.NewSlackInbox(t, responseSecret)
		_, m := f.command(t, map[string]string{"trigger_id": fmt.Sprintf("t.outage.%d", i), "text": fmt.Sprintf("/outage/%d", i), "response_url": inboxes[i].URL})
		if m.ResponseType != "in_channel" || !strings.Contains(m.Text, "has not taken it yet") {
			t.Fatalf("command %d during the outage: %s", i, m.Text)
		}
	}
	// The outage lasts its 20 s whatever the test does; the messages come
	// within a backoff of its end.
	time.Sleep(time.Until(outageEnds))
	for i, in := range inboxes {
		started, done := in.Next(t), in.Next(t)
		if !started.ReplaceOriginal || !strings.Contains(started.Text, "Purging 1 path") {
			t.Errorf("command %d: started message %q", i, started.Text)
		}
		if !done.ReplaceOriginal || !strings.Contains(done.Text, ":white_check_mark: Purged 1 path") {
			t.Errorf("command %d: final message %q", i, done.Text)
		}
	}
	refs := emu.CallerReferences(testDist)
	if len(refs) != commands {
		t.Fatalf("%d invalidations for %d commands: %v", len(refs), commands, refs)
	}
	for i := range commands {
		if !slices.Contains(refs, purge.SlackCallerReference("U2147483697", fmt.Sprintf("t.outage.%d", i))) {
			t.Errorf("no invalidation with command %d's CallerReference among %v", i, refs)
		}
	}
	if c := emu.InjectedFaults(emulator.OpCreateInvalidation); c.Unavailable == 0 {
		t.Fatal("no create failed: the test tests nothing")
	}
	if posts := f.auditPosts(t); len(posts) != commands {
		t.Fatalf("%d audit posts for %d invalidations", len(posts), commands)
	}
}

// TestLargeApproval: an approval request holds a purge of CloudFront's
// 3,000 paths when they share their beginnings, as a generated site's pages
// do, and Approve makes it. One too large for Slack's 2,000-character
// button even compressed (3,000 unrelated numbers) is refused before
// anything is sent, saying how to go on.
func TestLargeApproval(t *testing.T) {
	for _, tt := range []struct {
		name string
		item func(i int) string
		fits bool
	}{
		{"3,000 pages of a generated site", func(i int) string { return fmt.Sprintf("/item-%d.html", i+1) }, true},
		{"3,000 unrelated IDs", func(i int) string { return fmt.Sprintf("/item-%d.html", (i*7919)%100000) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := approvalFixture(t, func(o *service.Options) { o.Confirm.Mode = purge.ConfirmAlways })
			items := make([]string, 3000) // at the 64 KB body limit, URL-encoded
			for i := range items {
				items[i] = tt.item(i)
			}
			_, m := f.command(t, map[string]string{"trigger_id": "t.large", "text": strings.Join(items, " "), "channel_id": "C2147483705"})
			if !tt.fits {
				if m == nil || m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "split it into smaller purges") || f.count(t) != 0 {
					t.Fatalf("a request too large to seal: %+v", m)
				}
				return
			}
			if m == nil || !strings.Contains(m.Text, "wants to purge 3000 paths") {
				t.Fatalf("approval request for 3,000 paths: %+v", m)
			}
			in := testutil.NewSlackInbox(t, responseSecret)
			f.click(t, m, slack.ActionApprove, approver, "C2147483705", in.URL)
			if got := in.Next(t); !strings.Contains(got.Text, "Purging 3000 paths") {
				t.Fatalf("after approval: %s", got.Text)
			}
			if inv := f.newest(t); len(inv.Paths) != 3000 {
				t.Fatalf("the invalidation holds %d paths, want 3000", len(inv.Paths))
			}
		})
	}
}
