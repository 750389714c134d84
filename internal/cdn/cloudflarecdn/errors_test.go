package cloudflarecdn_test

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// Cloudflare's answers, as its API sends them.
//
//go:embed testdata/*.json testdata/*.html
var fixtures embed.FS

// answer is one scripted answer of a stand-in for Cloudflare.
type answer struct {
	status     int
	fixture    string // under testdata/
	retryAfter string
}

// MustScripted serves answers on loopback, one per request, the last one
// again once they run out, and returns a Provider for it and a function
// that says how many requests it has seen.
func MustScripted(tb testing.TB, answers ...answer) (p *cloudflarecdn.Provider, seen func() int) {
	tb.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		body, err := fixtures.ReadFile("testdata/" + a.fixture)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if strings.HasSuffix(a.fixture, ".json") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return MustProvider(tb, srv.URL+"/client/v4"), func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

var ok = answer{status: 200, fixture: "purge_ok.json"}

func TestCloudflareErrors(t *testing.T) {
	tests := []struct {
		name    string
		answers []answer
		budget  time.Duration // the context's deadline; 0 for none
		code    purge.Code
		msg     string        // in the user's message
		after   time.Duration // RetryAfter; 0 for none
		calls   int
	}{
		{name: "revoked token", answers: []answer{{status: 401, fixture: "authentication_error.json"}},
			code: purge.Unauthenticated, msg: "Zone › Cache Purge › Purge", calls: 1},
		{name: "missing permission", answers: []answer{{status: 403, fixture: "authentication_error.json"}},
			code: purge.PermissionDenied, msg: "lacks the permission Zone › Cache Purge › Purge", calls: 1},
		{name: "no Authorization header", answers: []answer{{status: 400, fixture: "missing_auth_headers.json"}},
			code: purge.Unauthenticated, msg: "did not accept the API token", calls: 1},
		{name: "malformed token", answers: []answer{{status: 400, fixture: "invalid_authorization_format.json"}},
			code: purge.Unauthenticated, calls: 1},
		{name: "unknown zone", answers: []answer{{status: 404, fixture: "could_not_route.json"}},
			code: purge.NotFound, msg: "no zone " + testZone, calls: 1},
		{name: "unknown zone as 400", answers: []answer{{status: 400, fixture: "could_not_route.json"}},
			code: purge.NotFound, calls: 1},
		{name: "invalid URL", answers: []answer{{status: 400, fixture: "invalid_url.json"}},
			code: purge.Invalid, msg: "Cloudflare refused the purge: Unable to purge /path/to/image.jpg, which is an invalid URL. (code 1015)", calls: 1},
		{name: "server error", answers: []answer{{status: 500, fixture: "internal_server_error.json"}},
			code: purge.Unavailable, msg: "HTTP 500", calls: 1},
		{name: "bad gateway page", answers: []answer{{status: 502, fixture: "bad_gateway.html"}},
			code: purge.Unavailable, msg: "HTTP 502", calls: 1},
		{name: "429 without room to wait", answers: []answer{{status: 429, fixture: "rate_limited.json", retryAfter: "30"}},
			budget: 2 * time.Second, code: purge.RateLimited, msg: "try again in 30 seconds", after: 30 * time.Second, calls: 1},
		{name: "429 without Retry-After", answers: []answer{{status: 429, fixture: "rate_limited.json"}},
			budget: time.Minute, code: purge.RateLimited, msg: "try again in a minute", calls: 1},
		{name: "429 with room to wait", answers: []answer{{status: 429, fixture: "rate_limited.json", retryAfter: "1"}, ok},
			budget: time.Minute, calls: 2},
		{name: "429 with room, then 429 without", answers: []answer{{status: 429, fixture: "rate_limited.json", retryAfter: "1"}},
			budget: 2 * time.Second, code: purge.RateLimited, after: time.Second, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, seen := MustScripted(t, tt.answers...)
			ctx := context.Background()
			if tt.budget > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.budget)
				defer cancel()
			}
			inv, err := p.Purge(ctx, purge.Request{Items: testutil.MustItems(t, "/a.html")})
			if purge.ErrorCode(err) != tt.code {
				t.Fatalf("err %v (%q), want %q", err, purge.ErrorCode(err), tt.code)
			}
			if tt.code == "" && (inv == nil || inv.ID != "9a7806061c88ada191ed06f989cc3dac" || inv.Requests != 1) {
				t.Errorf("invalidation %+v, want Cloudflare's ID and 1 request", inv)
			}
			if msg := purge.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q lacks %q", msg, tt.msg)
			}
			if after, _ := purge.RetryAfter(err); after != tt.after {
				t.Errorf("RetryAfter %v, want %v", after, tt.after)
			}
			if seen() != tt.calls {
				t.Errorf("%d requests, want %d", seen(), tt.calls)
			}
			assertNoToken(t, err)
		})
	}
}

func TestPartial(t *testing.T) {
	p, seen := MustScripted(t, ok, answer{status: 503, fixture: "internal_server_error.json"})
	items := testutil.MustItems(t, "/a.html", "#news", "/blog/*")
	inv, err := p.Purge(context.Background(), purge.Request{Items: items})
	if !errors.Is(err, purge.ErrPartial) || purge.ErrorCode(err) != purge.Unavailable {
		t.Fatalf("err %v (%s), want Unavailable wrapping ErrPartial", err, purge.ErrorCode(err))
	}
	if msg := purge.ErrorMessage(err); !strings.Contains(msg, "1 of 3 items") {
		t.Errorf("message %q does not say what was purged", msg)
	}
	if inv == nil || inv.Requests != 1 || inv.ID != "9a7806061c88ada191ed06f989cc3dac" || len(inv.Paths) != 1 || inv.Paths[0] != "/a.html" {
		t.Fatalf("invalidation %+v, want the first request's", inv)
	}
	if seen() != 2 {
		t.Errorf("%d requests, want 2: none after the failure", seen())
	}
}

func TestUnreachable(t *testing.T) {
	addr := testutil.MustRefusingAddr(t)
	p := MustProvider(t, "http://"+addr+"/client/v4")
	_, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/a.html")})
	if !purge.Unreachable(err) || purge.ErrorCode(err) != purge.Unavailable {
		t.Fatalf("err %v (%s), want Unavailable wrapping ErrUnreachable", err, purge.ErrorCode(err))
	}
	msg := purge.ErrorMessage(err)
	for _, want := range []string{"http://" + addr, "connection refused", "nothing was purged", "CDNPURGE_CLOUDFLARE_ENDPOINT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	assertNoToken(t, err)
}

// TestTokenEchoed: a stand-in that echoes the Authorization header in its
// error gets the token back in neither the message nor the detail.
func TestTokenEchoed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"success":false,"errors":[{"code":1015,"message":"Unable to purge with ` +
			r.Header.Get("Authorization") + `"}],"messages":[],"result":null}`))
	}))
	t.Cleanup(srv.Close)
	_, err := MustProvider(t, srv.URL+"/client/v4").Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/a.html")})
	if purge.ErrorCode(err) != purge.Invalid || !strings.Contains(purge.ErrorMessage(err), "[token]") {
		t.Fatalf("err %v (%s), want Invalid with the token redacted", err, purge.ErrorCode(err))
	}
	assertNoToken(t, err)
}
