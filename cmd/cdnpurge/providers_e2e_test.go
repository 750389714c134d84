package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// fourTargetsYAML is one targets file with a target on each provider: www
// on CloudFront, shop on Cloudflare, news on Fastly (soft), media on
// Varnish, whose url is VARNISH_URL until the test knows where its
// varnishd listens.
//
//go:embed testdata/four-targets.yaml
var fourTargetsYAML string

// What fourTargetsYAML names.
const (
	e2eZone      = "023e105f4ecef8ad9ca31a8372d0c353"
	e2eService   = "SU1Z0isxPaozGVKXdv0eY"
	e2eMediaHost = "media.example.com"
	e2eCFEnv     = "E2E_SHOP_CLOUDFLARE_TOKEN"
	e2eFastlyEnv = "E2E_NEWS_FASTLY_TOKEN"
	e2eFunction  = "cdnpurge-e2e"
)

// e2eWorld is everything the four targets are purged through, on loopback:
// the emulator (CloudFront, Cloudflare's and Fastly's APIs) behind a front
// that can turn on it, the real varnishd in front of an origin that counts
// its hits, and stand-ins for Slack's audit webhook and response_url.
type e2eWorld struct {
	emu     *emulator.Emulator
	url     string // the front's URL: the three APIs' endpoint
	origin  *hitCounter
	varnish *testutil.Varnish
	// audit is the audit webhook; responses the commands' response_url.
	audit, responses *testutil.SlackInbox
	// The secrets: the providers' tokens (random, recognizable), the
	// webhook's and the response_url's tokens.
	cloudflareToken, fastlyToken, webhookToken, responseToken string

	// echo, while set, makes the front answer Cloudflare's and Fastly's
	// APIs with a refusal that quotes the request's credentials; echoed
	// counts those answers.
	echo   atomic.Bool
	echoed atomic.Int32

	mu      sync.Mutex
	replies []string // every reply's raw body, for the secrets scan
}

// mustStartE2EWorld starts the world; everything stops with the test. It
// skips the test when varnishd is not installed.
func mustStartE2EWorld(t *testing.T) *e2eWorld {
	t.Helper()
	w := &e2eWorld{
		cloudflareToken: "CLOUDFLARETOKEN-" + randomHex(12),
		fastlyToken:     "FASTLYTOKEN-" + randomHex(12),
		webhookToken:    "E2EWEBHOOKTOKEN-" + randomHex(8),
		responseToken:   "E2ERESPONSETOKEN-" + randomHex(8),
		origin:          &hitCounter{hits: map[string]int{}},
	}
	origin := httptest.NewServer(w.origin)
	t.Cleanup(origin.Close)
	w.varnish = testutil.MustStartVarnish(t, testutil.CdnpurgeVCL(t), strings.TrimPrefix(origin.URL, "http://"))
	// The invalidation completes soon, so that serve's follow-up posts.
	w.emu = emulator.New(emulator.Options{
		Distributions: []string{defaultDistributionID}, CompleteAfter: 200 * time.Millisecond,
		CloudflareZones: []string{e2eZone}, CloudflareTokens: []string{w.cloudflareToken},
		FastlyServices: []string{e2eService}, FastlyTokens: []string{w.fastlyToken},
	})
	front := httptest.NewServer(http.HandlerFunc(w.serveFront))
	t.Cleanup(front.Close)
	w.url = front.URL
	w.audit = testutil.NewSlackInbox(t, w.webhookToken)
	w.responses = testutil.NewSlackInbox(t, w.responseToken)
	return w
}

