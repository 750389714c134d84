package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const (
	testSecret     = "8f742231b10e8888abcd99yyyzzz85a5"
	testDist       = testutil.DistributionID
	webhookToken   = "WEBHOOKSECRETTOKEN"
	responseSecret = "RESPONSEURLTOKEN"
)

//go:embed testdata/command.json
var commandJSON []byte

// mustForm returns the fixture's slash-command form with overrides.
func mustForm(tb testing.TB, overrides map[string]string) url.Values {
	tb.Helper()
	var fx struct{ Form map[string]string }
	if err := json.Unmarshal(commandJSON, &fx); err != nil {
		tb.Fatal(err)
	}
	v := url.Values{}
	for k, s := range fx.Form {
		v.Set(k, s)
	}
	for k, s := range overrides {
		v.Set(k, s)
	}
	return v
}

// signedRequest signs body as Slack does (v0, HMAC-SHA256 over
// "v0:ts:body"), with the timestamp offset by skew.
func signedRequest(tb testing.TB, target, secret, body string, skew time.Duration) *http.Request {
	tb.Helper()
	ts := strconv.FormatInt(time.Now().Add(skew).Unix(), 10)
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(secret, ts, body))
	return req
}

// hooks is a stand-in for Slack's incoming webhook.
type hooks struct {
	mu     sync.Mutex
	posts  []*slackapi.WebhookMessage
	status int
	got    chan struct{}
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m slackapi.WebhookMessage
	json.NewDecoder(r.Body).Decode(&m)
	h.mu.Lock()
	h.posts = append(h.posts, &m)
	status := h.status
	h.mu.Unlock()
	h.got <- struct{}{}
	if status != 0 {
		w.WriteHeader(status)
	}
}

type fixture struct {
	h       *Handler
	inv     purge.Invalidator
	hooks   *hooks
	logs    *testutil.LockedBuffer
	replies []string
}

func newFixture(t testing.TB, mutate func(*service.Options)) *fixture {
	t.Helper()
	inv := testutil.MustEmulatedInvalidator(t, time.Hour)
	hk := &hooks{got: make(chan struct{}, 64)}
	hookSrv := httptest.NewServer(hk)
	t.Cleanup(hookSrv.Close)
	logs := &testutil.LockedBuffer{}
	opts := service.Options{
		DistributionID: testDist,
		SealSecret:     testSecret,
		Channels:       slack.Channels{"deploys", "C0OTHER001"},
		Invalidator:    inv,
		WebhookURL:     hookSrv.URL + "/services/T0/B0/" + webhookToken,
		Poster:         &slack.Poster{AllowLoopback: true, Backoff: time.Millisecond},
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if mutate != nil {
		mutate(&opts)
	}
	return &fixture{h: MustHandler(t, opts), inv: opts.Invalidator, hooks: hk, logs: logs}
}

// MustHandler returns a Handler over a service with opts, verifying with
// the service's SealSecret as the signing secret.
func MustHandler(tb testing.TB, opts service.Options) *Handler {
	tb.Helper()
	if opts.SealSecret == "" {
		tb.Fatal("service options without a SealSecret")
	}
	return New(Options{Service: service.New(opts), SigningSecret: opts.SealSecret, Logger: opts.Logger})
}

// do sends a request and returns the status and the decoded reply (nil for
// an empty body).
func (f *fixture) do(t *testing.T, req *http.Request) (int, *slackapi.WebhookMessage) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	body := rec.Body.String()
	f.replies = append(f.replies, body)
	if rec.Code != http.StatusOK || strings.TrimSpace(body) == "" {
		return rec.Code, nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m slackapi.WebhookMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("reply is not a Slack message: %v: %s", err, body)
	}
	return rec.Code, &m
}

func (f *fixture) command(t *testing.T, overrides map[string]string) (int, *slackapi.WebhookMessage) {
	t.Helper()
	return f.do(t, signedRequest(t, "/slack/commands", testSecret, mustForm(t, overrides).Encode(), 0))
}

