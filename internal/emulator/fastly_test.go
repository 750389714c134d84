package emulator_test

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// Fastly's documented answers and a request, from testdata.
var (
	//go:embed testdata/fastly_purge_keys_request.json
	fastlyKeysRequest string
	//go:embed testdata/fastly_unauthorized_response.json
	fastlyUnauthorized string
	//go:embed testdata/fastly_no_such_service_response.json
	fastlyNoSuchService string
)

// The Fastly service and token every Fastly test emulator knows.
const (
	testService     = "SU1Z0isxPaozGVKXdv0eY"
	testFastlyToken = "fastly-test-token-d41d8cd9"
)

// MustStartFastly serves an emulator that knows testService and takes
// only testFastlyToken, with faults, on a loopback httptest server.
func MustStartFastly(tb testing.TB, faults emulator.Faults) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	e := emulator.New(emulator.Options{
		FastlyServices: []string{testService},
		FastlyTokens:   []string{testFastlyToken},
		Faults:         faults,
	})
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return e, srv
}

// fastlyRequest is one request to the emulator's Fastly API.
type fastlyRequest struct {
	method string
	path   string
	header map[string]string // Fastly-Key is testFastlyToken unless set here ("" removes it)
	body   string
}

// MustDoFastly sends r to srv and returns the status, the headers and the
// body of the answer.
func MustDoFastly(tb testing.TB, srv *httptest.Server, r fastlyRequest) (int, http.Header, string) {
	tb.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Fastly-Key", testFastlyToken)
	for k, v := range r.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// fastlyKeys returns n distinct surrogate keys.
func fastlyKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	return keys
}

func keysBody(keys []string) string {
	b, _ := json.Marshal(map[string][]string{"surrogate_keys": keys})
	return string(b)
}

