package fastlycdn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// checkNoToken fails the test if err, as the operator or the user reads
// it, holds the token.
func checkNoToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), purge.ErrorMessage(err)} {
		if strings.Contains(s, testToken) {
			t.Errorf("the token is in the error %q", s)
		}
	}
}

// TestPurgeRefused checks that what Fastly cannot purge is refused before
// anything is sent: the emulator sees no call.
func TestPurgeRefused(t *testing.T) {
	tests := []struct {
		name        string
		items       []string
		unsupported bool
		wantMsg     string
	}{
		{"prefix", []string{"/a", "/blog/*"}, true, "Fastly cannot purge by prefix (`/blog/*`): use a surrogate key (`#tag`) or purge everything (`/*`)"},
		{"host", []string{"https://www.example.com/*"}, true, "Fastly cannot purge a whole host"},
		{"a URL on another site", []string{"#news", "https://other.example.org/a"}, false, "is not on this Fastly service's domains (www.example.com, static.example.com)"},
		{"nothing", nil, false, "nothing to purge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv, _ := MustEmulator(t, emulator.Faults{})
			p := MustProvider(t, srv.URL, nil, nil)
			inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, tt.items...)})
			if inv != nil || purge.ErrorCode(err) != purge.Invalid {
				t.Fatalf("Purge = %+v, %v; want an Invalid error", inv, err)
			}
			if got := errors.Is(err, purge.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
			if msg := purge.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want it to hold %q", msg, tt.wantMsg)
			}
			for op, n := range e.FastlyCallCounts() {
				if n != 0 {
					t.Errorf("the emulator saw %d %s calls, want none", n, op)
				}
			}
		})
	}
}

// TestPurgeErrorsEmulator checks the classes of the errors the emulator
// produces, and that the token is in no error and no log line.
func TestPurgeErrorsEmulator(t *testing.T) {
	tests := []struct {
		name      string
		faults    emulator.Faults
		edit      func(*Options)
		deadline  time.Duration // 0: none
		items     []string
		want      purge.Code
		wantAfter time.Duration // RetryAfter's, 0 for none
		wantWaits int
		wantCalls int
	}{
		{"wrong token", emulator.Faults{}, func(o *Options) { o.Token = "not-the-token" }, 0, []string{"#a"}, purge.Unauthenticated, 0, 0, 1},
		{"unknown service", emulator.Faults{}, func(o *Options) { o.ServiceID = "SNOSUCHSERVICE" }, 0, []string{"/*"}, purge.NotFound, 0, 0, 1},
		{"rate limited, waited out within the tries", throttle(), nil, 0, []string{"#a"}, purge.RateLimited, time.Second, maxAttempts - 1, maxAttempts},
		{"rate limited, no time to wait", throttle(), nil, 500 * time.Millisecond, []string{"#a"}, purge.RateLimited, time.Second, 0, 1},
		{"unavailable", emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpFastlyPurgeURL: {Unavailable: 1}}}, nil, 0,
			[]string{"/a"}, purge.Unavailable, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv, logs := MustEmulator(t, tt.faults)
			var waits []time.Duration
			p := MustProvider(t, srv.URL, tt.edit, &waits)
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			inv, err := p.Purge(ctx, purge.Request{Items: testutil.MustItems(t, tt.items...)})
			if inv != nil || purge.ErrorCode(err) != tt.want {
				t.Fatalf("Purge = %+v, %v; want code %s", inv, err, tt.want)
			}
			if after, _ := purge.RetryAfter(err); after != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", after, tt.wantAfter)
			}
			if len(waits) != tt.wantWaits {
				t.Errorf("waited %v, want %d waits", waits, tt.wantWaits)
			}
			calls := 0
			for _, n := range e.FastlyCallCounts() {
				calls += n
			}
			if calls != tt.wantCalls {
				t.Errorf("the emulator saw %d calls, want %d", calls, tt.wantCalls)
			}
			checkNoToken(t, err)
			if strings.Contains(logs.String(), testToken) {
				t.Errorf("the token is in the emulator's log:\n%s", logs)
			}
		})
	}
}

