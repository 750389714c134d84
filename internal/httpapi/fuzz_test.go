package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// fuzzNow is the clock of FuzzInteractions: sealed values made at it are
// fresh, or expired when made so.
var fuzzNow = time.Unix(1767225600, 0) // 2026-01-01

// fuzzSealed are the button values FuzzInteractions can splice into
// payloads, by placeholder: @A@ a valid approval request for the channel
// C2147483705, @B@ one for another distribution, @C@ an expired one.
func fuzzSealed(tb testing.TB) map[string]slack.Pending {
	tb.Helper()
	base := slack.Pending{DistributionID: testDist, Paths: []string{"/*"}, Requested: 1, UserID: "U2147483697",
		ChannelID: "C2147483705", Token: "13345224609.738474920.8088930838d88f008e0", Expires: fuzzNow.Add(service.DefaultConfirmTTL).Unix()}
	other, expired := base, base
	other.DistributionID = "E0OTHERDIST0"
	expired.Expires = fuzzNow.Add(-time.Second).Unix()
	return map[string]slack.Pending{"@A@": base, "@B@": other, "@C@": expired}
}

// recordingInvalidator is a purge.Invalidator that records what it is asked
// to create: FuzzInteractions checks what reaches the CDN, at the boundary
// every backend shares, many thousand times a second.
type recordingInvalidator struct {
	mu      sync.Mutex
	created []purge.Batch
}

func (r *recordingInvalidator) CreateInvalidation(_ context.Context, b purge.Batch) (*purge.Invalidation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.created = append(r.created, b)
	return &purge.Invalidation{ID: "IFUZZ", DistributionID: b.DistributionID, Status: purge.StatusInProgress,
		CreateTime: fuzzNow, CallerReference: b.CallerReference, Paths: b.Paths, New: true}, nil
}

func (r *recordingInvalidator) GetInvalidation(context.Context, string, string) (*purge.Invalidation, error) {
	return nil, purge.Errorf(purge.NotFound, "no such invalidation")
}

func (r *recordingInvalidator) ListInvalidations(context.Context, string, purge.ListOptions) (*purge.Page, error) {
	return &purge.Page{}, nil
}

// offlineTransport answers every request without a network, recording the
// hosts that were asked.
type offlineTransport struct {
	mu    sync.Mutex
	hosts []string
}

func (o *offlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	o.hosts = append(o.hosts, r.URL.Host)
	o.mu.Unlock()
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}, nil
}

// interactionHarness is a Handler that asks for approval of full purges,
// with a recording backend and a Poster that never touches the network.
type interactionHarness struct {
	h         *Handler
	inv       *recordingInvalidator
	transport *offlineTransport
	pendings  map[string]slack.Pending
	sealed    map[string]string
}

func newInteractionHarness(tb testing.TB) *interactionHarness {
	tb.Helper()
	x := &interactionHarness{inv: &recordingInvalidator{}, transport: &offlineTransport{}, pendings: fuzzSealed(tb), sealed: map[string]string{}}
	for k, p := range x.pendings {
		v, err := slack.SealPending(p, testSecret)
		if err != nil {
			tb.Fatal(err)
		}
		x.sealed[k] = v
	}
	x.h = MustHandler(tb, service.Options{
		DistributionID: testDist, SealSecret: testSecret, Channels: slack.Channels{"deploys", "C0OTHER001"},
		Invalidator: x.inv,
		Poster:      &slack.Poster{HTTPClient: &http.Client{Transport: x.transport}, Attempts: 1},
		Confirm:     purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge, ApproverMustDiffer: true},
		Now:         func() time.Time { return fuzzNow },
	})
	return x
}

