package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// cloudflareTestZone is the zone every Cloudflare test emulator knows,
// shaped like Cloudflare's zone IDs.
const cloudflareTestZone = "023e105f4ecef8ad9ca31a8372d0c353"

// cloudflareTestToken is an API token shaped like Cloudflare's (40
// characters).
const cloudflareTestToken = "Ys4hmcXfrDJ9dvIxQLQZS3JbXMn5S6oHqgHdd7ER"

// cfEnvelope decodes Cloudflare's v4 envelope, keeping what the wire
// format promises.
type cfEnvelope struct {
	Success  *bool             `json:"success"`
	Errors   []cfEnvelopeError `json:"errors"`
	Messages []json.RawMessage `json:"messages"`
	Result   json.RawMessage   `json:"result"`
}

type cfEnvelopeError struct {
	Code       int               `json:"code"`
	Message    string            `json:"message"`
	ErrorChain []cfEnvelopeError `json:"error_chain"`
}

// MustStartCloudflareEmulator serves an emulator knowing cloudflareTestZone
// (unless opts names zones) on a loopback httptest server.
func MustStartCloudflareEmulator(tb testing.TB, opts emulator.Options) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	if opts.CloudflareZones == nil {
		opts.CloudflareZones = []string{cloudflareTestZone}
	}
	e := emulator.New(opts)
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return e, srv
}

// MustCloudflarePost posts body to path on srv with the Authorization
// header auth (none when empty) and returns the status, headers and the
// decoded envelope, failing the test if the answer is not one.
func MustCloudflarePost(tb testing.TB, srv *httptest.Server, path, auth, body string) (int, http.Header, cfEnvelope) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, mustEnvelope(tb, resp)
}

func mustEnvelope(tb testing.TB, resp *http.Response) cfEnvelope {
	tb.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q, want application/json; body %s", ct, raw)
	}
	var env cfEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		tb.Fatalf("body is not JSON: %v: %s", err, raw)
	}
	if env.Success == nil || env.Errors == nil || env.Messages == nil || env.Result == nil {
		tb.Fatalf("envelope lacks success, errors, messages or result: %s", raw)
	}
	return env
}

const purgePath = "/client/v4/zones/" + cloudflareTestZone + "/purge_cache"

var resultID = regexp.MustCompile(`^\{"id":"[0-9a-f]{32}"\}$`)

