package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The secrets TestSecretsStaySecret runs with. Each is distinctive, so that
// finding it anywhere is a leak, and URL- and JSON-safe, so that no encoding
// hides one.
const (
	secretSigning      = "SIGNINGSECRET-4f1e9a7c"
	secretWebhookToken = "WEBHOOKTOKEN-2b8d6e0f"
	secretResponse     = "RESPONSETOKEN-9c3a5d1b"
	secretAWSKeyID     = "AKIASECRETKEYID4F1E9A"
	secretAWSKey       = "AWSSECRETACCESSKEY-7e2c4b9d"
	secretAWSSession   = "AWSSESSIONTOKEN-1d5f8a3e"
)

var allSecrets = []string{secretSigning, secretWebhookToken, secretResponse, secretAWSKeyID, secretAWSKey, secretAWSSession}

// secretsSlack plays Slack's incoming webhook (/services/…) and
// response_url (/commands/…); either can be told to fail with 500.
type secretsSlack struct {
	srv                       *httptest.Server
	failWebhook, failResponse atomic.Bool
	mu                        sync.Mutex
	bodies                    []string
	got                       chan string
}

func newSecretsSlack(t *testing.T) *secretsSlack {
	s := &secretsSlack{got: make(chan string, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		s.got <- r.URL.Path
		if (strings.HasPrefix(r.URL.Path, "/services/") && s.failWebhook.Load()) ||
			(strings.HasPrefix(r.URL.Path, "/commands/") && s.failResponse.Load()) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "internal_error")
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *secretsSlack) webhookURL() string {
	return s.srv.URL + "/services/T0/B0/" + secretWebhookToken
}
func (s *secretsSlack) responseURL() string { return s.srv.URL + "/commands/T1/1/" + secretResponse }

// wait waits for a post to a path starting with prefix.
func (s *secretsSlack) wait(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case p := <-s.got:
			if strings.HasPrefix(p, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("nothing posted to %s…", prefix)
		}
	}
}

// secretsCloudFront passes requests to the emulator, or answers as a
// failing CloudFront: AccessDenied, a hang, or a rejected signature whose
// message quotes the canonical request as AWS's SigV4 errors do (with the
// signed headers, the session token among them).
type secretsCloudFront struct {
	srv     *httptest.Server
	mode    atomic.Value // "", "denied", "hang", "signature"
	release chan struct{}
}

func newSecretsCloudFront(t *testing.T, emu string) *secretsCloudFront {
	c := &secretsCloudFront{release: make(chan struct{})}
	c.mode.Store("")
	target, _ := url.Parse(emu)
	proxy := httputil.NewSingleHostReverseProxy(target)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch c.mode.Load().(string) {
		case "denied":
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/cdnpurge/session is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::123456789012:distribution/%s</Message></Error><RequestId>r-denied</RequestId></ErrorResponse>`, defaultDistributionID)
		case "hang":
			// Read the body first: only then does the server notice the
			// client leaving and end r.Context.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-c.release:
			}
		case "signature":
			var canonical strings.Builder
			fmt.Fprintf(&canonical, "%s\n%s\n\n", r.Method, r.URL.Path)
			for _, h := range []string{"Host", "X-Amz-Date", "X-Amz-Security-Token"} {
				fmt.Fprintf(&canonical, "%s:%s\n", strings.ToLower(h), r.Header.Get(h))
			}
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. The Canonical String for this request should have been '%s' The String-to-Sign should have been 'AWS4-HMAC-SHA256 %s'</Message></Error><RequestId>r-sig</RequestId></ErrorResponse>`,
				xmlEscape(canonical.String()), xmlEscape(r.Header.Get("Authorization")))
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(c.srv.Close)
	t.Cleanup(func() { close(c.release) })
	return c
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;").Replace(s)
}