// click sends payload (and extraForm after it in the body), signed, with
// the placeholders replaced by sealed values; it returns the status, the
// body sent, what was created and the hosts answers went to.
func (x *interactionHarness) click(tb testing.TB, payload, extraForm string) (int, string, []purge.Batch, []string) {
	tb.Helper()
	for k, v := range x.sealed {
		payload = strings.ReplaceAll(payload, k, v)
		extraForm = strings.ReplaceAll(extraForm, k, url.QueryEscape(v))
	}
	body := "payload=" + url.QueryEscape(payload) + extraForm
	x.inv.mu.Lock()
	x.inv.created = nil
	x.inv.mu.Unlock()
	x.transport.mu.Lock()
	x.transport.hosts = nil
	x.transport.mu.Unlock()
	rec := httptest.NewRecorder()
	x.h.ServeHTTP(rec, signedRequest(tb, "/slack/interactions", testSecret, body, 0))
	// The answer to a click is posted after the acknowledgement.
	if err := x.h.Wait(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return rec.Code, body, x.inv.created, x.transport.hosts
}

// FuzzInteractions sends arbitrary, correctly signed interaction payloads
// through the Handler, with @A@, @B@ and @C@ standing for sealed button
// values (see fuzzSealed), and checks that: every signed request gets 200;
// an invalidation is created only for a payload whose Approve button carries
// a value SealPending made, unaltered, fresh, for this distribution and
// channel, and then exactly the sealed request (paths, distribution, caller
// reference); and no answer is ever sent to a host other than Slack's.
//
//	go test ./internal/httpapi -run '^$' -fuzz '^FuzzInteractions$' -fuzztime 60s
func FuzzInteractions(f *testing.F) {
	f.Add(`{"type":"block_actions","user":{"id":"U0OTHER0001"},"channel":{"id":"C2147483705","name":"deploys"},"response_url":"https://hooks.slack.com/actions/T0/1/x","actions":[{"action_id":"cdnpurge_approve","block_id":"cdnpurge_confirm","type":"button","value":"@A@"}]}`, "")
	x := newInteractionHarness(f)
	f.Fuzz(func(t *testing.T, payload, extraForm string) {
		status, body, created, hosts := x.click(t, payload, extraForm)
		if status != http.StatusOK {
			t.Fatalf("signed interaction answered %d", status)
		}
		for _, host := range hosts {
			if host != "hooks.slack.com" && host != "hooks.slack-gov.com" {
				t.Fatalf("an answer was sent to %q", host)
			}
		}
		if len(created) == 0 {
			return
		}
		if len(created) > 1 {
			t.Fatalf("one click created %d invalidations", len(created))
		}
		cb, err := parseInteraction([]byte(body))
		if err != nil {
			t.Fatalf("an invalidation from an unreadable payload: %v", err)
		}
		want := x.pendings["@A@"]
		var carried bool
		for _, a := range cb.ActionCallback.BlockActions {
			carried = carried || (a.ActionID == slack.ActionApprove && a.Value == x.sealed["@A@"])
		}
		if !carried || cb.Channel.ID != want.ChannelID || cb.User.ID == want.UserID {
			t.Fatalf("an invalidation without an approval the service sealed, from this channel, by another user: %s", body)
		}
		got := created[0]
		if got.DistributionID != testDist || !slices.Equal(got.Paths, want.Paths) ||
			got.CallerReference != purge.ApprovedCallerReference(want.UserID, cb.User.ID, want.Token) {
			t.Fatalf("created %+v, not the sealed request %+v", got, want)
		}
	})
}

// TestInteractionHarness keeps FuzzInteractions honest: its harness does
// create an invalidation for a genuine approval, and answers it on Slack's
// host, so the fuzz property is not vacuously true.
func TestInteractionHarness(t *testing.T) {
	x := newInteractionHarness(t)
	payload := `{"type":"block_actions","user":{"id":"U0OTHER0001"},"channel":{"id":"C2147483705","name":"deploys"},"response_url":"https://hooks.slack.com/actions/T0/1/x","actions":[{"action_id":"cdnpurge_approve","block_id":"cdnpurge_confirm","type":"button","value":"@A@"}]}`
	tests := []struct {
		name    string
		payload string
		created int
	}{
		{"genuine approval", payload, 1},
		{"altered value", strings.Replace(payload, "@A@", "@A@x", 1), 0},
		{"expired value", strings.Replace(payload, "@A@", "@C@", 1), 0},
		{"other distribution", strings.Replace(payload, "@A@", "@B@", 1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, created, hosts := x.click(t, tt.payload, "")
			if status != http.StatusOK || len(created) != tt.created || len(hosts) != 1 || hosts[0] != "hooks.slack.com" {
				t.Fatalf("status %d, created %v, answers to %v", status, created, hosts)
			}
		})
	}
}

// FuzzUnsignedCommands sends arbitrary unsigned bodies to the commands
// route, with and without a signature that is wrong, and checks what the
// ssl_check exception allows: a 401, or an empty 200 for a form with
// ssl_check=1 (and nothing else); and that nothing ever reaches the
// service, so nothing is created and nothing is posted.
//
//	go test ./internal/httpapi -run '^$' -fuzz '^FuzzUnsignedCommands$' -fuzztime 60s
func FuzzUnsignedCommands(f *testing.F) {
	f.Add("ssl_check=1&token=x", false)
	f.Add("ssl_check=1&command=%2Fcdn-purge&text=%2F%2A&channel_id=C0OTHER001&user_id=U1&trigger_id=t", true)
	f.Add("command=%2Fcdn-purge&text=%2F%2A&ssl_check=1", false)
	f.Add("ssl_check=1;x=1", false)
	inv := &recordingInvalidator{}
	transport := &offlineTransport{}
	h := MustHandler(f, service.Options{
		DistributionID: testDist, SealSecret: testSecret, Channels: slack.Channels{"deploys", "C0OTHER001"},
		Invalidator: inv, WebhookURL: "https://hooks.slack.com/services/T0/B0/" + webhookToken,
		Poster: &slack.Poster{HTTPClient: &http.Client{Transport: transport}, Attempts: 1},
	})
	f.Fuzz(func(t *testing.T, body string, forged bool) {
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		if forged {
			req = signedRequest(t, "/slack/commands", "not-the-signing-secret-0123456789", body, 0)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if err := h.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		switch rec.Code {
		case http.StatusOK:
			form, err := slack.ParseForm([]byte(body))
			if err != nil || !form.SSLCheck {
				t.Fatalf("an unsigned body that is no ssl_check answered 200: %q", body)
			}
			if rec.Body.Len() != 0 {
				t.Fatalf("ssl_check answered %q", rec.Body.String())
			}
		case http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unsigned body answered %d: %q", rec.Code, body)
		}
		inv.mu.Lock()
		created := len(inv.created)
		inv.mu.Unlock()
		transport.mu.Lock()
		posted := len(transport.hosts)
		transport.mu.Unlock()
		if created != 0 || posted != 0 {
			t.Fatalf("an unsigned body reached the service (%d created, %d posts): %q", created, posted, body)
		}
	})
}
