package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/lambdaurl"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// Requests no well-behaved Slack sends: each must be refused or answered
// harmlessly, and create nothing it should not.

// hostileRequest signs body over the timestamp string ts exactly as given
// (which may be anything), with the content type ct ("" for none).
func hostileRequest(tb testing.TB, target, ts, body, ct string) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(testSecret, ts, body))
	return req
}

func nowTS(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }

const formType = "application/x-www-form-urlencoded"

func TestHostileBodySizes(t *testing.T) {
	f := newFixture(t, nil)
	// pad grows a signed command to exactly n bytes.
	pad := func(n int) string {
		body := mustForm(t, map[string]string{"trigger_id": "t.size." + strconv.Itoa(n)}).Encode() + "&pad="
		return body + strings.Repeat("x", n-len(body))
	}
	interaction := func(n int) string {
		body := "payload=%7B%7D&pad="
		return body + strings.Repeat("x", n-len(body))
	}
	chunked := signedRequest(t, "/slack/commands", testSecret, pad(DefaultMaxBodyBytes+1), 0)
	chunked.ContentLength = -1 // no Content-Length: the limit must hold while reading
	unsigned := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(strings.Repeat("a", 1<<20)))
	tests := []struct {
		name    string
		req     *http.Request
		status  int
		created int
	}{
		{"command at the limit", signedRequest(t, "/slack/commands", testSecret, pad(DefaultMaxBodyBytes), 0), http.StatusOK, 1},
		{"command one byte over", signedRequest(t, "/slack/commands", testSecret, pad(DefaultMaxBodyBytes+1), 0), http.StatusRequestEntityTooLarge, 0},
		{"command over, no Content-Length", chunked, http.StatusRequestEntityTooLarge, 0},
		{"1 MiB unsigned: refused for size before the signature is read", unsigned, http.StatusRequestEntityTooLarge, 0},
		{"interaction one byte over", signedRequest(t, "/slack/interactions", testSecret, interaction(DefaultMaxBodyBytes+1), 0), http.StatusRequestEntityTooLarge, 0},
		{"root route one byte over", signedRequest(t, "/", testSecret, pad(DefaultMaxBodyBytes+1), 0), http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.count(t)
			status, _ := f.do(t, tt.req)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if n := f.count(t) - before; n != tt.created {
				t.Fatalf("%d invalidations created, want %d", n, tt.created)
			}
			if status == http.StatusRequestEntityTooLarge && !strings.HasPrefix(f.replies[len(f.replies)-1], "Request Entity Too Large") {
				t.Errorf("413 body: %q", f.replies[len(f.replies)-1])
			}
		})
	}
}

// TestHostileContentTypes: Slack posts application/x-www-form-urlencoded.
// A signed request of another type is not read as a form: a command gets
// 200 with an ephemeral message saying what cdnpurge reads, an interaction
// an empty 200; nothing is created either way. A missing type is read as a
// form (curl -d and the tutorial's clients send none or this one).
func TestHostileContentTypes(t *testing.T) {
	form := func(trigger string) string { return mustForm(t, map[string]string{"trigger_id": trigger}).Encode() }
	multipart := "--b\r\nContent-Disposition: form-data; name=\"channel_id\"\r\n\r\nC2147483705\r\n--b\r\n" +
		"Content-Disposition: form-data; name=\"text\"\r\n\r\n/blog/*\r\n--b--\r\n"
	tests := []struct {
		name, ct, body string
		accepted       bool
	}{
		{"JSON", "application/json", `{"channel_id":"C2147483705","channel_name":"deploys","text":"/blog/*","trigger_id":"t.json"}`, false},
		{"JSON carrying a form", "application/json", form("t.json-form"), false},
		{"multipart", "multipart/form-data; boundary=b", multipart, false},
		{"multipart carrying a form", "multipart/form-data; boundary=b", form("t.multipart-form"), false},
		{"text/plain carrying a form", "text/plain", form("t.text"), false},
		{"unparsable type", "application/x-www-form-urlencoded;;;=", form("t.bad-type"), false},
		{"form", formType, form("t.form"), true},
		{"form with charset", formType + "; charset=utf-8", form("t.charset"), true},
		{"form in upper case", "APPLICATION/X-WWW-FORM-URLENCODED", form("t.upper"), true},
		{"no content type", "", form("t.none"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			status, m := f.do(t, hostileRequest(t, "/slack/commands", nowTS(0), tt.body, tt.ct))
			if status != http.StatusOK || m == nil {
				t.Fatalf("status %d, reply %v", status, m)
			}
			if tt.accepted {
				if m.ResponseType != "in_channel" || f.count(t) != 1 {
					t.Fatalf("a form was not purged: %s (%d created)", m.Text, f.count(t))
				}
				return
			}
			if m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "form-encoded") || !strings.Contains(m.Text, "Nothing was purged") {
				t.Errorf("reply: %s %s", m.ResponseType, m.Text)
			}
			payload := url.Values{"payload": {`{"type":"block_actions","actions":[]}`}}.Encode()
			if status, _ := f.do(t, hostileRequest(t, "/slack/interactions", nowTS(0), payload, tt.ct)); status != http.StatusOK {
				t.Errorf("interaction: status %d", status)
			}
			if n := f.count(t); n != 0 {
				t.Fatalf("%d invalidations created from a %s body", n, tt.ct)
			}
		})
	}
}

