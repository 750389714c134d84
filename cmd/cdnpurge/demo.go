package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/socketmode/socketmodetest"
)

// demoText is the sample command: a wildcard, a path it covers, a pasted URL
// with a query string, and a duplicate.
const demoText = "/blog/* /blog/2026/launch.html https://www.example.com/about?lang=en /index.html /index.html"

// demoShopText purges on the demo's Cloudflare target: a path, a prefix
// under a pasted URL and a cache tag, three kinds of item.
const demoShopText = "shop /index.html https://shop.example.com/cart/* #launch"

// demoZone is the demo's Cloudflare zone ID.
const demoZone = "0123456789abcdef0123456789abcdef"

// demoTargets is the demo's targets file: the tutorial's distribution as
// the default target, and a site on Cloudflare beside it.
const demoTargets = `default: www
targets:
  - name: www
    distribution: ` + defaultDistributionID + `
    domains: [www.example.com]
    channels: [deploys]
  - name: shop
    provider: cloudflare
    zone: ` + demoZone + `
    token_env: DEMO_CLOUDFLARE_TOKEN
    domains: [shop.example.com]
    channels: [deploys]
`

// demoNames are the display names of the demo's Slack IDs.
var demoNames = map[string]string{"U0DEMOALICE": "alice", "C0DEPLOYS01": "deploys"}

