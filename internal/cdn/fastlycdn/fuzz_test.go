package fastlycdn

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzParseError reads arbitrary error bodies: what it makes of one is a
// single line, without control characters, of bounded length.
func FuzzParseError(f *testing.F) {
	for _, name := range []string{"unauthorized.json", "forbidden.json", "bad_request.json", "not_found.json", "unavailable.html"} {
		f.Add(mustFixture(f, name))
	}
	f.Add([]byte(`{"msg":"a\nb","detail":"\u0000` + strings.Repeat("x", 400) + `"}`))
	f.Add([]byte(`{"msg":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := parseError(body).String()
		if strings.ContainsFunc(s, unicode.IsControl) {
			t.Fatalf("%q has control characters", s)
		}
		if n := len([]rune(s)); n > 301 {
			t.Fatalf("%d runes, want at most 301", n)
		}
	})
}

// FuzzRetryAfter reads arbitrary Retry-After and Fastly-RateLimit-Reset
// headers: a wait it finds is positive, whole seconds, and at most a day.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Add("1", "")
	f.Add("", "1767323105")
	f.Add("Fri, 02 Jan 2026 03:05:00 GMT", "")
	f.Add("-5", "99999999999999999999")
	f.Add("soon", "0")
	f.Fuzz(func(t *testing.T, retry, reset string) {
		h := http.Header{}
		h.Set("Retry-After", retry)
		h.Set("Fastly-RateLimit-Reset", reset)
		d, ok := retryAfter(h, now)
		if !ok {
			if d != 0 {
				t.Fatalf("no wait, yet %v", d)
			}
			return
		}
		if d <= 0 || d > 24*time.Hour+time.Second || d%time.Second != 0 {
			t.Fatalf("wait %v for Retry-After %q, reset %q", d, retry, reset)
		}
	})
}

// FuzzParseKeysAnswer reads arbitrary bulk purge answers: it gives at most
// one ID per key, none empty, or an error.
func FuzzParseKeysAnswer(f *testing.F) {
	f.Add(mustFixture(f, "bulk_purge_ok.json"), "key_1 key_2")
	f.Add([]byte(`null`), "a")
	f.Add([]byte(`{"a":""}`), "a a")
	f.Add([]byte(`{"a":1}`), "a")
	f.Fuzz(func(t *testing.T, body []byte, keyList string) {
		keys := strings.Fields(keyList)
		ids, err := parseKeysAnswer(body, keys)
		if err != nil {
			return
		}
		if len(ids) > len(keys) {
			t.Fatalf("%d IDs for %d keys", len(ids), len(keys))
		}
		for _, id := range ids {
			if id == "" {
				t.Fatal("an empty ID")
			}
		}
	})
}
