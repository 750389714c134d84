package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdnpurge/cdnpurge/internal/buildtags"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

//go:embed testdata/function_url_event.json
var functionURLEventJSON []byte

const lambdaSecret = "lambda-signing-secret-0123456789" // 32 characters, as Slack's are

// lambdaCase is one Function URL event and what every way of serving it
// must answer.
type lambdaCase struct {
	name       string
	method     string
	path       string
	form       url.Values
	rawBody    string // instead of form
	base64     bool
	signWith   string // "" = lambdaSecret; "-" = unsigned
	wantStatus int
	wantType   string // response_type of the Slack reply; "" = no JSON body
	wantText   string
	created    bool
}

// lambdaNoMetrics is the Lambda's /metrics: none behind its Function
// URL, since it writes EMF.
var lambdaNoMetrics = lambdaCase{name: "no /metrics", method: "GET", path: "/metrics", signWith: "-", wantStatus: 404}

func commandForm(text, channel, trigger string) url.Values {
	return url.Values{
		"team_id": {"T1"}, "channel_id": {"C1234567890"}, "channel_name": {channel}, "user_id": {"U1"},
		"command": {"/cdn-purge"}, "text": {text}, "trigger_id": {trigger},
		// Loopback, and refused without the development setting: no follow-up
		// ever posts anywhere but this machine.
		"response_url": {"http://127.0.0.1:9/commands/T1/1/RESPONSETOKEN"},
	}
}

func lambdaCases() []lambdaCase {
	return []lambdaCase{
		{name: "base64 body", path: "/", form: commandForm("/blog/*", "deploys", "t.base64"), base64: true, wantStatus: 200, wantType: "in_channel", wantText: "Purging 1 path", created: true},
		{name: "plain body", path: "/slack/commands", form: commandForm("/a /b", "deploys", "t.plain"), wantStatus: 200, wantType: "in_channel", wantText: "Purging 2 paths", created: true},
		{name: "forged signature", path: "/", form: commandForm("/x", "deploys", "t.forged"), base64: true, signWith: "not-the-secret", wantStatus: 401},
		{name: "unsigned", path: "/", form: commandForm("/x", "deploys", "t.unsigned"), base64: true, signWith: "-", wantStatus: 401},
		{name: "refused channel", path: "/", form: commandForm("/x", "random", "t.refused"), base64: true, wantStatus: 200, wantType: "ephemeral", wantText: "may not purge"},
		{name: "bad path", path: "/", form: commandForm("/a*b", "deploys", "t.bad"), base64: true, wantStatus: 200, wantType: "ephemeral", wantText: "only as the last character"},
		{name: "ssl_check", path: "/", rawBody: "ssl_check=1&token=x", base64: true, wantStatus: 200},
		// Slack sends ssl_check unsigned; it is answered before the signature check.
		{name: "unsigned ssl_check", path: "/slack/commands", rawBody: "ssl_check=1&token=x", base64: true, signWith: "-", wantStatus: 200},
		{name: "healthz", method: "GET", path: "/healthz", signWith: "-", wantStatus: 200},
		{name: "wrong method", method: "GET", path: "/slack/commands", signWith: "-", wantStatus: 405},
	}
}