// serveFront passes a request to the emulator or, while echo is set,
// refuses a Cloudflare or Fastly call with its credentials quoted back in
// the provider's error format, as a careless proxy or API might answer.
func (w *e2eWorld) serveFront(rw http.ResponseWriter, r *http.Request) {
	if !w.echo.Load() {
		w.emu.ServeHTTP(rw, r)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/client/v4/"):
		w.echoed.Add(1)
		rw.WriteHeader(http.StatusForbidden)
		msg, _ := json.Marshal("Authentication error: token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + " may not purge")
		fmt.Fprintf(rw, `{"success":false,"errors":[{"code":10000,"message":%s}],"messages":[],"result":null}`, msg)
	case strings.HasPrefix(p, "/purge/"), strings.HasPrefix(p, "/service/"):
		w.echoed.Add(1)
		rw.WriteHeader(http.StatusForbidden)
		detail, _ := json.Marshal("Fastly-Key " + r.Header.Get("Fastly-Key") + " lacks the purge_select scope")
		fmt.Fprintf(rw, `{"msg":"Forbidden","detail":%s}`, detail)
	default:
		w.emu.ServeHTTP(rw, r)
	}
}

// vars is the environment cdnpurge runs with: the targets file, the
// endpoints, the Slack settings and the tokens.
func (w *e2eWorld) vars() map[string]string {
	return map[string]string{
		config.EnvConfigYAML:         strings.ReplaceAll(fourTargetsYAML, "VARNISH_URL", w.varnish.URL),
		config.EnvSigningSecret:      lambdaSecret,
		config.EnvWebhookURL:         w.audit.URL,
		config.EnvCloudFrontEndpoint: w.url,
		config.EnvCloudflareEndpoint: w.url + "/client/v4",
		config.EnvFastlyEndpoint:     w.url,
		config.EnvDevAllowLoopback:   "1",
		e2eCFEnv:                     w.cloudflareToken,
		e2eFastlyEnv:                 w.fastlyToken,
	}
}

// secrets are what must never show in a log line, a reply or a post.
func (w *e2eWorld) secrets() []string {
	return []string{w.cloudflareToken, w.fastlyToken, w.webhookToken, w.responseToken, lambdaSecret}
}

// mustServe starts serve on the world, logging to logs, and returns it
// with the function that sends it a signed slash command.
func (w *e2eWorld) mustServe(t *testing.T, logs io.Writer) (*app, e2eSend) {
	t.Helper()
	vars := w.vars()
	getenv := func(k string) string { return vars[k] }
	cfg := config.FromEnv(getenv)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := mustStartAppIn(t, cfg, logs, modeServe, getenv)
	return a, func(t *testing.T, text, trigger string) *slackapi.WebhookMessage {
		t.Helper()
		status, raw := postForm(t, a.URL(), w.form(text, trigger))
		return w.reply(t, text, status, raw)
	}
}

// form is a slash command of text whose response_url is the world's.
func (w *e2eWorld) form(text, trigger string) url.Values {
	f := commandForm(text, "deploys", trigger)
	f.Set("response_url", w.responses.URL)
	return f
}

// reply decodes a reply's raw body and keeps it for the secrets scan.
func (w *e2eWorld) reply(t *testing.T, text string, status int, raw []byte) *slackapi.WebhookMessage {
	t.Helper()
	w.mu.Lock()
	w.replies = append(w.replies, string(raw))
	w.mu.Unlock()
	var m slackapi.WebhookMessage
	if err := json.Unmarshal(raw, &m); status != http.StatusOK || err != nil {
		t.Fatalf("%q: status %d, %v: %s", text, status, err, raw)
	}
	return &m
}

// fetch gets path of the Varnish target's site through varnishd.
func (w *e2eWorld) fetch(t *testing.T, path string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.varnish.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = e2eMediaHost
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s through varnish: %d", path, resp.StatusCode)
	}
}

// e2eCached are the Varnish site's paths the tests fetch: the first two
// are purged (a file and, under /img/*, a prefix), the last is not.
var e2eCached = []string{"/page.html", "/img/x", "/other.html"}

// warmVarnish fetches every path twice: the origin sees each once, the
// second fetch is Varnish's cached copy. Varnish answers a fetch only after
// the origin answered it, so the counts need no waiting.
func (w *e2eWorld) warmVarnish(t *testing.T) {
	t.Helper()
	for _, p := range e2eCached {
		w.fetch(t, p)
		w.fetch(t, p)
		if n := w.origin.Hits(p); n != 1 {
			t.Fatalf("the origin saw %d requests for %s after two fetches, want 1: Varnish does not cache it", n, p)
		}
	}
}

// hitCounter is the origin behind Varnish: it counts requests by path and
// lets every answer be cached an hour.
type hitCounter struct {
	mu   sync.Mutex
	hits map[string]int
}

func (o *hitCounter) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.hits[r.URL.Path]++
	n := o.hits[r.URL.Path]
	o.mu.Unlock()
	rw.Header().Set("Cache-Control", "max-age=3600")
	fmt.Fprintf(rw, "%s%s #%d\n", r.Host, r.URL.Path, n)
}

