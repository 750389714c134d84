package lambdaurl

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// echo answers with what it received, so the tests see the request as the
// handler does.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.Header().Add("X-Multi", "x")
	w.Header().Add("X-Multi", "y")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, strings.Join([]string{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("X-Slack-Signature"), r.Header.Get("Cookie"), string(body)}, "|"))
})

func event(method, path, query, body string, b64 bool) events.LambdaFunctionURLRequest {
	ev := events.LambdaFunctionURLRequest{
		RawPath: path, RawQueryString: query, Body: body, IsBase64Encoded: b64,
		Headers: map[string]string{"x-slack-signature": "v0=abc", "host": "id.lambda-url.us-east-1.on.aws"},
		Cookies: []string{"c=3", "d=4"},
	}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.DomainName = "id.lambda-url.us-east-1.on.aws"
	return ev
}

func TestWrap(t *testing.T) {
	form := "text=%2Fblog%2F%2A&channel_id=C1"
	tests := []struct {
		name       string
		ev         events.LambdaFunctionURLRequest
		wantStatus int
		wantBody   string
	}{
		{"base64 body is decoded", event("POST", "/slack/commands", "", base64.StdEncoding.EncodeToString([]byte(form)), true), 202,
			"POST|/slack/commands||id.lambda-url.us-east-1.on.aws|v0=abc|c=3; d=4|" + form},
		{"plain body", event("POST", "/", "a=1&b=2", form, false), 202, "POST|/|a=1&b=2|id.lambda-url.us-east-1.on.aws|v0=abc|c=3; d=4|" + form},
		{"empty path is the root", event("GET", "", "", "", false), 202, "GET|/|"},
		{"escaped path", event("GET", "/a%20b", "", "", false), 202, "GET|/a b|"},
		{"bad base64", event("POST", "/", "", "%%%", true), 400, "Bad Request\n"},
		{"no method", event("", "/", "", "", false), 400, "Bad Request\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Wrap(echo)(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Body, tt.wantBody) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 202 {
				if resp.Headers["X-Multi"] != "x,y" || strings.Join(resp.Cookies, " ") != "a=1 b=2" || resp.IsBase64Encoded {
					t.Errorf("headers %v cookies %v base64 %v", resp.Headers, resp.Cookies, resp.IsBase64Encoded)
				}
			}
		})
	}
	if resp, _ := Wrap(echo)(context.Background(), event("POST", "/", "q=1", "", false)); !strings.Contains(resp.Body, "|q=1|") {
		t.Errorf("query lost: %q", resp.Body)
	}
}

func TestResponseBinaryIsBase64(t *testing.T) {
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	resp := Response(200, h, []byte{0, 1, 2})
	if !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString([]byte{0, 1, 2}) {
		t.Fatalf("binary body: %+v", resp)
	}
	resp = Response(200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"a":1}`))
	if resp.IsBase64Encoded || resp.Body != `{"a":1}` {
		t.Fatalf("JSON body: %+v", resp)
	}
}

// FuzzRequest feeds arbitrary events to the adapter: it never panics, and
// a base64 body reaches the handler decoded, byte for byte.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/", "", "dGV4dD0lMkZh", true)
	f.Add("POST", "/slack/commands", "a=b", "text=%2Fa", false)
	f.Add("GET", "/%zz", "%", "", false)
	f.Add("", "", "", "===", true)
	f.Fuzz(func(t *testing.T, method, path, query, body string, b64 bool) {
		req, err := Request(context.Background(), event(method, path, query, body, b64))
		if err != nil {
			return
		}
		got, _ := io.ReadAll(req.Body)
		want := []byte(body)
		if b64 {
			want, _ = base64.StdEncoding.DecodeString(body)
		}
		if string(got) != string(want) {
			t.Fatalf("body %q reached the handler as %q", want, got)
		}
		if req.Header.Get("X-Slack-Signature") != "v0=abc" {
			t.Fatal("headers lost")
		}
	})
}