func TestCloudflarePurgeWire(t *testing.T) {
	bearer := "Bearer " + cloudflareTestToken
	files := func(n int) string {
		urls := make([]string, n)
		for i := range urls {
			urls[i] = fmt.Sprintf(`"https://www.example.com/p/%d"`, i)
		}
		return `{"files":[` + strings.Join(urls, ",") + `]}`
	}
	tags := func(n int) string {
		return `{"tags":["` + strings.Repeat(`t","`, n-1) + `t"]}`
	}
	tests := []struct {
		name      string
		path      string
		auth      string
		body      string
		status    int
		code      int    // 0 for success
		chain     int    // the error_chain's code, if any
		kind      string // the purge recorded on success
		items     []string
		tokens    []string // Options.CloudflareTokens
		wantInMsg string
	}{
		{name: "files", body: `{"files":["https://www.example.com/a.css","http://www.example.com/b?x=1"]}`,
			status: 200, kind: "files", items: []string{"https://www.example.com/a.css", "http://www.example.com/b?x=1"}},
		{name: "files with headers", body: `{"files":[{"url":"https://www.example.com/cat.jpg","headers":{"CF-IPCountry":"US"}}]}`,
			status: 200, kind: "files", items: []string{"https://www.example.com/cat.jpg"}},
		{name: "tags", body: `{"tags":["a-cache-tag","another"]}`, status: 200, kind: "tags", items: []string{"a-cache-tag", "another"}},
		{name: "hosts", body: `{"hosts":["www.example.com","images.example.com"]}`, status: 200, kind: "hosts",
			items: []string{"www.example.com", "images.example.com"}},
		{name: "prefixes", body: `{"prefixes":["www.example.com/foo","images.example.com/bar/baz"]}`, status: 200, kind: "prefixes",
			items: []string{"www.example.com/foo", "images.example.com/bar/baz"}},
		{name: "everything", body: `{"purge_everything":true}`, status: 200, kind: "everything"},
		{name: "100 files", body: files(100), status: 200, kind: "files"},
		{name: "known token", body: `{"purge_everything":true}`, tokens: []string{cloudflareTestToken}, status: 200, kind: "everything"},

		{name: "101 files", body: files(101), status: 400, code: 1094, wantInMsg: "100"},
		{name: "101 tags", body: tags(101), status: 400, code: 1101},
		{name: "mixed kinds", body: `{"files":["https://www.example.com/a"],"tags":["x"]}`, status: 400, code: 1092},
		{name: "everything and files", body: `{"purge_everything":true,"files":["https://www.example.com/a"]}`, status: 400, code: 1092},
		{name: "everything false", body: `{"purge_everything":false}`, status: 400, code: 1013},
		{name: "empty object", body: `{}`, status: 400, code: 1012},
		{name: "empty list", body: `{"files":[]}`, status: 400, code: 1012},
		{name: "null list", body: `{"tags":null}`, status: 400, code: 1012},
		{name: "not a list", body: `{"tags":"news"}`, status: 400, code: 1014},
		{name: "relative file", body: `{"files":["/index.html"]}`, status: 400, code: 1015, wantInMsg: "/index.html, which is an invalid URL"},
		{name: "file without host", body: `{"files":["https:///a"]}`, status: 400, code: 1015},
		{name: "file of another scheme", body: `{"files":["ftp://www.example.com/a"]}`, status: 400, code: 1015},
		{name: "prefix with scheme", body: `{"prefixes":["https://www.example.com/foo"]}`, status: 400, code: 1015, wantInMsg: "no scheme"},
		{name: "prefix with wildcard", body: `{"prefixes":["www.example.com/foo*"]}`, status: 400, code: 1015},
		{name: "bad host", body: `{"hosts":["https://www.example.com"]}`, status: 400, code: 1115},
		{name: "long tag", body: `{"tags":["` + strings.Repeat("t", 1025) + `"]}`, status: 400, code: 1100},
		{name: "not JSON", body: `files=a`, status: 400, code: 6007},
		{name: "trailing data", body: `{"purge_everything":true} {}`, status: 400, code: 6007},
		{name: "JSON array", body: `[]`, status: 400, code: 6007},

		{name: "no Authorization", auth: "-", body: `{"purge_everything":true}`, status: 400, code: 9106},
		{name: "not Bearer", auth: "Basic dXNlcjpwYXNz", body: `{"purge_everything":true}`, status: 400, code: 6003, chain: 6111},
		{name: "empty Bearer", auth: "Bearer ", body: `{"purge_everything":true}`, status: 400, code: 6003, chain: 6111},
		{name: "token with spaces", auth: "Bearer a b", body: `{"purge_everything":true}`, status: 400, code: 6003, chain: 6111},
		{name: "unknown token", auth: "Bearer someOtherToken", tokens: []string{cloudflareTestToken},
			body: `{"purge_everything":true}`, status: 401, code: 10000},

		{name: "unknown zone", path: "/client/v4/zones/ffffffffffffffffffffffffffffffff/purge_cache",
			body: `{"purge_everything":true}`, status: 404, code: 7003},
		{name: "unknown route", path: "/client/v4/zones/" + cloudflareTestZone + "/dns_records",
			body: `{}`, status: 404, code: 7000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartCloudflareEmulator(t, emulator.Options{CloudflareTokens: tt.tokens})
			path := cmpOr(tt.path, purgePath)
			auth := cmpOr(tt.auth, bearer)
			if auth == "-" {
				auth = ""
			}
			status, header, env := MustCloudflarePost(t, srv, path, auth, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d; errors %+v", status, tt.status, env.Errors)
			}
			if header.Get("CF-Ray") == "" {
				t.Error("no CF-Ray header")
			}
			if len(env.Messages) != 0 {
				t.Errorf("messages %s, want []", env.Messages)
			}
			if tt.code == 0 {
				if !*env.Success || len(env.Errors) != 0 || !resultID.Match(env.Result) {
					t.Fatalf("success %v, errors %+v, result %s; want success with a 32-hex id", *env.Success, env.Errors, env.Result)
				}
				var res struct{ ID string }
				_ = json.Unmarshal(env.Result, &res)
				got := e.CloudflarePurges(cloudflareTestZone)
				if len(got) != 1 || got[0].ID != res.ID || got[0].Kind != tt.kind {
					t.Fatalf("recorded %+v, want one %s purge %s", got, tt.kind, res.ID)
				}
				if tt.items != nil && !slices.Equal(got[0].Items, tt.items) {
					t.Errorf("items %q, want %q", got[0].Items, tt.items)
				}
				return
			}
			if *env.Success || string(env.Result) != "null" || len(env.Errors) != 1 {
				t.Fatalf("success %v, result %s, errors %+v; want one error and a null result", *env.Success, env.Result, env.Errors)
			}
			got := env.Errors[0]
			if got.Code != tt.code || got.Message == "" {
				t.Errorf("error %+v, want code %d with a message", got, tt.code)
			}
			if tt.chain != 0 && (len(got.ErrorChain) != 1 || got.ErrorChain[0].Code != tt.chain) {
				t.Errorf("error_chain %+v, want code %d", got.ErrorChain, tt.chain)
			}
			if !strings.Contains(got.Message, tt.wantInMsg) {
				t.Errorf("message %q lacks %q", got.Message, tt.wantInMsg)
			}
			if p := e.CloudflarePurges(cloudflareTestZone); len(p) != 0 {
				t.Errorf("a refused purge was recorded: %+v", p)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestCloudflareMethodNotAllowed(t *testing.T) {
	_, srv := MustStartCloudflareEmulator(t, emulator.Options{})
	resp, err := srv.Client().Get(srv.URL + purgePath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	env := mustEnvelope(t, resp)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost || *env.Success {
		t.Fatalf("status %d, Allow %q, success %v; want 405, POST, false", resp.StatusCode, resp.Header.Get("Allow"), *env.Success)
	}
}

func TestCloudflareFaults(t *testing.T) {
	tests := []struct {
		name   string
		rates  emulator.FaultRates
		status int
		code   int
		retry  string
		count  func(emulator.FaultCounts) int
	}{
		{name: "throttle", rates: emulator.FaultRates{Throttle: 1}, status: 429, code: 971, retry: emulator.CloudflareRetryAfter,
			count: func(c emulator.FaultCounts) int { return c.Throttled }},
		{name: "unavailable", rates: emulator.FaultRates{Unavailable: 1}, status: 503, code: 10001,
			count: func(c emulator.FaultCounts) int { return c.Unavailable }},
		{name: "busy does not apply", rates: emulator.FaultRates{Busy: 1}, status: 200,
			count: func(c emulator.FaultCounts) int { return c.Requests }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartCloudflareEmulator(t, emulator.Options{Faults: emulator.Faults{
				ByOperation: map[string]emulator.FaultRates{emulator.OpCloudflarePurgeCache: tt.rates},
			}})
			status, header, env := MustCloudflarePost(t, srv, purgePath, "Bearer "+cloudflareTestToken, `{"purge_everything":true}`)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if got := header.Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After %q, want %q", got, tt.retry)
			}
			if tt.code != 0 && (len(env.Errors) != 1 || env.Errors[0].Code != tt.code) {
				t.Errorf("errors %+v, want code %d", env.Errors, tt.code)
			}
			if n := tt.count(e.InjectedFaults(emulator.OpCloudflarePurgeCache)); n != 1 {
				t.Errorf("counted %d, want 1", n)
			}
			if e.CloudflareCalls() != 1 {
				t.Errorf("CloudflareCalls %d, want 1", e.CloudflareCalls())
			}
			if tt.status != 200 && len(e.CloudflarePurges(cloudflareTestZone)) != 0 {
				t.Error("a fault left a purge behind")
			}
		})
	}
}

func TestCloudflarePurgesView(t *testing.T) {
	e, srv := MustStartCloudflareEmulator(t, emulator.Options{})
	e.AddCloudflareZone("0123456789abcdef0123456789abcdef")
	for _, body := range []string{`{"tags":["news"]}`, `{"purge_everything":true}`} {
		if status, _, env := MustCloudflarePost(t, srv, purgePath, "Bearer "+cloudflareTestToken, body); status != 200 {
			t.Fatalf("status %d: %+v", status, env.Errors)
		}
	}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get(emulator.CloudflarePurgesPathPrefix + cloudflareTestZone + "/purges")
	var got []emulator.CloudflarePurge
	if err := json.Unmarshal(body, &got); status != 200 || err != nil {
		t.Fatalf("status %d, %v: %s", status, err, body)
	}
	want := e.CloudflarePurges(cloudflareTestZone)
	if len(got) != 2 || got[0].ID != want[0].ID || got[0].Kind != "tags" || got[1].Kind != "everything" {
		t.Fatalf("view %+v, want %+v", got, want)
	}
	if status, body := get(emulator.CloudflarePurgesPathPrefix + "0123456789abcdef0123456789abcdef/purges"); status != 200 || string(body) != "[]" {
		t.Errorf("empty zone: %d %s, want 200 []", status, body)
	}
	if status, _ := get(emulator.CloudflarePurgesPathPrefix + "nosuchzone/purges"); status != 404 {
		t.Errorf("unknown zone: %d, want 404", status)
	}
}

func TestCloudflareTokenNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, srv := MustStartCloudflareEmulator(t, emulator.Options{Logger: log, CloudflareTokens: []string{"the-only-token"}})
	for _, auth := range []string{"Bearer " + cloudflareTestToken, "Bearer the-only-token", cloudflareTestToken} {
		MustCloudflarePost(t, srv, purgePath, auth, `{"purge_everything":true}`)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, secret := range []string{cloudflareTestToken, "the-only-token"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a token:\n%s", logs.String())
		}
	}
}
