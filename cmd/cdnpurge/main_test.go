package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func runCmd(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmdWith(t, nil, getenv, args...)
}

// runCmdWith is runCmd with settings s (nil: the defaults).
func runCmdWith(t *testing.T, s *settings, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = run(ctx, env{args: args, getenv: getenv, stdout: &out, stderr: &errOut, settings: s})
	return code, out.String(), errOut.String()
}

func TestDemo(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "demo", "--complete-after", "300ms")
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Purging 3 paths on `www`", "/about?lang=en", "requested by @alice",
		"audit post to the incoming webhook", "@alice in #deploys purged 3 paths",
		"nothing new was created", "HTTP 401", "this message will update", "/cdn-purge status", "is in progress",
		"replaces the reply", "✅ Purged 3 paths", "$ cdnpurge invalidate --wait /index.html", "Completed after",
		// The second target, on Cloudflare: one request a kind of item.
		"✅ Purged 3 items on `shop` (Cloudflare)", "in 3 requests", "files: https://shop.example.com/index.html",
		"prefixes: shop.example.com/cart/", "tags: launch", "@alice in #deploys purged 3 items on `shop` (Cloudflare)",
		"Not billed per purge, so not counted: shop (Cloudflare)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, nil, 2, "Usage:"},
		{"unknown command", []string{"purge-all"}, nil, 2, `unknown command "purge-all"`},
		{"help", []string{"help"}, nil, 0, ""},
		{"serve without configuration", []string{"serve", "--addr", "127.0.0.1:0"}, nil, 1, config.EnvSigningSecret + " is not set"},
		{"serve with a stray argument", []string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`},
		{"serve with a bad flag", []string{"serve", "--port", "1"}, nil, 2, "flag provided but not defined"},
		{"emulate with a bad distribution", []string{"emulate", "--distribution", "bad-id"}, nil, 2, "not a distribution ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			code, _, errOut := runCmd(t, getenv, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut+usage, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, tt.wantCode, errOut)
			}
			if tt.wantErr != "" && tt.wantCode != 0 && !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("stderr lacks %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}

// mustStartApp starts the whole service on a loopback port, logging to logs;
// it stops with the test.
func mustStartApp(tb testing.TB, cfg config.Config, logs io.Writer) *app {
	tb.Helper()
	return mustStartAppIn(tb, cfg, logs, modeServe, func(string) string { return "" })
}

// mustStartAppIn is mustStartApp in a mode (serve, lambda) with an
// environment; tune, if given, changes the server's settings before it
// serves.
func mustStartAppIn(tb testing.TB, cfg config.Config, logs io.Writer, mode string, getenv func(string) string, tune ...func(*http.Server)) *app {
	tb.Helper()
	a, err := newApp(context.Background(), cfg, getenv, newLogger(env{stderr: logs}, 0), mode)
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range tune {
		t(a.server)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	go a.Serve()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

// opensslSign signs as Slack does, with openssl instead of our Go code, so
// that the server is checked against a signer we did not write.
func opensslSign(t *testing.T, secret, timestamp, body string) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: cannot sign with an independent signer")
	}
	cmd := exec.Command(path, "dgst", "-sha256", "-hmac", secret, "-hex")
	cmd.Stdin = strings.NewReader("v0:" + timestamp + ":" + body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	// "SHA2-256(stdin)= 5f…" or "(stdin)= 5f…" depending on the version.
	fields := strings.Fields(string(out))
	return "v0=" + fields[len(fields)-1]
}

// TestServeEndToEnd runs the real server on loopback against the emulator,
// sends a command signed by openssl, and reads the invalidation back with
// the AWS CLI.
func TestServeEndToEnd(t *testing.T) {
	const secret = "e2e-signing-secret"
	emuURL := testutil.MustEmulator(t, time.Hour)
	cfg := config.Config{
		DistributionID:     defaultDistributionID,
		SigningSecret:      secret,
		Channels:           slack.Channels{"deploys"},
		CloudFrontEndpoint: emuURL,
	}
	var logs testutil.LockedBuffer
	a := mustStartApp(t, cfg, &logs)

	body := url.Values{
		"team_id": {"T1"}, "channel_id": {"C1234567890"}, "channel_name": {"deploys"}, "user_id": {"U1"},
		"command": {"/cdn-purge"}, "text": {"/blog/* /Index.html /café"}, "trigger_id": {"e2e.1.abc"},
		// Loopback, and refused without the development setting: no follow-up
		// ever posts anywhere but this machine.
		"response_url": {"http://127.0.0.1:9/commands/T1/1/RESPONSETOKEN"},
	}.Encode()
	post := func(sig string, skew time.Duration) (int, *slackapi.WebhookMessage) {
		ts := strconv.FormatInt(time.Now().Add(skew).Unix(), 10)
		if sig == "" {
			sig = opensslSign(t, secret, ts, body)
		}
		req, _ := http.NewRequest(http.MethodPost, a.URL()+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, nil
		}
		var m slackapi.WebhookMessage
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, &m
	}

	if status, _ := post("v0="+strings.Repeat("ab", 32), 0); status != http.StatusUnauthorized {
		t.Fatalf("forged: %d", status)
	}
	stale := opensslSign(t, secret, strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10), body)
	if status, _ := post(stale, -10*time.Minute); status != http.StatusUnauthorized {
		t.Fatalf("stale: %d", status)
	}
	status, m := post("", 0)
	if status != http.StatusOK || m.ResponseType != "in_channel" {
		t.Fatalf("signed: %d %+v", status, m)
	}
	id := invalidationID(m)
	if id == "" {
		t.Fatalf("no invalidation in %+v", m)
	}
	if _, again := post("", 0); invalidationID(again) != id {
		t.Fatalf("repeated delivery: %s then %s", id, invalidationID(again))
	}

	got := awsCLI(t, emuURL, "get-invalidation", "--distribution-id", defaultDistributionID, "--id", id)
	var inv struct {
		Invalidation struct {
			ID                string `json:"Id"`
			Status            string
			InvalidationBatch struct {
				CallerReference string
				Paths           struct{ Items []string }
			}
		}
	}
	if err := json.Unmarshal(got, &inv); err != nil {
		t.Fatalf("aws output: %v\n%s", err, got)
	}
	b := inv.Invalidation.InvalidationBatch
	if inv.Invalidation.ID != id || inv.Invalidation.Status != "InProgress" ||
		strings.Join(b.Paths.Items, " ") != "/blog/* /Index.html /caf%C3%A9" || b.CallerReference != "cdnpurge-slack-U1-e2e.1.abc" {
		t.Fatalf("the AWS CLI sees %+v", inv)
	}
	// The CLI's paginator drops Quantity from its output; count the items.
	var list struct {
		InvalidationList struct {
			Items []struct {
				ID string `json:"Id"`
			}
		}
	}
	if err := json.Unmarshal(awsCLI(t, emuURL, "list-invalidations", "--distribution-id", defaultDistributionID), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.InvalidationList.Items) != 1 {
		t.Fatalf("%d invalidations, want 1 (forged, stale and repeated requests create nothing)", len(list.InvalidationList.Items))
	}
	for _, secret := range []string{secret, "RESPONSETOKEN"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log leaks %q", secret)
		}
	}
}

// awsCLI runs `aws cloudfront ARGS --endpoint-url endpoint` and returns its
// JSON output.
func awsCLI(t *testing.T, endpoint string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(append([]string{"cloudfront"}, args...), "--endpoint-url", endpoint, "--output", "json")...)
	cmd.Env = []string{"PATH=" + getenvPath(), "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=example", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func getenvPath() string { return os.Getenv("PATH") }