// TestHostileDuplicatedFields: a repeated field is read as its first value,
// everywhere, and fields in the URL's query string (which Slack does not
// sign) are never read at all.
func TestHostileDuplicatedFields(t *testing.T) {
	base := "team_id=T0001&user_id=U2147483697&command=%2Fcdn-purge&response_url=&trigger_id="
	tests := []struct {
		name, target, body string
		wantType           string
		wantPaths          []string
		wantTrigger        string
	}{
		{"allowed channel first", "/slack/commands", base + "t1&channel_id=C2147483705&channel_name=deploys&channel_id=C0RANDOM01&channel_name=random&text=%2Fa", "in_channel", []string{"/a"}, "t1"},
		{"refused channel first", "/slack/commands", base + "t2&channel_id=C0RANDOM01&channel_name=random&channel_id=C2147483705&channel_name=deploys&text=%2Fa", "ephemeral", nil, ""},
		{"first text wins", "/slack/commands", base + "t3&channel_id=C2147483705&channel_name=deploys&text=%2Ffirst&text=%2Fsecond", "in_channel", []string{"/first"}, "t3"},
		{"first trigger wins", "/slack/commands", base + "t4&trigger_id=t5&channel_id=C2147483705&channel_name=deploys&text=%2Fb", "in_channel", []string{"/b"}, "t4"},
		{"unsigned query cannot allow a channel", "/slack/commands?channel_id=C2147483705&channel_name=deploys&text=%2Fevil", base + "t6&channel_id=C0RANDOM01&channel_name=random&text=%2Fa", "ephemeral", nil, ""},
		{"unsigned query cannot change the text", "/slack/commands?text=%2Fevil&trigger_id=evil", base + "t7&channel_id=C2147483705&channel_name=deploys&text=%2Fa", "in_channel", []string{"/a"}, "t7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			for _, how := range []string{"serve", "lambda"} {
				req := hostileRequest(t, tt.target, nowTS(0), tt.body, formType)
				var status int
				var m *slackapi.WebhookMessage
				if how == "serve" {
					status, m = f.do(t, req)
				} else {
					status, m = lambdaDo(t, f.h, req)
				}
				wantType := tt.wantType
				if how == "lambda" && wantType == "in_channel" {
					// The same delivery again: told it was taken.
					wantType = "ephemeral"
				}
				if status != http.StatusOK || m == nil || m.ResponseType != wantType {
					t.Fatalf("%s: status %d, reply %+v", how, status, m)
				}
				if tt.wantPaths == nil {
					continue
				}
				inv, err := f.inv.GetInvalidation(context.Background(), testDist, replyInvalidationID(m))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(inv.Paths, " ") != strings.Join(tt.wantPaths, " ") || !strings.HasSuffix(inv.CallerReference, "-"+tt.wantTrigger) {
					t.Fatalf("%s: purged %v with reference %q, want %v", how, inv.Paths, inv.CallerReference, tt.wantPaths)
				}
			}
			if n := f.count(t); n > 1 {
				t.Fatalf("serve and Lambda created %d invalidations for one delivery", n)
			}
		})
	}
}

// lambdaDo serves req as a Function URL event (base64 body, as Function
// URLs send forms) through the Lambda adapter.
func lambdaDo(t *testing.T, h http.Handler, req *http.Request) (int, *slackapi.WebhookMessage) {
	t.Helper()
	status, m, err := lambdaServe(h, req)
	if err != nil {
		t.Fatal(err)
	}
	return status, m
}

