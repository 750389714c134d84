package cloudflarecdn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// FuzzParseRetryAfter: a Retry-After parses to a positive wait of at most
// maxRetryAfter, or to none.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"1", "30", "0", "-1", "3600", "3601", " 5 ", "1.5", "1e3", "",
		"Fri, 01 May 2026 12:00:30 GMT", "Fri, 01 May 2026 11:00:00 GMT", "Friday", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok != (d > 0) || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}

// FuzzErrorAnswer: whatever Cloudflare answers a purge with, Purge returns
// a coded error whose texts never hold the token, and RetryAfter only for
// RateLimited.
func FuzzErrorAnswer(f *testing.F) {
	const token = "fuzzTokenYs4hmcXfrDJ9dvIxQLQZS3JbXMn5S6"
	type reply struct {
		status int
		body   []byte
		retry  string
	}
	var next atomic.Pointer[reply]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := next.Load()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", a.retry)
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	f.Cleanup(srv.Close)
	p, err := New(Options{ZoneID: "z", Token: token, Domains: []string{"www.example.com"}, Endpoint: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		status uint16
		body   string
		retry  string
	}{
		{429, `{"success":false,"errors":[{"code":971,"message":"Please wait"}],"messages":[],"result":null}`, "9999"},
		{403, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`, ""},
		{400, `{"success":false,"errors":[{"code":1015,"message":"Bearer ` + token + `\u0000"}]}`, ""},
		{502, `<html>bad gateway</html>`, ""},
		{400, `{"errors":"not a list"}`, ""},
		{404, ``, "1"},
	} {
		f.Add(s.status, []byte(s.body), s.retry)
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte, retry string) {
		if strings.ContainsAny(retry, "\r\n\x00") {
			return // not a header value net/http sends
		}
		next.Store(&reply{status: 400 + int(status)%200, body: body, retry: retry})
		// No room to wait: every 429 returns at once.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := p.send(ctx, []purge.Item{{Kind: purge.KindTag, Tag: "t"}})
		code := purge.ErrorCode(err)
		if err == nil || code == "" {
			t.Fatalf("status %d: err %v", 400+int(status)%200, err)
		}
		if strings.Contains(err.Error(), token) || strings.Contains(purge.ErrorMessage(err), token) {
			t.Fatalf("the error holds the token: %v", err)
		}
		if _, ok := purge.RetryAfter(err); ok && code != purge.RateLimited {
			t.Fatalf("RetryAfter on a %s error", code)
		}
	})
}