func throttle() emulator.Faults {
	return emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpFastlyPurgeKeys: {Throttle: 1}}}
}

// stubReply is what the stub server answers to one request path prefix.
type stubReply struct {
	status int
	header map[string]string
	body   string // a testdata file name (*.json, *.html), or the body itself
}

// stub is an httptest server answering with Fastly's documented bodies,
// for the answers the emulator does not produce. It records the paths it
// was asked.
type stub struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

// MustStub serves replies by the longest path prefix that matches; a
// request that matches none gets 200 purge_ok.json.
func MustStub(tb testing.TB, replies map[string]stubReply) *stub {
	tb.Helper()
	s := &stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		reply, best := stubReply{status: 200, body: "purge_ok.json"}, -1
		for prefix, rep := range replies {
			if strings.HasPrefix(r.URL.Path, prefix) && len(prefix) > best {
				reply, best = rep, len(prefix)
			}
		}
		for k, v := range reply.header {
			w.Header().Set(k, v)
		}
		body := []byte(reply.body)
		if strings.HasSuffix(reply.body, ".json") || strings.HasSuffix(reply.body, ".html") {
			body = mustFixture(tb, reply.body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.status)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *stub) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// TestPurgeErrorsDocumented checks the classes of the answers Fastly
// documents that the emulator does not give.
func TestPurgeErrorsDocumented(t *testing.T) {
	keysPath := "/service/" + testService + "/purge"
	allPath := "/service/" + testService + "/purge_all"
	reset := strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10)
	tests := []struct {
		name      string
		replies   map[string]stubReply
		items     []string
		want      purge.Code
		wantMsg   string
		wantAfter bool
	}{
		{"401", map[string]stubReply{"/": {401, nil, "unauthorized.json"}}, []string{"/a"}, purge.Unauthenticated, "did not accept the API token", false},
		{"403 on a URL purge names purge_select", map[string]stubReply{"/": {403, nil, "forbidden.json"}}, []string{"/a"}, purge.PermissionDenied, "purge_select scope", false},
		{"403 on keys names purge_select", map[string]stubReply{"/": {403, nil, "forbidden.json"}}, []string{"#a"}, purge.PermissionDenied, "purge_select scope", false},
		{"403 on purge all names purge_all", map[string]stubReply{"/": {403, nil, "forbidden.json"}}, []string{"/*"}, purge.PermissionDenied, "purge_all scope", false},
		{"404 on keys", map[string]stubReply{"/": {404, nil, "not_found.json"}}, []string{"#a"}, purge.NotFound, "Fastly has no service " + testService, false},
		{"400 says what Fastly said", map[string]stubReply{"/": {400, nil, "bad_request.json"}}, []string{"#a"}, purge.Invalid, "Bad request: Invalid surrogate key", false},
		{"400 that echoes the token", map[string]stubReply{"/": {400, nil, `{"msg":"Bad token ` + testToken + `"}`}}, []string{"#a"}, purge.Invalid, "Bad token [token]", false},
		{"429 with Fastly-RateLimit-Reset only", map[string]stubReply{"/": {429, map[string]string{"Fastly-RateLimit-Reset": reset}, "rate_limited.json"}},
			[]string{"/*"}, purge.RateLimited, "try again in", true},
		{"429 that says nothing of when", map[string]stubReply{"/": {429, nil, "rate_limited.json"}}, []string{"/*"}, purge.RateLimited, "try again later", false},
		{"500", map[string]stubReply{"/": {500, nil, "{}"}}, []string{"#a"}, purge.Unavailable, "HTTP 500", false},
		{"503 in HTML", map[string]stubReply{"/": {503, nil, "unavailable.html"}}, []string{"/a"}, purge.Unavailable, "HTTP 503", false},
		{"an unknown status", map[string]stubReply{"/": {418, nil, "{}"}}, []string{"/a"}, purge.Internal, "internal error", false},
		{"a redirect is not followed", map[string]stubReply{"/": {302, map[string]string{"Location": "/elsewhere"}, "{}"}}, []string{"/a"}, purge.Internal, "internal error", false},
		{"200 with an unknown answer", map[string]stubReply{"/": {200, nil, `{"status":"maybe"}`}}, []string{"/a"}, purge.Internal, "in a form cdnpurge does not know", false},
		{"200 on keys that is not a map", map[string]stubReply{keysPath: {200, nil, `["x"]`}}, []string{"#a"}, purge.Internal, "in a form cdnpurge does not know", false},
		{"200 on purge all that is not ok", map[string]stubReply{allPath: {200, nil, `{"status":"error"}`}}, []string{"/*"}, purge.Internal, "in a form cdnpurge does not know", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustStub(t, tt.replies)
			p := MustProvider(t, s.URL, nil, nil)
			// No case is waited out: a reset 90 s away is longer than
			// maxRateLimitWait.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			inv, err := p.Purge(ctx, purge.Request{Items: testutil.MustItems(t, tt.items...)})
			if inv != nil || purge.ErrorCode(err) != tt.want {
				t.Fatalf("Purge = %+v, %v; want code %s", inv, err, tt.want)
			}
			if msg := purge.ErrorMessage(err); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q, want it to hold %q", msg, tt.wantMsg)
			}
			if _, ok := purge.RetryAfter(err); ok != tt.wantAfter {
				t.Errorf("RetryAfter given: %v, want %v", ok, tt.wantAfter)
			}
			if got := s.calls(); len(got) != 1 {
				t.Errorf("the server saw %v, want one request", got)
			}
			checkNoToken(t, err)
		})
	}
}