// lambdaServe is lambdaDo for any goroutine: it reports failures as errors.
func lambdaServe(h http.Handler, req *http.Request) (int, *slackapi.WebhookMessage, error) {
	body, _ := io.ReadAll(req.Body)
	ev := events.LambdaFunctionURLRequest{RawPath: req.URL.Path, RawQueryString: req.URL.RawQuery,
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true, Headers: map[string]string{}}
	for k := range req.Header {
		ev.Headers[strings.ToLower(k)] = req.Header.Get(k)
	}
	ev.RequestContext.HTTP.Method = req.Method
	resp, err := lambdaurl.Wrap(h)(req.Context(), ev)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Body == "" {
		return resp.StatusCode, nil, nil
	}
	var m slackapi.WebhookMessage
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		return 0, nil, fmt.Errorf("Lambda reply is not a Slack message: %v: %s", err, resp.Body)
	}
	return resp.StatusCode, &m, nil
}

// TestHostileReplay: a valid delivery replayed inside the five minutes,
// one after another or all at once, over serve and Lambda, is harmless: one
// invalidation, the same ID in every reply.
func TestHostileReplay(t *testing.T) {
	tests := []struct {
		name, trigger string
		copies        int
	}{
		{"with trigger_id, in sequence", "t.replay.seq", 3},
		{"with trigger_id, concurrently", "t.replay.par", 8},
		{"without trigger_id (the signed body is the key), concurrently", "", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			body := mustForm(t, map[string]string{"trigger_id": tt.trigger, "text": "/replayed"}).Encode()
			ts := nowTS(-time.Minute)
			ids := make([]string, tt.copies)
			var wg sync.WaitGroup
			for i := range tt.copies {
				run := func() {
					req := hostileRequest(t, "/slack/commands", ts, body, formType)
					var m *slackapi.WebhookMessage
					if i%2 == 0 {
						rec := httptest.NewRecorder()
						f.h.ServeHTTP(rec, req)
						m = &slackapi.WebhookMessage{}
						json.Unmarshal(rec.Body.Bytes(), m)
					} else {
						_, m, _ = lambdaServe(f.h, req)
					}
					if m != nil {
						ids[i] = replyInvalidationID(m)
					}
				}
				if strings.Contains(tt.name, "concurrently") {
					wg.Go(run)
				} else {
					run()
				}
			}
			wg.Wait()
			for _, id := range ids {
				if id == "" || id != ids[0] {
					t.Fatalf("replies name %v", ids)
				}
			}
			if n := f.count(t); n != 1 {
				t.Fatalf("%d invalidations from %d copies of one delivery", n, tt.copies)
			}
		})
	}
}

// TestHostileTimestamps: whatever the timestamp header holds, a signature
// made over it correctly is refused unless the timestamp is a number of
// seconds within five minutes of now: 401 with no detail, nothing created.
func TestHostileTimestamps(t *testing.T) {
	tests := []struct {
		name, ts string
		ok       bool
	}{
		{"now", nowTS(0), true},
		{"4m50s ago", nowTS(-290 * time.Second), true},
		{"5m10s ago", nowTS(-310 * time.Second), false},
		{"5m10s ahead", nowTS(310 * time.Second), false},
		{"a day ago", nowTS(-24 * time.Hour), false},
		{"a year ahead", nowTS(365 * 24 * time.Hour), false},
		{"epoch", "0", false},
		{"negative", "-1", false},
		{"most negative int64", "-9223372036854775808", false},
		{"largest int64", "9223372036854775807", false},
		{"beyond int64", "99999999999999999999999", false},
		{"milliseconds", strconv.FormatInt(time.Now().UnixMilli(), 10), false},
		{"decimal", nowTS(0) + ".5", false},
		{"exponent", "1.7e9", false},
		{"hex", "0x" + strconv.FormatInt(time.Now().Unix(), 16), false},
		{"words", "now", false},
		{"leading space", " " + nowTS(0), false},
		{"empty", "", false},
		{"CRLF injected", nowTS(0) + "\r\nX-Injected: 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			body := mustForm(t, map[string]string{"trigger_id": "t.ts." + tt.name}).Encode()
			status, _ := f.do(t, hostileRequest(t, "/slack/commands", tt.ts, body, formType))
			want, created := http.StatusUnauthorized, 0
			if tt.ok {
				want, created = http.StatusOK, 1
			}
			if status != want || f.count(t) != created {
				t.Fatalf("status %d (want %d), %d created", status, want, f.count(t))
			}
			if !tt.ok && strings.TrimSpace(f.replies[len(f.replies)-1]) != "Unauthorized" {
				t.Errorf("401 with detail: %q", f.replies[len(f.replies)-1])
			}
		})
	}
}