// count returns how many invalidations the emulator holds.
func (f *fixture) count(t *testing.T) int {
	t.Helper()
	page, err := f.inv.ListInvalidations(context.Background(), testDist, purge.ListOptions{MaxItems: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

var invalidationIDRE = "Invalidation `"

func replyInvalidationID(m *slackapi.WebhookMessage) string {
	raw, _ := json.Marshal(m)
	s := string(raw)
	i := strings.Index(s, invalidationIDRE)
	if i < 0 {
		return repeatInvalidationID(m)
	}
	s = s[i+len(invalidationIDRE):]
	return s[:strings.IndexByte(s, '`')]
}

// repeatInvalidationID is the invalidation an ephemeral answer to a
// repeated delivery names ("This command was already taken: invalidation
// `ID`"), or "".
func repeatInvalidationID(m *slackapi.WebhookMessage) string {
	const repeat = "This command was already taken: invalidation `"
	_, rest, ok := strings.Cut(m.Text, repeat)
	if !ok || m.ResponseType != slackapi.ResponseTypeEphemeral {
		return ""
	}
	id, _, _ := strings.Cut(rest, "`")
	return id
}

func TestRefusedRequestsCreateNothing(t *testing.T) {
	f := newFixture(t, nil)
	body := mustForm(t, nil).Encode()
	unsigned := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	big := signedRequest(t, "/slack/commands", testSecret, body+"&pad="+strings.Repeat("x", DefaultMaxBodyBytes), 0)
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"unsigned", unsigned, http.StatusUnauthorized},
		{"wrong secret", signedRequest(t, "/slack/commands", "forged", body, 0), http.StatusUnauthorized},
		{"stale", signedRequest(t, "/slack/commands", testSecret, body, -6*time.Minute), http.StatusUnauthorized},
		{"from the future", signedRequest(t, "/slack/commands", testSecret, body, 6*time.Minute), http.StatusUnauthorized},
		{"root route forged", signedRequest(t, "/", "forged", body, 0), http.StatusUnauthorized},
		{"interactions forged", signedRequest(t, "/slack/interactions", "forged", "payload=%7B%7D", 0), http.StatusUnauthorized},
		{"too large", big, http.StatusRequestEntityTooLarge},
		{"GET commands", httptest.NewRequest(http.MethodGet, "/slack/commands", nil), http.StatusMethodNotAllowed},
		{"unknown route", signedRequest(t, "/admin", testSecret, body, 0), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _ := f.do(t, tt.req)
			if status != tt.status {
				t.Fatalf("status = %d, want %d", status, tt.status)
			}
			if status == http.StatusUnauthorized && strings.TrimSpace(f.replies[len(f.replies)-1]) != "Unauthorized" {
				t.Errorf("401 body carries detail: %q", f.replies[len(f.replies)-1])
			}
		})
	}
	if n := f.count(t); n != 0 {
		t.Fatalf("%d invalidations created by refused requests", n)
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name      string
		form      map[string]string
		ephemeral bool
		contains  []string
		created   int
	}{
		{"paths", map[string]string{"text": "/blog/* /blog/a /index.html"}, false, []string{"Purging 2 paths", "/blog/*", "/index.html", "<@U2147483697>", testDist, "1 path dropped"}, 1},
		{"root route", map[string]string{"text": "/a"}, false, []string{"Purging 1 path"}, 1},
		{"empty text purges everything", map[string]string{"text": ""}, false, []string{"/*"}, 1},
		{"pasted URL in Slack markup", map[string]string{"text": "<https://www.example.com/post?id=1&amp;x=2|www.example.com/post>"}, false, []string{"/post?id=1&amp;x=2"}, 1},
		{"help", map[string]string{"text": "help"}, true, []string{"/cdn-purge /blog/*", "#deploys", "<#C0OTHER001>"}, 0},
		{"help anywhere", map[string]string{"text": "help", "channel_id": "C0RANDOM01", "channel_name": "random"}, true, []string{"purges the CloudFront cache"}, 0},
		{"refused channel", map[string]string{"channel_id": "C0RANDOM01", "channel_name": "random"}, true, []string{"may not purge", "#deploys", "<#C0OTHER001>"}, 0},
		{"allowed by ID", map[string]string{"channel_id": "C0OTHER001", "channel_name": "renamed"}, false, []string{"Purging"}, 1},
		{"DM refused", map[string]string{"channel_id": "D0DM000001", "channel_name": "directmessage"}, true, []string{"may not purge"}, 0},
		{"bad path", map[string]string{"text": "/ok blog/*"}, true, []string{`blog/*`, "must start with /", "Nothing was purged"}, 0},
		{"star in the middle", map[string]string{"text": "/a*b"}, true, []string{`/a*b`, "only as the last character"}, 0},
		{"too long", map[string]string{"text": "/" + strings.Repeat("a", 4000)}, true, []string{"at most 4000"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			req := signedRequest(t, "/slack/commands", testSecret, mustForm(t, tt.form).Encode(), 0)
			if tt.name == "root route" {
				req = signedRequest(t, "/", testSecret, mustForm(t, tt.form).Encode(), 0)
			}
			status, m := f.do(t, req)
			if status != http.StatusOK || m == nil {
				t.Fatalf("status %d, reply %v", status, m)
			}
			wantType := "in_channel"
			if tt.ephemeral {
				wantType = "ephemeral"
			}
			if m.ResponseType != wantType {
				t.Errorf("response_type = %q, want %q", m.ResponseType, wantType)
			}
			raw := f.replies[len(f.replies)-1]
			raw = strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(raw)
			for _, want := range tt.contains {
				if !strings.Contains(raw, want) {
					t.Errorf("reply lacks %q: %s", want, raw)
				}
			}
			if n := f.count(t); n != tt.created {
				t.Errorf("%d invalidations created, want %d", n, tt.created)
			}
			if tt.created == 1 {
				id := replyInvalidationID(m)
				inv, err := f.inv.GetInvalidation(context.Background(), testDist, id)
				if err != nil {
					t.Fatalf("reply names %q, which CloudFront does not know: %v", id, err)
				}
				if inv.CallerReference != "cdnpurge-slack-U2147483697-13345224609.738474920.8088930838d88f008e0" {
					t.Errorf("CallerReference = %q", inv.CallerReference)
				}
			}
		})
	}
}

