package lambdaurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzEvent feeds arbitrary Function URL events to the adapter and checks
// that the handler sees exactly the request the event describes: its method,
// its path (unescaped, "/" when empty), its query string, every header, and
// the body byte for byte (decoded from base64 when so marked); that Wrap
// answers every event, 400 exactly when Request refuses it, and never with a
// Go error; and that the response, as JSON on its way to Lambda, carries the handler's body
// back intact.
//
//	go test ./internal/lambdaurl -run '^$' -fuzz '^FuzzEvent$' -fuzztime 60s
func FuzzEvent(f *testing.F) {
	f.Add("POST", "/slack/commands", "a=b", "text=%2Fa", false, "X-Slack-Signature", "v0=abc", "text/plain", []byte("ok"))
	f.Fuzz(func(t *testing.T, method, path, query, body string, b64 bool, hk, hv, respType string, respBody []byte) {
		ev := events.LambdaFunctionURLRequest{
			RawPath: path, RawQueryString: query, Body: body, IsBase64Encoded: b64,
			Headers: map[string]string{hk: hv},
		}
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.DomainName = "id.lambda-url.us-east-1.on.aws"

		var seen *http.Request
		var seenBody []byte
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r
			seenBody, _ = io.ReadAll(r.Body)
			w.Header().Set("Content-Type", respType)
			w.Write(respBody)
		})
		resp, err := Wrap(h)(context.Background(), ev)
		if err != nil {
			t.Fatalf("Wrap returned a Go error: %v", err)
		}
		_, rerr := Request(context.Background(), ev)
		if (rerr != nil) != (resp.StatusCode == http.StatusBadRequest && seen == nil) {
			t.Fatalf("Request err %v, but Wrap answered %d (handler called: %v)", rerr, resp.StatusCode, seen != nil)
		}
		if rerr != nil {
			return
		}

		if seen.Method != method {
			t.Fatalf("method %q reached the handler as %q", method, seen.Method)
		}
		wantPath := path
		if wantPath == "" {
			wantPath = "/"
		}
		if p, err := url.PathUnescape(wantPath); err == nil {
			wantPath = p
		}
		if seen.URL.Path != wantPath {
			t.Fatalf("path %q reached the handler as %q (raw %q)", path, seen.URL.Path, seen.URL.RawPath)
		}
		if seen.URL.RawQuery != query {
			t.Fatalf("query %q reached the handler as %q", query, seen.URL.RawQuery)
		}
		want := []byte(body)
		if b64 {
			want, _ = base64.StdEncoding.DecodeString(body)
		}
		if !bytes.Equal(seenBody, want) || seen.ContentLength != int64(len(want)) {
			t.Fatalf("body %q reached the handler as %q (length %d)", want, seenBody, seen.ContentLength)
		}
		if hk != "" && http.CanonicalHeaderKey(hk) != "Host" && seen.Header.Get(hk) != hv {
			t.Fatalf("header %q: %q reached the handler as %q", hk, hv, seen.Header.Get(hk))
		}

		// The response travels to Lambda as JSON: read it back from there.
		raw, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		resp = events.LambdaFunctionURLResponse{}
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatal(err)
		}
		got := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if got, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				t.Fatalf("response body is not base64: %v", err)
			}
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, respBody) {
			t.Fatalf("response %d %q, want 200 %q", resp.StatusCode, got, respBody)
		}
	})
}