// TestPurgePartial checks a purge that fails part way: the error wraps
// ErrPartial, and the Invalidation has what went through.
func TestPurgePartial(t *testing.T) {
	tests := []struct {
		name      string
		replies   map[string]stubReply
		items     []string
		want      purge.Code
		wantPaths []string
		wantIDs   int
	}{
		{"keys through, purge all forbidden", map[string]stubReply{
			"/service/" + testService + "/purge_all": {403, nil, "forbidden.json"},
			"/service/" + testService + "/purge":     {200, nil, `{"a":"1-1-1","b":"1-1-2"}`},
		}, []string{"#a", "#b", "/*"}, purge.PermissionDenied, []string{"#a", "#b"}, 2},
		{"one URL of three fails", map[string]stubReply{
			"/purge/www.example.com/b": {500, nil, "{}"},
		}, []string{"/a", "/b", "/c"}, purge.Unavailable, []string{"/a", "/c"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustStub(t, tt.replies)
			p := MustProvider(t, s.URL, nil, nil)
			inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, tt.items...)})
			if !errors.Is(err, purge.ErrPartial) || purge.ErrorCode(err) != tt.want {
				t.Fatalf("Purge error %v, want code %s wrapping ErrPartial", err, tt.want)
			}
			if inv == nil {
				t.Fatal("no Invalidation of what went through")
			}
			if !samePaths(inv.Paths, tt.wantPaths) {
				t.Errorf("Paths %v, want %v", inv.Paths, tt.wantPaths)
			}
			if ids := sortedIDs(inv.ID); len(ids) != tt.wantIDs {
				t.Errorf("ID %q, want %d IDs", inv.ID, tt.wantIDs)
			}
			if !strings.Contains(purge.ErrorMessage(err), "were purged before this failure") {
				t.Errorf("message %q does not say what went through", purge.ErrorMessage(err))
			}
			checkNoToken(t, err)
		})
	}
}