// Hits is how many requests the origin saw for path.
func (o *hitCounter) Hits(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

// e2eSend sends text as a signed slash command (its trigger_id: trigger)
// and returns the reply.
type e2eSend func(t *testing.T, text, trigger string) *slackapi.WebhookMessage

// e2ePurges are the four purges, one a target, and what the reply and
// the audit post say of each.
var e2ePurges = []struct {
	text, reply, audit string
}{
	{"www /blog/*", "Purging 1 path on `www`", "purged 1 path on `www`"},
	{"shop /index.html #launch", "Purged 2 items on `shop` (Cloudflare)", "purged 2 items on `shop` (Cloudflare)"},
	{"news /a.html #k1", "Purged 2 items on `news` (Fastly, soft: marked stale, not evicted)", "purged 2 items on `news` (Fastly, soft: marked stale, not evicted)"},
	{"media /page.html /img/*", "Purged 2 items on `media` (Varnish)", "purged 2 items on `media` (Varnish)"},
}

// runFourPurges warms Varnish, sends the four purges, checks each reply
// and its audit post, then what each backend recorded. It returns the
// CloudFront invalidation's ID.
func runFourPurges(t *testing.T, w *e2eWorld, send e2eSend, triggerPrefix string) string {
	t.Helper()
	w.warmVarnish(t)
	var id string
	for i, p := range e2ePurges {
		m := send(t, p.text, triggerPrefix+strconv.Itoa(i))
		if m.ResponseType != slackapi.ResponseTypeInChannel || !strings.Contains(m.Text, p.reply) {
			t.Fatalf("%q: reply %s %q, want in_channel with %q", p.text, m.ResponseType, m.Text, p.reply)
		}
		if i == 0 {
			if id = invalidationID(m); id == "" {
				t.Fatalf("%q: the reply names no invalidation: %q", p.text, m.Text)
			}
		}
		// The audit post of each purge, before the next is sent.
		if post := w.audit.Next(t); !strings.Contains(post.Text, p.audit) {
			t.Errorf("%q: audit post %q, want %q", p.text, post.Text, p.audit)
		}
	}
	checkCloudFront(t, w, id)
	checkCloudflare(t, w)
	checkFastly(t, w)
	checkVarnish(t, w)
	return id
}

// checkCloudFront reads the invalidation back from the emulator, through
// the CloudFront API: the only one, of /blog/*.
func checkCloudFront(t *testing.T, w *e2eWorld, id string) {
	t.Helper()
	inv := testutil.NewInvalidator(w.url)
	page, err := inv.ListInvalidations(t.Context(), defaultDistributionID, purge.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("CloudFront lists %+v, want only %s", page.Items, id)
	}
	got, err := inv.GetInvalidation(t.Context(), defaultDistributionID, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Paths, " ") != "/blog/*" {
		t.Errorf("invalidation %s has paths %q, want /blog/*", id, got.Paths)
	}
}

// checkCloudflare: one request a kind, the file as a full URL on the
// zone's domain, the tag as typed.
func checkCloudflare(t *testing.T, w *e2eWorld) {
	t.Helper()
	var got []string
	for _, p := range w.emu.CloudflarePurges(e2eZone) {
		got = append(got, p.Kind+": "+strings.Join(p.Items, " "))
	}
	if want := "files: https://shop.example.com/index.html | tags: launch"; strings.Join(got, " | ") != want {
		t.Errorf("Cloudflare purged %q, want %q", got, want)
	}
}

// checkFastly: the URL and the key, each soft.
func checkFastly(t *testing.T, w *e2eWorld) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  []emulator.FastlyPurge
		kind string
		item string
	}{
		{"URL purges", w.emu.FastlyURLPurges(), emulator.FastlyKindURL, "news.example.com/a.html"},
		{"key purges", w.emu.FastlyPurges(e2eService), emulator.FastlyKindKeys, "k1"},
	} {
		if len(c.got) != 1 || c.got[0].Kind != c.kind || strings.Join(c.got[0].Items, " ") != c.item || !c.got[0].Soft {
			t.Errorf("Fastly's %s: %+v, want one soft %s purge of %s", c.name, c.got, c.kind, c.item)
		}
	}
}