// event builds the Function URL event for c from the fixture.
func (c lambdaCase) event(t *testing.T) events.LambdaFunctionURLRequest {
	t.Helper()
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(functionURLEventJSON, &ev); err != nil {
		t.Fatal(err)
	}
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	body := c.rawBody
	if c.form != nil {
		body = c.form.Encode()
	}
	ev.RawPath, ev.RequestContext.HTTP.Path, ev.RequestContext.HTTP.Method = c.path, c.path, method
	ev.IsBase64Encoded = c.base64
	ev.Body = body
	if c.base64 {
		ev.Body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	delete(ev.Headers, "x-slack-signature")
	delete(ev.Headers, "x-slack-request-timestamp")
	if c.signWith != "-" {
		secret := c.signWith
		if secret == "" {
			secret = lambdaSecret
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		ev.Headers["x-slack-request-timestamp"] = ts
		ev.Headers["x-slack-signature"] = opensslSign(t, secret, ts, body)
	}
	return ev
}

// check compares a response with what the case wants.
func (c lambdaCase) check(t *testing.T, how string, status int, body string) {
	t.Helper()
	if status != c.wantStatus {
		t.Errorf("%s: status %d, want %d (%s)", how, status, c.wantStatus, body)
		return
	}
	if c.wantType == "" {
		return
	}
	var m struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: reply is not JSON: %v: %q", how, err, body)
	}
	if m.ResponseType != c.wantType || !strings.Contains(body, c.wantText) {
		t.Errorf("%s: reply %s, want %s containing %q", how, body, c.wantType, c.wantText)
	}
}

func lambdaConfig(endpoint string) config.Config {
	return config.Config{
		DistributionID:     defaultDistributionID,
		SigningSecret:      lambdaSecret,
		Channels:           slack.Channels{"deploys"},
		CloudFrontEndpoint: endpoint,
	}
}

// TestLambdaAnswersAsServe sends each event through the Lambda handler and
// the same request through the HTTP server, and wants the same answer.
func TestLambdaAnswersAsServe(t *testing.T) {
	a := mustStartApp(t, lambdaConfig(testutil.MustEmulator(t, time.Hour)), io.Discard)
	handle := functionURLHandler(a)
	for _, c := range lambdaCases() {
		t.Run(c.name, func(t *testing.T) {
			ev := c.event(t)
			resp, err := handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			body := resp.Body
			if resp.IsBase64Encoded {
				b, _ := base64.StdEncoding.DecodeString(resp.Body)
				body = string(b)
			}
			c.check(t, "lambda", resp.StatusCode, body)

			// The same request over HTTP.
			raw := []byte(ev.Body)
			if ev.IsBase64Encoded {
				raw, _ = base64.StdEncoding.DecodeString(ev.Body)
			}
			req, _ := http.NewRequest(ev.RequestContext.HTTP.Method, a.URL()+ev.RawPath, bytes.NewReader(raw))
			for k, v := range ev.Headers {
				req.Header.Set(k, v)
			}
			hresp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			hbody, _ := io.ReadAll(hresp.Body)
			hresp.Body.Close()
			if c.created {
				// The same delivery again: told it was taken, nothing new.
				c.wantType, c.wantText = "ephemeral", "This command was already taken"
			}
			c.check(t, "serve", hresp.StatusCode, string(hbody))
			if resp.StatusCode != hresp.StatusCode || resp.Headers["Content-Type"] != hresp.Header.Get("Content-Type") {
				t.Errorf("lambda %d %q, serve %d %q", resp.StatusCode, resp.Headers["Content-Type"], hresp.StatusCode, hresp.Header.Get("Content-Type"))
			}
		})
	}
}

// functionURLHandler calls the Lambda handler with Function URL events.
func functionURLHandler(a *app) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	h := a.lambdaHandler()
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		raw, err := json.Marshal(ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{}, err
		}
		out, err := h(ctx, raw)
		if err != nil {
			return events.LambdaFunctionURLResponse{}, err
		}
		return out.(events.LambdaFunctionURLResponse), nil
	}
}

// TestLambdaUnderRIE builds the real bootstrap and runs it under
// aws-lambda-rie, the Lambda runtime emulator, against the CloudFront
// emulator.
func TestLambdaUnderRIE(t *testing.T) {
	rie := findRIE(t)
	bootstrap := buildBootstrap(t)
	invoke, _ := startRIE(t, rie, bootstrap, []string{config.EnvCloudFrontEndpoint + "=" + testutil.MustEmulator(t, time.Hour)})
	// The bootstrap is the Lambda build: no Prometheus, so no /metrics.
	for i, c := range append(lambdaCases(), lambdaNoMetrics) {
		t.Run(c.name, func(t *testing.T) {
			payload, _ := json.Marshal(c.event(t))
			start := time.Now()
			resp, err := http.Post(invoke, "application/json", bytes.NewReader(payload))
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if i == 0 {
				t.Logf("first invoke (cold start included): %s", took)
			}
			var out events.LambdaFunctionURLResponse
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("invoke answered %d %q: %v", resp.StatusCode, raw, err)
			}
			body := out.Body
			if out.IsBase64Encoded {
				b, _ := base64.StdEncoding.DecodeString(out.Body)
				body = string(b)
			}
			c.check(t, "rie", out.StatusCode, body)
		})
	}
}

// buildBootstrap builds the Lambda binary as the deploy build does, with
// its build tags.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", strings.Join(buildtags.Lambda(), ","), "-trimpath", "-ldflags", "-s -w", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	return bootstrap
}

// startRIE runs bootstrap under aws-lambda-rie on loopback with the test
// configuration plus extraEnv, and returns the invoke URL once both of
// RIE's ports (its invoke API and the Runtime API the bootstrap calls)
// accept connections, and the output of RIE and the function. The
// function's output must never show the signing secret.
func startRIE(t *testing.T, rie, bootstrap string, extraEnv []string) (string, *testutil.LockedBuffer) {
	t.Helper()
	var out testutil.LockedBuffer
	r, err := testutil.StartRIE(testutil.RIEOptions{
		Path: rie, Bootstrap: bootstrap, Output: &out,
		Env: append([]string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			config.EnvDistributionID + "=" + defaultDistributionID,
			config.EnvSigningSecret + "=" + lambdaSecret,
			config.EnvChannels + "=deploys",
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		}, extraEnv...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Stop()
		if strings.Contains(out.String(), lambdaSecret) {
			t.Error("the function's output contains the signing secret")
		}
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", out.String())
		}
	})
	return r.InvokeURL(), &out
}

// findRIE finds aws-lambda-rie or skips the test with the reason.
func findRIE(t *testing.T) string {
	t.Helper()
	p, err := testutil.FindRIE()
	if err != nil {
		t.Skip(err)
	}
	return p
}