// TestFastlyWire checks the emulator's Fastly purge API: paths, auth,
// bodies, answers and errors, and what each purge records.
func TestFastlyWire(t *testing.T) {
	servicePath := "/service/" + testService
	soft := map[string]string{"Fastly-Soft-Purge": "1"}
	tests := []struct {
		name       string
		req        fastlyRequest
		wantStatus int
		wantBody   string // exact, when set
		wantKeys   []string
		wantMsg    string // the error's msg, when set
		service    string // where the purge is recorded
		want       *emulator.FastlyPurge
		op         string // the operation counted; "" for none
	}{
		{"url", fastlyRequest{path: "/purge/www.example.com/blog/post"}, 200, "", nil, "", "",
			&emulator.FastlyPurge{Kind: "url", Items: []string{"www.example.com/blog/post"}}, emulator.OpFastlyPurgeURL},
		{"url with query and escapes, soft", fastlyRequest{path: "/purge/www.example.com/a%20b?id=1&x=%2F", header: soft}, 200, "", nil, "", "",
			&emulator.FastlyPurge{Kind: "url", Items: []string{"www.example.com/a%20b?id=1&x=%2F"}, Soft: true}, emulator.OpFastlyPurgeURL},
		{"url without a host", fastlyRequest{path: "/purge/"}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeURL},
		{"url without a token", fastlyRequest{path: "/purge/www.example.com/", header: map[string]string{"Fastly-Key": ""}}, 401,
			strings.TrimSpace(fastlyUnauthorized), nil, "", "", nil, emulator.OpFastlyPurgeURL},
		{"keys in the body", fastlyRequest{path: servicePath + "/purge", body: fastlyKeysRequest}, 200, "",
			[]string{"news", "sports"}, "", testService, &emulator.FastlyPurge{Kind: "keys", Items: []string{"news", "sports"}}, emulator.OpFastlyPurgeKeys},
		{"keys in the header, soft", fastlyRequest{path: servicePath + "/purge", header: map[string]string{"Surrogate-Key": " a  b c ", "Fastly-Soft-Purge": "1"}}, 200, "",
			[]string{"a", "b", "c"}, "", testService, &emulator.FastlyPurge{Kind: "keys", Items: []string{"a", "b", "c"}, Soft: true}, emulator.OpFastlyPurgeKeys},
		{"256 keys", fastlyRequest{path: servicePath + "/purge", body: keysBody(fastlyKeys(256))}, 200, "",
			fastlyKeys(256), "", testService, &emulator.FastlyPurge{Kind: "keys", Items: fastlyKeys(256)}, emulator.OpFastlyPurgeKeys},
		{"257 keys", fastlyRequest{path: servicePath + "/purge", body: keysBody(fastlyKeys(257))}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeKeys},
		{"no keys", fastlyRequest{path: servicePath + "/purge", body: `{"surrogate_keys":[]}`}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeKeys},
		{"no body", fastlyRequest{path: servicePath + "/purge"}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeKeys},
		{"not JSON", fastlyRequest{path: servicePath + "/purge", body: "news sports"}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeKeys},
		{"a key with a space", fastlyRequest{path: servicePath + "/purge", body: `{"surrogate_keys":["a b"]}`}, 400, "", nil, "Bad request", "", nil, emulator.OpFastlyPurgeKeys},
		{"keys, wrong token", fastlyRequest{path: servicePath + "/purge", body: keysBody([]string{"a"}), header: map[string]string{"Fastly-Key": "other"}}, 401, "",
			nil, "Provided credentials are missing or invalid", "", nil, emulator.OpFastlyPurgeKeys},
		{"keys, unknown service", fastlyRequest{path: "/service/SNOSUCHSERVICE/purge", body: keysBody([]string{"a"})}, 404,
			strings.TrimSpace(fastlyNoSuchService), nil, "", "", nil, emulator.OpFastlyPurgeKeys},
		{"one key", fastlyRequest{path: servicePath + "/purge/news", header: soft}, 200, "", nil, "", testService,
			&emulator.FastlyPurge{Kind: "keys", Items: []string{"news"}, Soft: true}, emulator.OpFastlyPurgeKey},
		{"purge all", fastlyRequest{path: servicePath + "/purge_all"}, 200, `{"status":"ok"}`, nil, "", testService,
			&emulator.FastlyPurge{Kind: "all"}, emulator.OpFastlyPurgeAll},
		{"purge all has no soft form", fastlyRequest{path: servicePath + "/purge_all", header: soft}, 200, `{"status":"ok"}`, nil, "", testService,
			&emulator.FastlyPurge{Kind: "all"}, emulator.OpFastlyPurgeAll},
		{"purge all, unknown service", fastlyRequest{path: "/service/SNOSUCHSERVICE/purge_all"}, 404, "", nil, "Record not found", "", nil, emulator.OpFastlyPurgeAll},
		{"wrong method", fastlyRequest{method: http.MethodGet, path: servicePath + "/purge_all"}, 405, "", nil, "Method not allowed", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartFastly(t, emulator.Faults{})
			status, header, body := MustDoFastly(t, srv, tt.req)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body %s, want %s", body, tt.wantBody)
			}
			checkFastlyAnswer(t, tt.req, status, body, tt.wantKeys, tt.wantMsg)

			var all []emulator.FastlyPurge
			for _, svc := range []string{"", testService} {
				all = append(all, e.FastlyPurges(svc)...)
			}
			switch {
			case tt.want == nil && len(all) > 0:
				t.Errorf("recorded %+v, want nothing", all)
			case tt.want != nil:
				got := e.FastlyPurges(tt.service)
				if len(got) != 1 || len(all) != 1 {
					t.Fatalf("recorded %+v under %q, want one purge", all, tt.service)
				}
				if got[0].Time.IsZero() {
					t.Error("purge recorded without a time")
				}
				if (got[0].ID == "") != (tt.want.Kind == "all") {
					t.Errorf("purge ID %q for a purge of kind %s", got[0].ID, tt.want.Kind)
				}
				g := got[0]
				g.ID, g.Time = "", tt.want.Time
				if !reflect.DeepEqual(&g, tt.want) {
					t.Errorf("recorded %+v, want %+v", g, *tt.want)
				}
			}
			for _, op := range emulator.FastlyOperations() {
				want := 0
				if op == tt.op {
					want = 1
				}
				if got := e.FastlyCalls(op); got != want {
					t.Errorf("FastlyCalls(%s) = %d, want %d", op, got, want)
				}
			}
		})
	}
}

