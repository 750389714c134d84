package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const (
	testSecret  = "8f742231b10e8888abcd99yyyzzz85a5"
	testDist    = testutil.DistributionID
	responseURL = "https://hooks.slack.com/actions/T0/1/RESPONSEURLTOKEN"
)

// slackOutbox stands in for Slack's response_url at the Poster's
// transport: the posts are kept in memory and no request leaves the
// process.
type slackOutbox struct {
	mu    sync.Mutex
	posts []*slackapi.WebhookMessage
	urls  []string
}

func (o *slackOutbox) RoundTrip(r *http.Request) (*http.Response, error) {
	var m slackapi.WebhookMessage
	err := json.NewDecoder(r.Body).Decode(&m)
	r.Body.Close()
	o.mu.Lock()
	if err == nil {
		o.posts = append(o.posts, &m)
	}
	o.urls = append(o.urls, r.URL.String())
	o.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}, nil
}

func (o *slackOutbox) sent() ([]*slackapi.WebhookMessage, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*slackapi.WebhookMessage(nil), o.posts...), append([]string(nil), o.urls...)
}

// MustService returns a Service over the in-process CloudFront emulator
// whose full purges wait for an approval from someone else, posting
// through out, logging to logs.
func MustService(tb testing.TB, out *slackOutbox, logs io.Writer) *Service {
	tb.Helper()
	s := New(Options{
		SealSecret:     testSecret,
		Invalidator:    testutil.NewInProcessInvalidator(time.Hour),
		DistributionID: testDist,
		Channels:       slack.Channels{"deploys"},
		Confirm:        purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge, ApproverMustDiffer: true},
		Poster:         &slack.Poster{HTTPClient: &http.Client{Transport: out}, Attempts: 1},
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
	})
	tb.Cleanup(func() { s.Wait(context.Background()) })
	return s
}

func command(text string) Command {
	return Command{
		TeamID: "T0", UserID: "U1", ChannelID: "C2147483705", ChannelName: "deploys",
		Command: "/cdn-purge", Text: text, TriggerID: "trigger." + text, ResponseURL: responseURL, Token: "token." + text,
	}
}