// checkVarnish: the purged file and the banned prefix are fetched from the
// origin again; the path not purged is still Varnish's copy.
func checkVarnish(t *testing.T, w *e2eWorld) {
	t.Helper()
	for i, p := range e2eCached {
		w.fetch(t, p)
		want := 2
		if i == len(e2eCached)-1 {
			want = 1
		}
		if n := w.origin.Hits(p); n != want {
			t.Errorf("after the purge the origin saw %d requests for %s, want %d", n, p, want)
		}
	}
}

// runEchoedCredentials sends a purge to the Cloudflare and the Fastly
// target while their APIs refuse it quoting the token back: each reply is
// an ephemeral error, and the secrets scan after it finds no token.
func runEchoedCredentials(t *testing.T, w *e2eWorld, send e2eSend, triggerPrefix string) {
	t.Helper()
	w.echo.Store(true)
	defer w.echo.Store(false)
	before := w.echoed.Load()
	for i, text := range []string{"shop /echo.html", "news /echo.html"} {
		if m := send(t, text, triggerPrefix+strconv.Itoa(i)); m.ResponseType != slackapi.ResponseTypeEphemeral || strings.Contains(m.Text, "Purged") {
			t.Errorf("%q refused by the provider: reply %s %q, want an ephemeral error", text, m.ResponseType, m.Text)
		}
	}
	if n := w.echoed.Load() - before; n < 2 {
		t.Fatalf("the front echoed the credentials %d times, want at least 2: the step did not run", n)
	}
}

// assertNoSecrets fails the test for every secret found in any text of
// sources (by kind of source), and for a source with nothing in it, which
// would prove nothing.
func assertNoSecrets(t *testing.T, secrets []string, sources map[string][]string) {
	t.Helper()
	for kind, texts := range sources {
		if len(texts) == 0 {
			t.Errorf("no %s to scan: the flow did not run", kind)
		}
		for _, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("a %s shows the secret %s:\n%s", kind, s, text)
				}
			}
		}
	}
}

// postTexts is every message posted to the inboxes, as JSON.
func postTexts(inboxes ...*testutil.SlackInbox) []string {
	var out []string
	for _, in := range inboxes {
		for _, m := range in.Posts() {
			raw, _ := json.Marshal(m)
			out = append(out, string(raw))
		}
	}
	return out
}