// checkFastlyAnswer checks the body of an answer: a purge's JSON answer
// for 200, with an ID per key of wantKeys for a bulk key purge, or Fastly's
// JSON error with wantMsg.
func checkFastlyAnswer(t *testing.T, req fastlyRequest, status int, body string, wantKeys []string, wantMsg string) {
	t.Helper()
	if status != http.StatusOK {
		var e struct{ Msg, Detail string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Msg == "" {
			t.Fatalf("error body %s is not Fastly's JSON error (%v)", body, err)
		}
		if wantMsg != "" && e.Msg != wantMsg {
			t.Errorf("msg %q, want %q", e.Msg, wantMsg)
		}
		return
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	if wantKeys != nil {
		if len(m) != len(wantKeys) {
			t.Errorf("answer has %d keys, want %d", len(m), len(wantKeys))
		}
		for _, k := range wantKeys {
			if m[k] == "" {
				t.Errorf("answer has no purge ID for key %q", k)
			}
		}
		return
	}
	if m["status"] != "ok" {
		t.Errorf("answer %s, want status ok", body)
	}
	if !strings.HasSuffix(req.path, "/purge_all") && m["id"] == "" {
		t.Errorf("answer %s has no purge ID", body)
	}
}

// TestFastlyFaults checks the injected faults of the Fastly operations:
// 429 with Retry-After and 503, in Fastly's JSON, with nothing purged.
func TestFastlyFaults(t *testing.T) {
	tests := []struct {
		name       string
		rates      emulator.FaultRates
		wantStatus int
		wantRetry  bool
		count      func(emulator.FaultCounts) int
	}{
		{"throttle", emulator.FaultRates{Throttle: 1}, http.StatusTooManyRequests, true, func(c emulator.FaultCounts) int { return c.Throttled }},
		{"unavailable", emulator.FaultRates{Unavailable: 1}, http.StatusServiceUnavailable, false, func(c emulator.FaultCounts) int { return c.Unavailable }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartFastly(t, emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpFastlyPurgeKeys: tt.rates}})
			status, header, body := MustDoFastly(t, srv, fastlyRequest{path: "/service/" + testService + "/purge", body: keysBody([]string{"a"})})
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			checkFastlyAnswer(t, fastlyRequest{}, status, body, nil, "")
			if got := header.Get("Retry-After") != ""; got != tt.wantRetry {
				t.Errorf("Retry-After %q, want one: %v", header.Get("Retry-After"), tt.wantRetry)
			}
			if got := e.FastlyPurges(testService); len(got) != 0 {
				t.Errorf("a faulted request purged %+v", got)
			}
			if got := tt.count(e.InjectedFaults(emulator.OpFastlyPurgeKeys)); got != 1 {
				t.Errorf("injected %d, want 1", got)
			}
			if got := e.FastlyCalls(emulator.OpFastlyPurgeKeys); got != 1 {
				t.Errorf("FastlyCalls = %d, want 1", got)
			}
			// The other operations are not faulted.
			if status, _, body := MustDoFastly(t, srv, fastlyRequest{path: "/service/" + testService + "/purge_all"}); status != http.StatusOK {
				t.Errorf("purge_all: %d %s", status, body)
			}
		})
	}
}

// TestFastlyViews checks the JSON views of the Fastly state and that the
// Fastly routes leave the CloudFront ones alone.
func TestFastlyViews(t *testing.T) {
	_, srv := MustStartFastly(t, emulator.Faults{})
	MustDoFastly(t, srv, fastlyRequest{path: "/purge/www.example.com/a"})
	MustDoFastly(t, srv, fastlyRequest{path: "/service/" + testService + "/purge", body: keysBody([]string{"a", "b"})})
	MustDoFastly(t, srv, fastlyRequest{path: "/service/" + testService + "/purge_all"})

	tests := []struct {
		name, path string
		wantKinds  []string
	}{
		{"service", emulator.FastlyPurgesPath + "?service=" + testService, []string{"keys", "all"}},
		{"URL purges", emulator.FastlyPurgesPath, []string{"url"}},
		{"unknown service", emulator.FastlyPurgesPath + "?service=SNOSUCH", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := MustDoFastly(t, srv, fastlyRequest{method: http.MethodGet, path: tt.path})
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var purges []emulator.FastlyPurge
			if err := json.Unmarshal([]byte(body), &purges); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			kinds := []string{}
			for _, p := range purges {
				kinds = append(kinds, p.Kind)
			}
			if !reflect.DeepEqual(kinds, tt.wantKinds) {
				t.Errorf("kinds %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
	t.Run("calls", func(t *testing.T) {
		_, _, body := MustDoFastly(t, srv, fastlyRequest{method: http.MethodGet, path: emulator.FastlyCallsPath})
		var calls map[string]int
		if err := json.Unmarshal([]byte(body), &calls); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		want := map[string]int{emulator.OpFastlyPurgeURL: 1, emulator.OpFastlyPurgeKeys: 1, emulator.OpFastlyPurgeAll: 1, emulator.OpFastlyPurgeKey: 0}
		if !reflect.DeepEqual(calls, want) {
			t.Errorf("calls %v, want %v", calls, want)
		}
	})
	t.Run("CloudFront and Cloudflare paths are not Fastly's", func(t *testing.T) {
		for _, path := range []string{"/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation", "/client/v4/zones/z/purge_cache", "/service/", "/purgeall"} {
			// Fastly's answers carry "msg" (errors) or "status" (purges);
			// Cloudflare's JSON envelope has neither.
			status, _, body := MustDoFastly(t, srv, fastlyRequest{path: path})
			if strings.Contains(body, `"msg"`) || strings.Contains(body, `"status"`) {
				t.Errorf("POST %s: answered by the Fastly API (%d %s)", path, status, body)
			}
		}
	})
}
