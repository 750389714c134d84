package slack

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.slack.com/services/T0/B0/XXXX", false, true},
		{"https://hooks.slack.com/commands/T0/1/XXXX", false, true},
		{"https://HOOKS.SLACK.COM/commands/T0/1/XXXX", false, true},
		{"https://hooks.slack-gov.com/services/T0/B0/XXXX", false, true},
		{"http://hooks.slack.com/services/T0/B0/XXXX", false, false},
		{"https://hooks.slack.com:8443/services/x", false, false},
		{"https://hooks.slack.com.evil.example/services/x", false, false},
		{"https://user@hooks.slack.com/services/x", false, false},
		{"https://example.com/hook", false, false},
		{"http://127.0.0.1:8080/hook", false, false},
		{"http://127.0.0.1:8080/hook", true, true},
		{"http://[::1]:8080/hook", true, true},
		{"http://localhost:8080/hook", true, true},
		{"http://10.0.0.1/hook", true, false},
		{"ftp://127.0.0.1/hook", true, false},
		{"/relative", true, false},
		{"", true, false},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url, tt.loopback)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q, %v) = %v, want ok=%v", tt.url, tt.loopback, err, tt.ok)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := RedactURL("https://hooks.slack.com/services/T000/B000/SECRETTOKEN")
	if got != "https://hooks.slack.com/services/…" {
		t.Fatalf("RedactURL = %q", got)
	}
}

func TestPosterPost(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answered in turn; the last repeats
		wantCalls int32
		wantCode  purge.Code
	}{
		{"ok", []int{200}, 1, ""},
		{"500 then ok", []int{500, 200}, 2, ""},
		{"429 then ok", []int{429, 200}, 2, ""},
		{"always 500", []int{500}, 3, purge.Unavailable},
		{"404 is final", []int{404}, 1, purge.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var got slackapi.WebhookMessage
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				status := tt.statuses[min(n, len(tt.statuses)-1)]
				if status == 429 {
					w.Header().Set("Retry-After", "0")
				}
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					t.Errorf("body: %v", err)
				}
				w.WriteHeader(status)
			}))
			defer srv.Close()
			secretURL := srv.URL + "/services/T0/B0/SECRETTOKEN"
			p := &Poster{AllowLoopback: true, Backoff: time.Millisecond}
			err := p.Post(context.Background(), secretURL, &slackapi.WebhookMessage{Text: "hello"})
			if purge.ErrorCode(err) != tt.wantCode {
				t.Fatalf("Post = %v, want code %q", err, tt.wantCode)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
			if got.Text != "hello" {
				t.Errorf("received %+v", got)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Errorf("error leaks the URL token: %v", err)
			}
		})
	}
}

func TestPosterRefusesAndRedacts(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	p := &Poster{Backoff: time.Millisecond}
	err := p.Post(context.Background(), srv.URL+"/services/SECRETTOKEN", &slackapi.WebhookMessage{Text: "x"})
	if purge.ErrorCode(err) != purge.Invalid || calls.Load() != 0 {
		t.Fatalf("loopback without the dev setting: err=%v calls=%d", err, calls.Load())
	}
	// A closed port: the transport error must not carry the URL.
	srv.Close()
	p.AllowLoopback = true
	err = p.Post(context.Background(), srv.URL+"/services/SECRETTOKEN", &slackapi.WebhookMessage{Text: "x"})
	if purge.ErrorCode(err) != purge.Unavailable || strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Fatalf("closed port: %v", err)
	}
}

// lostDeliveries counts SlackDeliveryFailed by destination.
type lostDeliveries struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *lostDeliveries) SlackDeliveryFailed(destination string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[destination]++
}