// runDemo is `cdnpurge demo`: the emulator, the server and a stand-in for
// Slack, all on loopback, and one correctly signed command through them.
// With --socket-mode the commands come over a Socket Mode stand-in's
// WebSocket instead, which cdnpurge connects out to with an app token, and
// nothing is signed.
func runDemo(ctx context.Context, e env) error {
	fs := newFlagSet("demo", e)
	completeAfter := fs.Duration("complete-after", 3*time.Second, "how long the emulated invalidation takes")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "also print the server's JSON log lines")
	socketMode := fs.Bool("socket-mode", false, "send the commands over Slack Socket Mode (a local stand-in's WebSocket) instead of signed HTTP POSTs")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	out := e.stdout
	logOut := io.Discard
	if *verbose {
		logOut = e.stderr
	}
	log := slog.New(slog.NewJSONHandler(logOut, nil))

	// 1. The emulator: CloudFront's API, and Cloudflare's for the second
	// target.
	cloudflareToken := randomHex(20)
	cdn := emulator.New(emulator.Options{
		Distributions: []string{defaultDistributionID}, CompleteAfter: *completeAfter, Logger: log,
		CloudflareZones: []string{demoZone}, CloudflareTokens: []string{cloudflareToken},
	})
	emu, err := startLocal(cdn)
	if err != nil {
		return err
	}
	defer emu.Close()

	// 2. A stand-in for Slack: it receives the audit webhook and response_url posts.
	slackIn := newSlackStandIn()
	standIn, err := startLocal(slackIn)
	if err != nil {
		return err
	}
	defer standIn.Close()

	// 3. The server, configured with the tutorial's settings and a targets
	// file of two targets: www on CloudFront, shop on Cloudflare.
	secret := randomHex(16)
	settings := map[string]string{
		config.EnvSigningSecret: secret,
	}
	var sock *socketmodetest.Server
	if *socketMode {
		// Socket Mode: an app token instead of the signing secret, and a
		// seal secret for the approval buttons; Slack's Web API is the
		// stand-in's.
		appToken := "xapp-1-A0DEMO-1-" + randomHex(16)
		sock = socketmodetest.New(appToken)
		defer sock.Close()
		settings = map[string]string{
			config.EnvSlackAppToken: appToken, config.EnvSealSecret: randomHex(16), config.EnvSlackAPIURL: sock.URL,
		}
	}
	cfg := config.FromEnv(func(k string) string {
		if v, ok := settings[k]; ok {
			return v
		}
		return map[string]string{
			config.EnvWebhookURL:         standIn.URL + "/services/T0DEMO/B0DEMO/" + randomHex(12),
			config.EnvCloudFrontEndpoint: emu.URL,
			config.EnvCloudflareEndpoint: emu.URL + "/client/v4",
			config.EnvDevAllowLoopback:   "1",
			config.EnvConfigYAML:         demoTargets,
			"DEMO_CLOUDFLARE_TOKEN":      cloudflareToken,
		}[k]
	})
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, func(string) string { return "" }, log, modeServe)
	if err != nil {
		return err
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	go a.Serve()
	socketDone := make(chan error, 1)
	sockCtx, stopSocket := context.WithCancel(ctx)
	if sock != nil {
		go func() { socketDone <- a.socket.Run(sockCtx) }()
	} else {
		socketDone <- nil
	}
	defer func() {
		stopSocket()
		<-socketDone
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(sctx)
	}()
	send := func(form url.Values, redelivered bool) (*slackapi.WebhookMessage, error) {
		if sock != nil {
			return sendEnvelope(ctx, sock, form, redelivered)
		}
		msg, status, err := sendSigned(ctx, a.URL()+"/slack/commands", secret, form.Encode())
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("the server answered %d", status)
		}
		return msg, err
	}

	fmt.Fprintf(out, "cdnpurge demo: the whole flow on this machine, with no AWS and no Slack\n\n")
	fmt.Fprintf(out, "  CDN emulator         %s  (CloudFront distribution %s, whose invalidations complete %s after they are created;\n"+
		"                       Cloudflare zone %s)\n", emu.URL, defaultDistributionID, *completeAfter, demoZone)
	fmt.Fprintf(out, "  targets              www (CloudFront, the default), shop (Cloudflare)\n")
	if sock != nil {
		if err := sock.WaitConnections(ctx, 1); err != nil {
			return err
		}
		fmt.Fprintf(out, "  Socket Mode          %s  (Slack's apps.connections.open and WebSocket: cdnpurge connected out to it\n"+
			"                       with an app token, as `cdnpurge serve` does with CDNPURGE_SLACK_APP_TOKEN; no public URL, no signature)\n", sock.URL)
	} else {
		fmt.Fprintf(out, "  cdnpurge server     %s  (the handler `cdnpurge serve` runs)\n", a.URL())
	}
	fmt.Fprintf(out, "  Slack stand-in       %s  (receives the webhook and response_url posts)\n\n", standIn.URL)

	// 4. The command, signed as Slack signs it.
	responseURL := standIn.URL + "/commands/T0DEMO/1/" + randomHex(12)
	form := url.Values{
		"team_id": {"T0DEMO"}, "team_domain": {"example"}, "channel_id": {"C0DEPLOYS01"}, "channel_name": {"deploys"},
		"user_id": {"U0DEMOALICE"}, "user_name": {"alice"}, "command": {"/cdn-purge"}, "text": {demoText},
		"response_url": {responseURL}, "trigger_id": {"1000000000001.1000000001." + randomHex(16)},
	}
	fmt.Fprintf(out, "@alice in #deploys types:\n  /cdn-purge %s\n\n", demoText)
	start := time.Now()
	reply, err := send(form, false)
	if err != nil {
		return err
	}
	took := time.Since(start)
	how := "reply"
	if sock != nil {
		how = "reply, carried by the envelope's acknowledgement"
	}
	fmt.Fprintf(out, "── "+how+", %s, after %s ──\n%s\n\n", visibility(reply), took.Round(100*time.Microsecond), renderMessage(reply, demoNames, "  "))
	id := invalidationID(reply)
	if id == "" {
		return errors.New("the reply names no invalidation")
	}

	// 5. The audit post the webhook received.
	select {
	case post := <-slackIn.posts:
		fmt.Fprintf(out, "── audit post to the incoming webhook (%s) ──\n%s\n\n", post.path, renderMessage(post.msg, demoNames, "  "))
	case <-time.After(5 * time.Second):
		return errors.New("no audit post reached the webhook stand-in")
	}

	// 6. A repeated delivery of the same command creates nothing new.
	again, err := send(form, true)
	if err != nil {
		return err
	}
	if invalidationID(again) != id {
		return fmt.Errorf("a repeated delivery created invalidation %s beside %s", invalidationID(again), id)
	}
	// Every background post the handler started has reached the stand-in
	// once Wait returns: an audit post of the repeat would be there now.
	if err := a.handler.Wait(ctx); err != nil {
		return err
	}
	if len(slackIn.posts) != 0 {
		return errors.New("the repeated delivery was announced again on the webhook")
	}
	why := "a repeated delivery, as a network or a proxy may cause"
	if sock != nil {
		why = "Slack redelivering the envelope, retry_attempt 1, as after a lost acknowledgement"
	}
	fmt.Fprintf(out, "── the same delivery again (%s), reply %s ──\n%s\n  same invalidation %s: CallerReference comes from Slack's trigger_id; nothing new was created or announced\n\n",
		why, visibility(again), renderMessage(again, demoNames, "  "), id)

	// 7. A forged request is refused; over Socket Mode nothing comes but
	// through the socket cdnpurge opened.
	if sock == nil {
		_, status, err := sendSigned(ctx, a.URL()+"/slack/commands", "not-the-secret", form.Encode())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "── the same command with a forged signature ──\n  HTTP %d, nothing created\n\n", status)
	} else {
		status, err := postStatus(ctx, a.URL()+"/slack/commands", form.Encode())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "── the same command POSTed to the HTTP listener ──\n  HTTP %d: in Socket Mode the listener serves only /healthz; nothing created\n\n", status)
	}

	// 8. Anyone may ask how it is going.
	form.Set("text", "status")
	form.Set("trigger_id", "1000000000002.1000000001."+randomHex(16))
	st, err := send(form, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "@alice types /cdn-purge status\n── reply, %s ──\n%s\n\n", visibility(st), renderMessage(st, demoNames, "  "))

	// And what this month's purges cost, from CloudFront's own record.
	form.Set("text", "usage")
	form.Set("trigger_id", "1000000000003.1000000001."+randomHex(16))
	us, err := send(form, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "@alice types /cdn-purge usage\n── reply, %s ──\n%s\n\n", visibility(us), renderMessage(us, demoNames, "  "))

	// 9. The server follows the invalidation and replaces the reply.
	select {
	case post := <-slackIn.posts:
		fmt.Fprintf(out, "── follow-up to response_url (%s), %s after the command: it replaces the reply ──\n%s\n\n",
			post.path, time.Since(start).Round(100*time.Millisecond), renderMessage(post.msg, demoNames, "  "))
		if !strings.Contains(post.msg.Text, "Purged") {
			return fmt.Errorf("the follow-up does not say the purge completed: %s", post.msg.Text)
		}
	case <-ctx.Done():
		return fmt.Errorf("no follow-up for %s before the timeout", id)
	}

	// 10. The second target is on Cloudflare: purged at once, one request
	// a kind of item, as Cloudflare's API takes them.
	form.Set("text", demoShopText)
	form.Set("trigger_id", "1000000000004.1000000001."+randomHex(16))
	fmt.Fprintf(out, "@alice types:\n  /cdn-purge %s\n", demoShopText)
	shop, err := send(form, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "── reply, %s ──\n%s\n", visibility(shop), renderMessage(shop, demoNames, "  "))
	if shop == nil || !strings.Contains(shop.Text, "Purged") {
		return fmt.Errorf("the Cloudflare target was not purged: %v", shop)
	}
	fmt.Fprintf(out, "  what the Cloudflare API received:\n")
	for _, p := range cdn.CloudflarePurges(demoZone) {
		fmt.Fprintf(out, "    POST /client/v4/zones/%s/purge_cache  %s: %s\n", demoZone, p.Kind, strings.Join(p.Items, " "))
	}
	select {
	case post := <-slackIn.posts:
		fmt.Fprintf(out, "── audit post to the incoming webhook (%s) ──\n%s\n\n", post.path, renderMessage(post.msg, demoNames, "  "))
	case <-time.After(5 * time.Second):
		return errors.New("no audit post of the Cloudflare purge reached the webhook stand-in")
	}

	// 11. The same from a terminal or a pipeline.
	cliEnv := func(k string) string {
		return map[string]string{config.EnvDistributionID: defaultDistributionID, config.EnvCloudFrontEndpoint: emu.URL}[k]
	}
	fmt.Fprintf(out, "From a terminal or a CI job:\n$ cdnpurge invalidate --wait /index.html\n")
	var cliOut strings.Builder
	if err := runInvalidate(ctx, env{args: []string{"--wait", "/index.html"}, getenv: cliEnv, stdout: &cliOut, stderr: &cliOut}); err != nil {
		return fmt.Errorf("cdnpurge invalidate: %w", err)
	}
	fmt.Fprintf(out, "%s\n", indent(cliOut.String(), "  "))
	fmt.Fprintf(out, "Done: invalidation %s completed, the channel was told, and the CLI waited for its own (exit 0).\n"+
		"Next: run `cdnpurge emulate` and point the AWS CLI or `cdnpurge serve` at it (see README.md).\n", id)
	return nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// localServer is an http.Server on a loopback port.