// TestPurgeUnreachable checks that a Fastly that cannot be reached is
// Unavailable, wrapping ErrUnreachable, naming scheme://host:port.
func TestPurgeUnreachable(t *testing.T) {
	dnsFails := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.fastly.test", IsNotFound: true}}
		},
	}}
	refusing := testutil.MustRefusingAddr(t)
	tests := []struct {
		name       string
		endpoint   string
		client     *http.Client
		wantBase   string
		wantReason string
	}{
		{"refused", "http://" + refusing, nil, "http://" + refusing, "connection refused"},
		{"unknown host", "https://api.fastly.test", dnsFails, "https://api.fastly.test:443", "unknown host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MustProvider(t, tt.endpoint, func(o *Options) { o.HTTPClient = tt.client }, nil)
			inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/a", "#b")})
			if inv != nil || purge.ErrorCode(err) != purge.Unavailable || !purge.Unreachable(err) {
				t.Fatalf("Purge = %+v, %v; want Unavailable wrapping ErrUnreachable", inv, err)
			}
			msg := purge.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantBase+" ("+tt.wantReason+")") {
				t.Errorf("message %q, want it to name %s (%s)", msg, tt.wantBase, tt.wantReason)
			}
			checkNoToken(t, err)
		})
	}
}

// TestRateLimitWait checks that a 429 is waited out as told and then
// succeeds, with the wait the server asked for.
func TestRateLimitWait(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write(mustFixture(t, "rate_limited.json"))
			return
		}
		_, _ = w.Write(mustFixture(t, "purge_all_ok.json"))
	}))
	t.Cleanup(srv.Close)
	var waits []time.Duration
	p := MustProvider(t, srv.URL, nil, &waits)
	inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/*")})
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Errorf("waited %v, want [7s]", waits)
	}
	if inv.Requests != 1 {
		t.Errorf("Requests %d, want 1", inv.Requests)
	}
}

// TestNew checks what New refuses, never quoting the token.
func TestNew(t *testing.T) {
	ok := Options{ServiceID: testService, Token: testToken, Domains: testDomains}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string // "" for none
	}{
		{"fine", func(*Options) {}, ""},
		{"no service", func(o *Options) { o.ServiceID = "" }, "no service ID"},
		{"a service ID with a slash", func(o *Options) { o.ServiceID = "a/b" }, "not a Fastly service ID"},
		{"no token", func(o *Options) { o.Token = "" }, "no API token"},
		{"a token with a newline", func(o *Options) { o.Token = testToken + "\n" }, "spaces or control characters"},
		{"no domains", func(o *Options) { o.Domains = nil }, "no domains"},
		{"a domain that is a URL", func(o *Options) { o.Domains = []string{"https://www.example.com/"} }, "not a host name"},
		{"an endpoint that is not http", func(o *Options) { o.Endpoint = "ftp://example.com" }, "not an http:// or https:// URL"},
		{"an endpoint with user info", func(o *Options) { o.Endpoint = "https://user:" + testToken + "@api.fastly.com" }, "not an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ok
			tt.edit(&opts)
			p, err := New(opts)
			if tt.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error %v, want %q", err, tt.wantErr)
			}
			checkNoToken(t, err)
		})
	}
}

// TestCapabilities checks what the provider says it can do.
func TestCapabilities(t *testing.T) {
	p := MustProvider(t, "", nil, nil)
	c := p.Capabilities()
	if c.Provider != "Fastly" || c.MaxBatch != 256 || !c.OneKindPerRequest || c.Status || c.History || c.Idempotent || c.Soft {
		t.Errorf("Capabilities %+v", c)
	}
	for _, k := range []struct {
		kind purge.Kind
		want bool
	}{{purge.KindFile, true}, {purge.KindTag, true}, {purge.KindEverything, true}, {purge.KindPrefix, false}, {purge.KindHost, false}} {
		if got := c.Kinds.Has(k.kind); got != k.want {
			t.Errorf("Kinds.Has(%s) = %v, want %v", k.kind, got, k.want)
		}
	}
}