// TestFourProvidersThroughServe runs `serve` on loopback with one targets
// file of four targets, one on each provider, with the Cloudflare and
// Fastly tokens in the variables token_env names: refusals first (Fastly
// has no prefix purge; Cloudflare and Fastly keep no history), then one
// purge a target, each answered, audited and found in its backend's own
// record, then the tokens quoted back by failing APIs; no secret shows in
// a log line, a reply or a post.
func TestFourProvidersThroughServe(t *testing.T) {
	w := mustStartE2EWorld(t)
	var logs testutil.LockedBuffer
	a, send := w.mustServe(t, &logs)

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			text string
			want []string
		}{
			{"news /blog/*", []string{"Fastly cannot purge by prefix", "`/blog/*`", "surrogate key (`#tag`)"}},
			{"status news", []string{"`news` is on Fastly, which keeps no record of purges"}},
			{"list shop", []string{"`shop` is on Cloudflare, which keeps no record of purges"}},
		}
		for i, tt := range tests {
			t.Run(tt.text, func(t *testing.T) {
				m := send(t, tt.text, "e2e.refused."+strconv.Itoa(i))
				if m.ResponseType != slackapi.ResponseTypeEphemeral {
					t.Errorf("reply is %q, want ephemeral: %q", m.ResponseType, m.Text)
				}
				for _, want := range tt.want {
					if !strings.Contains(m.Text, want) {
						t.Errorf("reply %q lacks %q", m.Text, want)
					}
				}
			})
		}
		// Every post the handler started has been answered once Wait
		// returns, and the inbox records a post before it answers it.
		if err := a.handler.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		w.audit.NoMore(t)
		for op, n := range w.emu.FastlyCallCounts() {
			if n != 0 {
				t.Errorf("a refused purge reached Fastly's API: %s called %d times", op, n)
			}
		}
	})

	t.Run("four purges", func(t *testing.T) {
		id := runFourPurges(t, w, send, "e2e.serve.")
		// serve follows the CloudFront invalidation and replaces the reply
		// once it completes; the others have nothing to follow.
		if done := w.responses.Next(t); !done.ReplaceOriginal || !strings.Contains(done.Text, "Purged 1 path on `www`") || !strings.Contains(done.Text, id) {
			t.Errorf("follow-up: %+v", done)
		}
	})

	t.Run("tokens quoted back", func(t *testing.T) {
		runEchoedCredentials(t, w, send, "e2e.serve.echo.")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Error(err)
	}
	w.responses.NoMore(t)
	w.mu.Lock()
	replies := w.replies
	w.mu.Unlock()
	// The refusals quoting the tokens were logged: the scan has them.
	for _, want := range []string{`"target":"shop"`, `"target":"news"`, `"outcome":"permission_denied"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s: the scan below proves little\n%s", want, logs.String())
		}
	}
	assertNoSecrets(t, w.secrets(), map[string][]string{
		"log line":   strings.Split(strings.TrimSpace(logs.String()), "\n"),
		"reply":      replies,
		"Slack post": postTexts(w.audit, w.responses),
	})
}

// rieSend sends a signed slash command as a Function URL event to the
// function under RIE at invoke. It is signed in Go (signEvent), not by
// openssl: the tests that use it need only aws-lambda-rie and their
// world's programs.
func (w *e2eWorld) rieSend(invoke string) e2eSend {
	return func(t *testing.T, text, trigger string) *slackapi.WebhookMessage {
		t.Helper()
		f := w.form(text, trigger)
		ev := lambdaCase{path: "/", form: f, base64: true, signWith: "-"}.event(t)
		signEvent(&ev, lambdaSecret, f.Encode())
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(invoke, "application/json", bytes.NewReader(payload))
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out events.LambdaFunctionURLResponse
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("invoke answered %d %q: %v", resp.StatusCode, raw, err)
		}
		body := []byte(out.Body)
		if out.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
				t.Fatal(err)
			}
		}
		return w.reply(t, text, out.StatusCode, body)
	}
}

// TestFourProvidersUnderRIE builds the real bootstrap and runs it under
// aws-lambda-rie with the same targets file in CDNPURGE_CONFIG_YAML and
// the tokens in its environment, sends the same four purges as Function
// URL events, checks the same records, and scans the function's output,
// the replies, the posts and its self-invocation for every secret.
func TestFourProvidersUnderRIE(t *testing.T) {
	rie := findRIE(t)
	w := mustStartE2EWorld(t)
	bootstrap := buildBootstrap(t)
	// The CloudFront purge's follow-up is handed to a new invocation of the
	// function: a stand-in for the Invoke API takes it.
	api := newInvokeAPI(t, e2eFunction)
	extra := []string{"AWS_LAMBDA_FUNCTION_NAME=" + e2eFunction, "CDNPURGE_LAMBDA_ENDPOINT=" + api.URL}
	for k, v := range w.vars() {
		extra = append(extra, k+"="+v)
	}
	invoke, output := startRIE(t, rie, bootstrap, extra)
	send := w.rieSend(invoke)

	var invoked []string
	t.Run("four purges", func(t *testing.T) {
		id := runFourPurges(t, w, send, "e2e.rie.")
		fe := string(api.next(t))
		if !strings.Contains(fe, id) {
			t.Errorf("the self-invocation does not follow %s: %s", id, fe)
		}
		invoked = append(invoked, fe)
	})
	t.Run("tokens quoted back", func(t *testing.T) {
		runEchoedCredentials(t, w, send, "e2e.rie.echo.")
	})
	api.noMore(t)

	if !strings.Contains(output.String(), `"outcome":"permission_denied"`) {
		t.Errorf("the function's output lacks the refusals quoting the tokens: the scan below proves little\n%s", output.String())
	}
	w.mu.Lock()
	replies := w.replies
	w.mu.Unlock()
	assertNoSecrets(t, w.secrets(), map[string][]string{
		"line of the function's output": strings.Split(strings.TrimSpace(output.String()), "\n"),
		"reply":                         replies,
		"Slack post":                    postTexts(w.audit, w.responses),
	})
	// The self-invocation carries the response_url, for the next
	// invocation to post to: only the providers' tokens must be absent.
	assertNoSecrets(t, []string{w.cloudflareToken, w.fastlyToken}, map[string][]string{"self-invocation": invoked})
}