type localServer struct {
	URL string
	srv *http.Server
}

func startLocal(h http.Handler) (*localServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return &localServer{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *localServer) Close() { s.srv.Close() }

// slackStandIn receives what cdnpurge posts to Slack.
type slackStandIn struct{ posts chan slackPost }

type slackPost struct {
	path string // redacted
	msg  *slackapi.WebhookMessage
}

func newSlackStandIn() *slackStandIn { return &slackStandIn{posts: make(chan slackPost, 16)} }

func (s *slackStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg slackapi.WebhookMessage
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.posts <- slackPost{path: slack.RedactURL("http://" + r.Host + r.URL.Path), msg: &msg}
	io.WriteString(w, "ok")
}

// sendSigned posts a form signed as Slack signs requests and decodes the reply.
func sendSigned(ctx context.Context, target, secret, body string) (*slackapi.WebhookMessage, int, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK || len(bytes.TrimSpace(raw)) == 0 {
		return nil, resp.StatusCode, nil
	}
	var msg slackapi.WebhookMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("decode reply: %w", err)
	}
	return &msg, resp.StatusCode, nil
}

// sendEnvelope sends form's fields as a slash_commands envelope over the
// Socket Mode stand-in (redelivered: again, with retry_attempt 1), and
// returns the reply the acknowledgement carries.
func sendEnvelope(ctx context.Context, sock *socketmodetest.Server, form url.Values, redelivered bool) (*slackapi.WebhookMessage, error) {
	payload := map[string]string{}
	for k := range form {
		payload[k] = form.Get(k)
	}
	env := socketmodetest.Envelope{Type: "slash_commands", EnvelopeID: "env-" + form.Get("trigger_id"), Payload: payload, AcceptsResponsePayload: true}
	if redelivered {
		env.RetryAttempt, env.RetryReason = 1, "timeout"
	}
	if err := sock.Send(env); err != nil {
		return nil, err
	}
	ack, err := sock.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		return nil, err
	}
	var msg slackapi.WebhookMessage
	if err := json.Unmarshal(ack.Payload, &msg); err != nil {
		return nil, fmt.Errorf("decode the acknowledgement's reply: %w", err)
	}
	return &msg, nil
}

// postStatus posts an unsigned form and returns the status.
func postStatus(ctx context.Context, target, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// invalidationIDRE finds the invalidation a reply names: a started purge's
// "Invalidation `ID`", a repeat's "invalidation `ID`".
var invalidationIDRE = regexp.MustCompile("[Ii]nvalidation `([A-Z0-9]+)`")

// invalidationID finds the invalidation ID a reply names.
func invalidationID(msg *slackapi.WebhookMessage) string {
	if msg == nil {
		return ""
	}
	raw, _ := json.Marshal(msg)
	m := invalidationIDRE.FindSubmatch(raw)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func visibility(msg *slackapi.WebhookMessage) string {
	if msg.ResponseType == slackapi.ResponseTypeInChannel {
		return "seen by the whole channel"
	}
	return "seen only by the requester"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