// TestSSLCheck: Slack's ssl_check (ssl_check=1&token=…, unsigned) gets an
// empty 200 before the signature is checked, as Bolt answers it, and a form
// with ssl_check=1 never reaches the service, signed or not, whatever
// command it carries (bolt-python's SslCheck answers it before any
// listener). Anything else unsigned is still 401.
func TestSSLCheck(t *testing.T) {
	command := mustForm(t, map[string]string{"text": "/*", "ssl_check": "1"}).Encode()
	tests := []struct {
		name, path, body, contentType string
		signed                        bool
		want                          int
	}{
		{name: "unsigned, as Slack sends it", path: "/slack/commands", body: "ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO", want: http.StatusOK},
		{name: "unsigned, on the root", path: "/", body: "ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO", want: http.StatusOK},
		{name: "signed", path: "/slack/commands", body: "ssl_check=1&token=x", signed: true, want: http.StatusOK},
		{name: "unsigned command riding on it", path: "/slack/commands", body: command, want: http.StatusOK},
		{name: "signed command riding on it", path: "/slack/commands", body: command, signed: true, want: http.StatusOK},
		{name: "unsigned, ssl_check=0", path: "/slack/commands", body: "ssl_check=0&token=x", want: http.StatusUnauthorized},
		{name: "unsigned, a later ssl_check=1", path: "/slack/commands", body: "ssl_check=0&ssl_check=1", want: http.StatusUnauthorized},
		{name: "unsigned, not a form", path: "/slack/commands", body: "ssl_check=1", contentType: "application/json", want: http.StatusUnauthorized},
		{name: "unsigned, on interactions", path: "/slack/interactions", body: "ssl_check=1&token=x", want: http.StatusUnauthorized},
		{name: "unsigned command", path: "/slack/commands", body: mustForm(t, map[string]string{"text": "/*"}).Encode(), want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &recordingInvalidator{}
			f := newFixture(t, func(o *service.Options) { o.Invalidator = inv })
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			if tt.signed {
				req = signedRequest(t, tt.path, testSecret, tt.body, 0)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusOK && rec.Body.Len() != 0 {
				t.Errorf("body %q, want none", rec.Body.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := f.h.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			inv.mu.Lock()
			created := len(inv.created)
			inv.mu.Unlock()
			f.hooks.mu.Lock()
			posts := len(f.hooks.posts)
			f.hooks.mu.Unlock()
			if created != 0 || posts != 0 {
				t.Errorf("%d invalidations created, %d audit posts; want none", created, posts)
			}
			if logs := f.logs.String(); strings.Contains(logs, string(service.KindCommand)) {
				t.Errorf("logged as a command: %s", logs)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, nil)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Fatalf("GET /healthz = %d %q", rec.Code, rec.Body.String())
	}
	if status, _ := f.do(t, httptest.NewRequest(http.MethodPost, "/healthz", nil)); status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz = %d", status)
	}
}

func TestRepeatedDeliveryCreatesNothingNew(t *testing.T) {
	f := newFixture(t, nil)
	_, first := f.command(t, nil)
	_, second := f.command(t, nil)
	if replyInvalidationID(first) == "" || replyInvalidationID(first) != replyInvalidationID(second) {
		t.Fatalf("first %q, second %q", replyInvalidationID(first), replyInvalidationID(second))
	}
	// Without a trigger_id the signed body is the reference: the same
	// delivery twice is one invalidation, another command is another.
	body := mustForm(t, map[string]string{"trigger_id": "", "text": "/x"}).Encode()
	req := signedRequest(t, "/slack/commands", testSecret, body, 0)
	replay := req.Clone(context.Background())
	replay.Body = io.NopCloser(strings.NewReader(body))
	_, a := f.do(t, req)
	_, b := f.do(t, replay)
	if replyInvalidationID(a) == "" || replyInvalidationID(a) != replyInvalidationID(b) {
		t.Fatalf("replayed delivery: %q vs %q", replyInvalidationID(a), replyInvalidationID(b))
	}
	if n := f.count(t); n != 2 {
		t.Fatalf("%d invalidations, want 2", n)
	}
}

func TestCloudFrontErrorsReachTheUser(t *testing.T) {
	t.Run("unknown distribution", func(t *testing.T) {
		f := newFixture(t, func(o *service.Options) { o.DistributionID = "E0NOTTHERE0" })
		_, m := f.command(t, nil)
		if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "E0NOTTHERE0") {
			t.Fatalf("reply: %+v", m.Text)
		}
	})
	t.Run("too many wildcards in progress", func(t *testing.T) {
		f := newFixture(t, nil)
		// CloudFront's wildcards in progress (cloudfrontcdn.MaxWildcardPaths).
		for i := range 15 {
			_, m := f.command(t, map[string]string{"text": fmt.Sprintf("/w%d/*", i), "trigger_id": fmt.Sprint("t", i)})
			if m.ResponseType != "in_channel" {
				t.Fatalf("command %d refused: %s", i, m.Text)
			}
		}
		_, m := f.command(t, map[string]string{"text": "/one-more/*", "trigger_id": "t-last"})
		if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "15") {
			t.Fatalf("16th wildcard: %s", m.Text)
		}
	})
	t.Run("CloudFront hangs: the reply still leaves", func(t *testing.T) {
		release := make(chan struct{})
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer hang.Close()
		defer close(release)
		f := newFixture(t, func(o *service.Options) {
			o.ReplyBudget = 300 * time.Millisecond
			o.Invalidator = testutil.NewInvalidator(hang.URL)
		})
		status, m := f.command(t, nil)
		if status != http.StatusOK || m.ResponseType != "ephemeral" {
			t.Fatalf("reply: %d %+v", status, m)
		}
		if !strings.Contains(m.Text, ":warning:") {
			t.Errorf("a transient failure should read as a warning: %s", m.Text)
		}
	})
}

func TestAuditWebhook(t *testing.T) {
	t.Run("posted", func(t *testing.T) {
		f := newFixture(t, nil)
		_, m := f.command(t, nil)
		<-f.hooks.got
		f.h.Wait(context.Background())
		if len(f.hooks.posts) != 1 || !strings.Contains(f.hooks.posts[0].Text, replyInvalidationID(m)) {
			t.Fatalf("audit posts: %+v", f.hooks.posts)
		}
	})
	t.Run("failing webhook costs nothing", func(t *testing.T) {
		f := newFixture(t, nil)
		f.hooks.status = http.StatusInternalServerError
		status, m := f.command(t, nil)
		if status != http.StatusOK || m.ResponseType != "in_channel" {
			t.Fatalf("reply: %d %+v", status, m)
		}
		if err := f.h.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(f.hooks.posts) != 3 {
			t.Errorf("%d webhook attempts, want 3", len(f.hooks.posts))
		}
		if f.count(t) != 1 {
			t.Error("the invalidation was lost")
		}
		if !strings.Contains(f.logs.String(), "audit webhook failed") || !strings.Contains(f.logs.String(), replyInvalidationID(m)) {
			t.Errorf("the failed audit is not in the log: %s", f.logs)
		}
	})
}

func TestNoSecretLeaks(t *testing.T) {
	f := newFixture(t, nil)
	f.hooks.status = http.StatusInternalServerError
	f.command(t, nil)
	f.command(t, map[string]string{"text": "nope"})
	f.command(t, map[string]string{"channel_name": "random", "channel_id": "C0RANDOM01"})
	f.do(t, signedRequest(t, "/slack/commands", "forged", mustForm(t, nil).Encode(), 0))
	f.do(t, signedRequest(t, "/slack/commands", testSecret, mustForm(t, nil).Encode(), -time.Hour))
	g := newFixture(t, func(o *service.Options) { o.DistributionID = "E0NOTTHERE0" })
	g.command(t, nil)
	f.h.Wait(context.Background())
	everything := f.logs.String() + g.logs.String() + strings.Join(f.replies, "\n") + strings.Join(g.replies, "\n")
	for _, p := range f.hooks.posts {
		raw, _ := json.Marshal(p)
		everything += string(raw)
	}
	if !strings.Contains(f.logs.String(), `"outcome"`) {
		t.Fatal("no log records to check")
	}
	for _, secret := range []string{testSecret, webhookToken, responseSecret, testutil.AWSSecretKey} {
		if strings.Contains(everything, secret) {
			t.Errorf("%q leaked", secret)
		}
	}
}

func TestPanicIsRecovered(t *testing.T) {
	f := newFixture(t, func(o *service.Options) { o.Invalidator = panicky{} })
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, signedRequest(t, "/slack/commands", testSecret, mustForm(t, nil).Encode(), 0))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic: %d %q", rec.Code, rec.Body.String())
	}
	if strings.Count(f.logs.String(), "panic serving request") != 1 {
		t.Errorf("panic not logged once: %s", f.logs)
	}
}

// panicky is an Invalidator that panics: the one case no real backend can
// produce on demand.
type panicky struct{ purge.Invalidator }

func (panicky) CreateInvalidation(context.Context, purge.Batch) (*purge.Invalidation, error) {
	panic("boom")
}