// sink is a loopback listener that every outgoing connection of a Poster is
// diverted to, whatever host it names: it counts connections, so a test can
// prove that nothing was sent, to any host, without a network.
type sink struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	dialed   []string
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			c.Close()
		}
	}()
	return s
}

// client is an HTTP client whose every connection goes to the sink.
func (s *sink) client() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			s.mu.Lock()
			s.dialed = append(s.dialed, addr)
			s.mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, "tcp", s.ln.Addr().String())
		},
	}}
}

func (s *sink) hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dialed...)
}

// TestHostileResponseURL: a response_url that is not Slack's hooks host
// over https never receives a request, not from a follow-up and not from the
// answer to a click; loopback only with CDNPURGE_DEV_ALLOW_LOOPBACK. The
// sink proves it for any host name, with no network: every connection a
// Poster opens is diverted to it.
func TestHostileResponseURL(t *testing.T) {
	listener := testutil.NewSlackInbox(t, responseSecret) // a real loopback listener that must receive nothing
	tests := []struct {
		name          string
		responseURL   string
		allowLoopback bool
		sent          bool
	}{
		{"loopback listener", listener.URL, false, false},
		{"another host", "https://evil.example/commands/T0/1/" + responseSecret, false, false},
		{"Slack over http", "http://hooks.slack.com/commands/T0/1/" + responseSecret, false, false},
		{"Slack's name as user info", "https://hooks.slack.com@evil.example/commands/T0/1/x", false, false},
		{"Slack's name as a prefix", "https://hooks.slack.com.evil.example/commands/T0/1/x", false, false},
		{"Slack's host on another port", "https://hooks.slack.com:8443/commands/T0/1/x", false, false},
		{"IPv6 loopback", "http://[::1]:9/commands/T0/1/x", false, false},
		{"file URL", "file:///etc/passwd", false, false},
		{"relative", "/commands/T0/1/x", false, false},
		{"another host, loopback allowed", "https://evil.example/commands/T0/1/x", true, false},
		{"metadata service, loopback allowed", "http://169.254.169.254/latest/meta-data/", true, false},
		// The controls: the sink does see what is allowed.
		{"Slack's hooks host", "https://hooks.slack.com/commands/T0/1/" + responseSecret, false, true},
		{"loopback, allowed", "http://127.0.0.1:9/commands/T0/1/x", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t)
			var pool *followup.Pool
			poster := &slack.Poster{HTTPClient: s.client(), AllowLoopback: tt.allowLoopback, Attempts: 1}
			clk := testutil.NewClock(time.Now())
			f := newFixture(t, func(o *service.Options) {
				o.Invalidator = testutil.MustEmulatedInvalidator(t, 50*time.Millisecond)
				o.Poster = poster
				o.WebhookURL = ""
				pool = followup.NewPool(&followup.Follower{Invalidator: o.Invalidator, Poster: poster, FirstDelay: time.Millisecond}, 4, nil)
				o.Followups = pool
				o.Confirm = purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge}
				o.Now = clk.Now
			})
			// A purge that is followed up, and an approval request whose
			// click is answered: both go to the response_url.
			_, m := f.command(t, map[string]string{"text": "/followed", "trigger_id": "t.followed", "response_url": tt.responseURL})
			if m == nil || m.ResponseType != "in_channel" {
				t.Fatalf("purge: %+v", m)
			}
			if !tt.sent && !strings.Contains(blocksText(m), "check later") {
				t.Errorf("the reply does not say to check later: %s", blocksText(m))
			}
			_, ask := f.command(t, map[string]string{"text": "/*", "trigger_id": "t.ask", "response_url": tt.responseURL})
			f.click(t, ask, slack.ActionCancel, "U2147483697", "C2147483705", tt.responseURL)
			// Every follow-up and background post is over once these
			// return: whatever reached the listener is recorded by then.
			pool.Shutdown(context.Background())
			f.h.Wait(context.Background())

			sent := len(s.hosts()) > 0
			if sent != tt.sent {
				t.Fatalf("connections to %v, want any: %v", s.hosts(), tt.sent)
			}
			listener.NoMore(t)
		})
	}
}