// TestPosterCountsLostDeliveries: a message lost after its retries is
// counted once, by destination; one delivered is not counted.
func TestPosterCountsLostDeliveries(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		refused bool // a URL the Poster refuses
		webhook bool // through the Auditor
		want    map[string]int
	}{
		{name: "delivered", status: 200, want: nil},
		{name: "response_url lost after retries", status: 500, want: map[string]int{"response_url": 1}},
		{name: "webhook lost after retries", status: 503, webhook: true, want: map[string]int{"webhook": 1}},
		{name: "webhook refused", refused: true, webhook: true, want: map[string]int{"webhook": 1}},
		{name: "audit delivered", status: 200, webhook: true, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			lost := &lostDeliveries{}
			p := &Poster{AllowLoopback: !tt.refused, Backoff: time.Millisecond, Metrics: lost}
			url := srv.URL + "/services/T0/B0/SECRETTOKEN"
			if tt.webhook {
				(&Auditor{Poster: p, WebhookURL: url}).Audit(context.Background(), Purge{Invalidation: &purge.Invalidation{ID: "I1"}})
			} else {
				p.Post(context.Background(), url, &slackapi.WebhookMessage{Text: "x"})
			}
			if tt.status >= 500 && calls.Load() != 3 {
				t.Errorf("%d attempts, want 3", calls.Load())
			}
			if !maps.Equal(lost.n, tt.want) {
				t.Errorf("counted %v, want %v", lost.n, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	inv := &purge.Invalidation{ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
		CreateTime: time.Unix(1000, 0), Paths: []string{"/blog/*", "/a&b<c>"}}
	p := Purge{Invalidation: inv, UserID: "U123", ChannelID: "C123", Requested: 4}
	started := StartedMessage(p)
	if started.ResponseType != "in_channel" {
		t.Errorf("started is %q", started.ResponseType)
	}
	raw := mustJSON(t, started)
	for _, want := range []string{"I2J0I21PCUYOIK", "EDFDVBD6EXAMPLE", "/blog/*", "/a&amp;b&lt;c&gt;", "<@U123>", "2 paths dropped"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("started message lacks %q: %s", want, raw)
		}
	}
	inv.Status = purge.StatusCompleted
	done := CompletedMessage(p, time.Unix(1042, 0))
	raw = mustJSON(t, done)
	if !done.ReplaceOriginal || !strings.Contains(string(raw), "Completed in 42s") {
		t.Errorf("completed message: %s", raw)
	}
	audit := AuditMessage(p)
	if !strings.Contains(audit.Text, "<@U123> in <#C123>") || !strings.Contains(audit.Text, "I2J0I21PCUYOIK") {
		t.Errorf("audit: %q", audit.Text)
	}
	errMsg := ErrorMessage(&purge.Error{Code: purge.Invalid, Message: `"x" must start with /`})
	if errMsg.ResponseType != "ephemeral" || !strings.Contains(errMsg.Text, `"x" must start with /`) || !strings.Contains(errMsg.Text, "Nothing was purged") {
		t.Errorf("error message: %+v", errMsg)
	}
	refused := RefusedChannelMessage([]string{"deploys", "C0DEPLOY01"})
	if refused.ResponseType != "ephemeral" || !strings.Contains(refused.Text, "#deploys, <#C0DEPLOY01>") {
		t.Errorf("refused: %q", refused.Text)
	}
	many := make([]string, 25)
	for i := range many {
		many[i] = "/p" + string(rune('a'+i))
	}
	inv.Paths = many
	raw = mustJSON(t, StartedMessage(p))
	if !strings.Contains(string(raw), "and 5 more") {
		t.Errorf("long list not summarized: %s", raw)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	// Blocks marshal themselves with HTML escaping; undo it for readable checks.
	return []byte(strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(b.String()))
}

// TestStillRunningNamesItsTarget checks the command a follow-up that stops
// watching suggests: it names the target, so that it works in a channel
// whose default is another target.
func TestStillRunningNamesItsTarget(t *testing.T) {
	tests := []struct{ target, want string }{
		{"", "`/cdn-purge status I2J0I21PCUYOIK`"},
		{"docs", "`/cdn-purge status docs I2J0I21PCUYOIK`"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			inv := &purge.Invalidation{ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
				CreateTime: time.Unix(1000, 0), Paths: []string{"/guide/*"}}
			raw := string(mustJSON(t, CompletedMessage(Purge{Invalidation: inv, Target: tt.target, UserID: "U1"}, time.Unix(1042, 0))))
			if !strings.Contains(raw, tt.want) {
				t.Errorf("message lacks %s: %s", tt.want, raw)
			}
		})
	}
}