// secretsEnv sets the environment the app reads, secrets included.
func secretsEnv(t *testing.T, cf, webhook string) {
	for k, v := range map[string]string{
		config.EnvDistributionID: defaultDistributionID, config.EnvSigningSecret: secretSigning,
		config.EnvChannels: "deploys", config.EnvWebhookURL: webhook, config.EnvCloudFrontEndpoint: cf,
		config.EnvDevAllowLoopback: "1", config.EnvConfirm: "full-purge", config.EnvApproverMustDiffer: "1",
		"AWS_ACCESS_KEY_ID": secretAWSKeyID, "AWS_SECRET_ACCESS_KEY": secretAWSKey, "AWS_SESSION_TOKEN": secretAWSSession,
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
}

// slackRequest is a Slack request to the app at base, signed with secret
// at now+skew.
func slackRequest(t *testing.T, base, path, secret, body string, skew time.Duration) *http.Request {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Add(skew).Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(secret, ts, body))
	return req
}

// TestSecretsStaySecret runs the whole flow in-process, serve and Lambda,
// with known secrets in the environment the app reads: good commands, bad
// paths, refused channels, forged and stale signatures, an approval and its
// click, a failing webhook and a failing response_url, a CloudFront that
// denies access, one that hangs and one that quotes the signed request back,
// a failing self-invocation, and follow-up events. Then it scans every log
// line, every reply, every message Slack's stand-ins received and every
// error string for every secret.
func TestSecretsStaySecret(t *testing.T) {
	slk := newSecretsSlack(t)
	cf := newSecretsCloudFront(t, testutil.MustEmulator(t, 100*time.Millisecond))
	invokes := make(chan []byte, 16)
	var failInvoke atomic.Bool
	invokeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failInvoke.Load() {
			w.Header().Set("X-Amzn-Errortype", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"Type":"Service","message":"Lambda was unable to process the request"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		invokes <- body
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(invokeAPI.Close)
	secretsEnv(t, cf.srv.URL, slk.webhookURL())
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "cdnpurge-secrets")
	t.Setenv("CDNPURGE_LAMBDA_ENDPOINT", invokeAPI.URL)

	var logs testutil.LockedBuffer
	var mu sync.Mutex
	var seen []string // replies and error strings
	record := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }

	ctx := context.Background()
	_, a, err := appFromEnv(ctx, env{getenv: os.Getenv, stdout: &logs}, modeServe) // serve logs to stdout
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	_, lam, err := appFromEnv(ctx, env{getenv: os.Getenv, stderr: &logs}, modeLambda)
	if err != nil {
		t.Fatal(err)
	}
	lambdaHandle := lam.lambdaHandler()

	// lambdaCommand is a Function URL event carrying a signed command whose
	// response_url is the Slack stand-in's.
	lambdaCommand := func(t *testing.T, text, trigger string) []byte {
		f := commandForm(text, "deploys", trigger)
		f.Set("response_url", slk.responseURL())
		ev := lambdaCase{path: "/", form: f, base64: true, signWith: "-"}.event(t)
		signEvent(&ev, secretSigning, f.Encode())
		raw, _ := json.Marshal(ev)
		return raw
	}
	form := func(text, channel, trigger string) string {
		v := commandForm(text, channel, trigger)
		v.Set("response_url", slk.responseURL())
		return v.Encode()
	}
	send := func(t *testing.T, req *http.Request) (int, *slackapi.WebhookMessage) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		record(string(body))
		var m slackapi.WebhookMessage
		if resp.StatusCode == http.StatusOK && len(body) > 0 {
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("reply: %v: %s", err, body)
			}
			return resp.StatusCode, &m
		}
		return resp.StatusCode, nil
	}
	command := func(t *testing.T, text, channel, trigger string) (int, *slackapi.WebhookMessage) {
		t.Helper()
		return send(t, slackRequest(t, a.URL(), "/slack/commands", secretSigning, form(text, channel, trigger), 0))
	}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"good command, audited and followed up", func(t *testing.T) {
			if status, m := command(t, "/blog/* /index.html", "deploys", "t.good"); status != 200 || m.ResponseType != "in_channel" {
				t.Fatalf("%d %+v", status, m)
			}
			slk.wait(t, "/services/")
			slk.wait(t, "/commands/")
		}},
		{"bad path", func(t *testing.T) {
			if _, m := command(t, "/a*b", "deploys", "t.bad"); m.ResponseType != "ephemeral" {
				t.Fatalf("%+v", m)
			}
		}},
		{"refused channel", func(t *testing.T) {
			if _, m := command(t, "/a", "random", "t.refused"); m.ResponseType != "ephemeral" {
				t.Fatalf("%+v", m)
			}
		}},
		{"forged signature", func(t *testing.T) {
			if status, _ := send(t, slackRequest(t, a.URL(), "/", "forged-secret", form("/a", "deploys", "t.forged"), 0)); status != 401 {
				t.Fatalf("%d", status)
			}
		}},
		{"stale signature", func(t *testing.T) {
			if status, _ := send(t, slackRequest(t, a.URL(), "/", secretSigning, form("/a", "deploys", "t.stale"), -time.Hour)); status != 401 {
				t.Fatalf("%d", status)
			}
		}},
		{"approval and click, with a failing response_url", func(t *testing.T) {
			_, ask := command(t, "", "deploys", "t.approve")
			value := buttonValue(t, ask, slack.ActionApprove)
			slk.failResponse.Store(true)
			defer slk.failResponse.Store(false)
			payload, _ := json.Marshal(map[string]any{
				"type": "block_actions", "user": map[string]string{"id": "U2"}, "team": map[string]string{"id": "T1"},
				"channel": map[string]string{"id": "C1234567890", "name": "deploys"}, "response_url": slk.responseURL(),
				"actions": []map[string]string{{"action_id": slack.ActionApprove, "block_id": "cdnpurge_confirm", "type": "button", "value": value}},
			})
			body := url.Values{"payload": {string(payload)}}.Encode()
			if status, _ := send(t, slackRequest(t, a.URL(), "/slack/interactions", secretSigning, body, 0)); status != 200 {
				t.Fatalf("click: %d", status)
			}
			slk.wait(t, "/commands/")
		}},
		{"failing webhook", func(t *testing.T) {
			slk.failWebhook.Store(true)
			defer slk.failWebhook.Store(false)
			command(t, "/webhook-fails", "deploys", "t.webhook")
			if err := a.handler.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"CloudFront denies access", func(t *testing.T) {
			cf.mode.Store("denied")
			defer cf.mode.Store("")
			if _, m := command(t, "/denied", "deploys", "t.denied"); m.ResponseType != "ephemeral" || !strings.Contains(m.Text, "IAM") {
				t.Fatalf("%+v", m)
			}
		}},
		{"CloudFront quotes the signed request back", func(t *testing.T) {
			cf.mode.Store("signature")
			defer cf.mode.Store("")
			if _, m := command(t, "/signature", "deploys", "t.signature"); m.ResponseType != "ephemeral" {
				t.Fatalf("%+v", m)
			}
		}},
		{"CloudFront hangs", func(t *testing.T) {
			cf.mode.Store("hang")
			defer cf.mode.Store("")
			// The purge is handed to the follow-up, which keeps trying.
			if _, m := command(t, "/hang", "deploys", "t.hang"); m.ResponseType != "in_channel" || !strings.Contains(m.Text, "has not taken it yet") {
				t.Fatalf("%+v", m)
			}
		}},
		{"Lambda: command, self-invocation, follow-up event and its repeat", func(t *testing.T) {
			out, err := lambdaHandle(ctx, lambdaCommand(t, "/lambda", "t.lambda"))
			if err != nil {
				t.Fatal(err)
			}
			resp := out.(events.LambdaFunctionURLResponse)
			record(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(resp.Body, "in_channel") {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			var payload []byte
			select {
			case payload = <-invokes:
			case <-time.After(10 * time.Second):
				t.Fatal("no self-invocation")
			}
			for range 2 {
				if _, err := lambdaHandle(ctx, payload); err != nil {
					record(err.Error())
				}
			}
			slk.wait(t, "/commands/")
		}},
		{"Lambda: failing self-invocation, broken events", func(t *testing.T) {
			failInvoke.Store(true)
			defer failInvoke.Store(false)
			out, err := lambdaHandle(ctx, lambdaCommand(t, "/lambda-noinvoke", "t.noinvoke"))
			if err != nil {
				t.Fatal(err)
			}
			record(out.(events.LambdaFunctionURLResponse).Body)
			broken, _ := followup.MarshalEvent(followup.Request{DistributionID: defaultDistributionID, ResponseURL: slk.responseURL()}, 0)
			for _, raw := range [][]byte{broken, []byte(`"not an event"`)} {
				if _, err := lambdaHandle(ctx, raw); err != nil {
					record(err.Error())
				}
			}
		}},
		{"configuration errors", func(t *testing.T) {
			cfg := config.FromEnv(func(k string) string {
				switch k {
				case config.EnvWebhookURL:
					return "http://hooks.example.com/services/T0/B0/" + secretWebhookToken
				case config.EnvDevAllowLoopback:
					// Without it the test's short signing secret is
					// refused too, and that error must not show it either.
					return ""
				}
				return os.Getenv(k)
			})
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), config.EnvSigningSecret+" is shorter") {
				t.Fatalf("a webhook off Slack's host and a short signing secret were accepted: %v", err)
			}
			record(err.Error())
			record(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg))
			for _, u := range []string{slk.responseURL(), "https://evil.example/commands/" + secretResponse} {
				if err := (&slack.Poster{}).Post(ctx, u, slack.EphemeralMessage("x")); err != nil {
					record(err.Error())
				}
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, s.run)
	}

	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := errors.Join(a.Close(cctx), lam.handler.Wait(cctx)); err != nil {
		record(err.Error())
	}

	slk.mu.Lock()
	posted := slk.bodies
	slk.mu.Unlock()
	if len(posted) < 4 {
		t.Fatalf("only %d posts reached Slack's stand-ins: the flow did not run", len(posted))
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for _, want := range []string{"audit webhook failed", "AccessDenied", "SignatureDoesNotMatch", "follow-up"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q: the step did not run as meant", want)
		}
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %s", l)
		}
	}
	sources := map[string][]string{"log line": lines, "reply or error": seen, "Slack post": posted}
	for kind, texts := range sources {
		for _, text := range texts {
			for _, secret := range allSecrets {
				if strings.Contains(text, secret) {
					t.Errorf("a %s shows %s:\n%s", kind, secret, text)
				}
			}
		}
	}
	t.Logf("scanned %d log lines, %d replies and errors, %d Slack posts", len(lines), len(seen), len(posted))
}

// signEvent signs a Function URL event's body with secret as Slack does,
// in Go, so that the test needs no openssl.
func signEvent(ev *events.LambdaFunctionURLRequest, secret, body string) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	ev.Headers["x-slack-request-timestamp"] = ts
	ev.Headers["x-slack-signature"] = slack.Signature(secret, ts, body)
}

// buttonValue finds the value of the button actionID in msg.
func buttonValue(t *testing.T, msg *slackapi.WebhookMessage, actionID string) string {
	t.Helper()
	if msg != nil && msg.Blocks != nil {
		for _, b := range msg.Blocks.BlockSet {
			if ab, ok := b.(*slackapi.ActionBlock); ok {
				for _, el := range ab.Elements.ElementSet {
					if btn, ok := el.(*slackapi.ButtonBlockElement); ok && btn.ActionID == actionID {
						return btn.Value
					}
				}
			}
		}
	}
	t.Fatalf("no %s button in %+v", actionID, msg)
	return ""
}