// TestHostilePathInjection: control characters in a command's paths (CR,
// LF, NUL, raw or percent-encoded) never reach CloudFront's request as
// such: the command is refused, or the paths are encoded; no header is
// injected into the request to CloudFront; every log record stays one line.
func TestHostilePathInjection(t *testing.T) {
	emu := testutil.MustEmulator(t, time.Hour)
	var mu sync.Mutex
	var wire []string
	target, _ := url.Parse(emu)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, _ := httputil.DumpRequest(r, true)
		mu.Lock()
		wire = append(wire, string(dump))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	tests := []struct{ name, text string }{
		{"raw CRLF", "/a\r\nX-Injected: 1"},
		{"raw CRLF in one item", "/a\r\nX-Injected:1"},
		{"encoded CRLF", "/a%0D%0AX-Injected:%201"},
		{"encoded CRLF in a URL", "https://www.example.com/a%0d%0aX-Injected:%201"},
		{"raw NUL", "/a\x00b"},
		{"encoded NUL", "/a%00b"},
		{"raw LF only", "/a\nX-Injected: 1"},
		{"XML in a path", "/a</Path><Path>/b"},
		{"Slack-escaped angle brackets", "/a&lt;/Path&gt;"},
		{"unicode line separator", "/a\u2028X-Injected: 1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *service.Options) { o.Invalidator = testutil.NewInvalidator(front.URL) })
			mu.Lock()
			wire = nil
			mu.Unlock()
			status, m := f.command(t, map[string]string{"text": tt.text, "trigger_id": fmt.Sprint("t.inject.", i)})
			f.h.Wait(context.Background())
			if status != http.StatusOK || m == nil {
				t.Fatalf("status %d", status)
			}
			if m.ResponseType == "in_channel" {
				inv, err := f.inv.GetInvalidation(context.Background(), testDist, replyInvalidationID(m))
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range inv.Paths {
					for j := 0; j < len(p); j++ {
						if p[j] <= ' ' || p[j] >= 0x7f {
							t.Fatalf("path %q reached CloudFront with byte %#x", p, p[j])
						}
					}
				}
			} else if !strings.Contains(m.Text, "Nothing was purged") {
				t.Fatalf("refusal: %s", m.Text)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, req := range wire {
				head, body, _ := strings.Cut(req, "\r\n\r\n")
				if strings.Contains(strings.ToLower(head), "x-injected") || strings.ContainsAny(body, "\x00") ||
					strings.Contains(body, "\r") || strings.Contains(body, "X-Injected: 1") {
					t.Fatalf("CloudFront received an injected request:\n%q", req)
				}
			}
			for line := range strings.Lines(f.logs.String()) {
				if !json.Valid([]byte(line)) {
					t.Fatalf("a log record spans lines: %q", line)
				}
			}
		})
	}
}

// panicOnGet is a backend whose reads panic: a follow-up that polls it
// panics in the background, after the reply.
type panicOnGet struct{ purge.Invalidator }

func (panicOnGet) GetInvalidation(context.Context, string, string) (*purge.Invalidation, error) {
	panic("secret boom in a follow-up")
}

// panicTransport panics on every request: an audit post through it panics
// in the background, after the reply.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("secret boom in an audit post")
}

// TestHostilePanicInBackground: a panic in the work that runs after the
// reply (the audit post, a follow-up in serve's pool) must not take the
// server down with every request in flight: it is recovered and logged
// once, without detail reaching Slack.
func TestHostilePanicInBackground(t *testing.T) {
	tests := []struct {
		name, logged string
		mutate       func(*service.Options)
	}{
		{"audit post", "panic in a background delivery", func(o *service.Options) {
			o.Poster = &slack.Poster{AllowLoopback: true, HTTPClient: &http.Client{Transport: panicTransport{}}}
		}},
		{"follow-up", "panic in a follow-up", func(o *service.Options) {
			o.WebhookURL = ""
			o.Followups = followup.NewPool(&followup.Follower{Invalidator: panicOnGet{o.Invalidator}, Poster: o.Poster, FirstDelay: time.Millisecond}, 4, o.Logger)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pool *followup.Pool
			f := newFixture(t, func(o *service.Options) {
				tt.mutate(o)
				pool, _ = o.Followups.(*followup.Pool)
			})
			in := testutil.NewSlackInbox(t, responseSecret)
			status, m := f.command(t, map[string]string{"response_url": in.URL})
			if status != http.StatusOK || m.ResponseType != "in_channel" {
				t.Fatalf("reply: %d %+v", status, m)
			}
			f.h.Wait(context.Background())
			if pool != nil {
				pool.Shutdown(context.Background())
			}
			if n := strings.Count(f.logs.String(), tt.logged); n != 1 {
				t.Fatalf("%q logged %d times:\n%s", tt.logged, n, f.logs)
			}
			for _, r := range f.replies {
				if strings.Contains(r, "secret boom") {
					t.Fatalf("the panic reached the reply: %s", r)
				}
			}
		})
	}
}