// TestCommandsWithoutHTTP drives the service as a transport would, with
// data in and data out: no request, no handler, no encoding.
func TestCommandsWithoutHTTP(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		// check looks at the reply, which must be of the type it takes.
		check func(t *testing.T, r slack.Reply)
	}{
		{"help", command("help"), func(t *testing.T, r slack.Reply) {
			if h := r.(slack.Help); h.Command != "/cdn-purge" || len(h.Here) != 1 {
				t.Errorf("help %+v", h)
			}
		}},
		{"purge", command("/blog/* /index.html"), func(t *testing.T, r slack.Reply) {
			s := r.(slack.Started)
			if inv := s.Purge.Invalidation; inv.ID == "" || len(inv.Paths) != 2 || s.Purge.UserID != "U1" || s.ReplaceOriginal {
				t.Errorf("started %+v, invalidation %+v", s, inv)
			}
		}},
		{"a full purge waits for approval", command(""), func(t *testing.T, r slack.Reply) {
			a := r.(slack.ApprovalAsked)
			if a.Sealed == "" || !a.ApproverMustDiffer || a.Pending.UserID != "U1" || strings.Join(a.Pending.Paths, " ") != "/*" {
				t.Errorf("approval %+v", a)
			}
		}},
		{"a refused channel", func() Command { c := command("/x"); c.ChannelID, c.ChannelName = "C0ELSEWHERE", "random"; return c }(), func(t *testing.T, r slack.Reply) {
			if c := r.(slack.ChannelRefused); len(c.Allowed) != 1 || c.Allowed[0] != "deploys" {
				t.Errorf("refusal %+v", c)
			}
		}},
		{"an invalid path", command("/a/*/b"), func(t *testing.T, r slack.Reply) {
			if f := r.(slack.Failed); purge.ErrorCode(f.Err) != purge.Invalid {
				t.Errorf("error %v", f.Err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testutil.LockedBuffer
			s := MustService(t, &slackOutbox{}, &logs)
			r := s.Command(context.Background(), tt.cmd)
			tt.check(t, r)
			if slack.Render(r) == nil {
				t.Errorf("%T renders as no message", r)
			}
			if n := strings.Count(logs.String(), `"msg":"slash command"`); n != 1 {
				t.Errorf("%d records for one command:\n%s", n, logs.String())
			}
		})
	}
}

// TestClickWithoutHTTP: a command asks for approval, someone else's click
// approves it, the purge is made, and the answer goes to the click's
// response_url in the background; all of it without a transport.
func TestClickWithoutHTTP(t *testing.T) {
	out := &slackOutbox{}
	var logs testutil.LockedBuffer
	s := MustService(t, out, &logs)
	ctx := context.Background()
	asked, ok := s.Command(ctx, command("")).(slack.ApprovalAsked)
	if !ok {
		t.Fatal("a full purge did not ask for approval")
	}
	click := Click{TeamID: "T0", UserID: "U2", ChannelID: "C2147483705", ChannelName: "deploys",
		ActionID: slack.ActionApprove, Value: asked.Sealed, ResponseURL: responseURL}

	tests := []struct {
		name  string
		click Click
		want  func(t *testing.T, r slack.Reply)
	}{
		{"the requester may not approve", func() Click { c := click; c.UserID = "U1"; return c }(), func(t *testing.T, r slack.Reply) {
			if c := r.(slack.ClickRefused); c.Reason != slack.ClickOwnRequest {
				t.Errorf("refusal %+v", c)
			}
		}},
		{"someone else approves", click, func(t *testing.T, r slack.Reply) {
			st := r.(slack.Started)
			if !st.ReplaceOriginal || st.Purge.ApprovedBy != "U2" || st.Purge.UserID != "U1" || st.Purge.Invalidation.ID == "" {
				t.Errorf("started %+v", st)
			}
		}},
		{"a second approval purges nothing more", click, func(t *testing.T, r slack.Reply) {
			if a := r.(slack.AlreadyApproved); a.Invalidation == nil || purge.Approver(a.Invalidation.CallerReference) != "U2" {
				t.Errorf("already approved %+v", a)
			}
		}},
		{"a click on another button is ignored", func() Click { c := click; c.ActionID = "other"; return c }(), func(t *testing.T, r slack.Reply) {
			if r != nil {
				t.Errorf("answer %T to an ignored click", r)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := out.sent()
			r := s.Click(ctx, tt.click)
			tt.want(t, r)
			if err := s.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			posts, urls := out.sent()
			posts, urls = posts[len(before):], urls[len(before):]
			switch {
			case r == nil && len(posts) != 0:
				t.Errorf("%d posts for an ignored click", len(posts))
			case r != nil && (len(posts) != 1 || urls[0] != responseURL || posts[0].Text != slack.Render(r).Text):
				t.Errorf("posted %d answers to %q, want the rendered reply once to the response_url", len(posts), urls)
			}
			if n := strings.Count(logs.String(), `"msg":"interaction"`); n != i+1 {
				t.Errorf("%d click records after %d clicks", n, i+1)
			}
			for _, secret := range []string{testSecret, "RESPONSEURLTOKEN", click.Value} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log holds a secret (%.12s…)", secret)
				}
			}
		})
	}
}

// TestUnreadableLogsOnce: a request its transport could not decode gets
// the error reply and one record.
func TestUnreadableLogsOnce(t *testing.T) {
	for _, kind := range []Kind{KindCommand, KindClick} {
		t.Run(string(kind), func(t *testing.T) {
			var logs testutil.LockedBuffer
			s := MustService(t, &slackOutbox{}, &logs)
			r := s.Unreadable(context.Background(), kind, purge.Errorf(purge.Invalid, "unreadable"))
			if f, ok := r.(slack.Failed); !ok || purge.ErrorCode(f.Err) != purge.Invalid {
				t.Errorf("reply %#v", r)
			}
			if n := strings.Count(logs.String(), `"msg":"`+string(kind)+`"`); n != 1 {
				t.Errorf("%d records:\n%s", n, logs.String())
			}
		})
	}
}
