package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cdnpurge/cdnpurge/internal/buildtags"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// mustScrape gets baseURL's /metrics and returns cdnpurge's series, each
// as name{label="value",…} (a histogram by its _count), and the raw body.
func mustScrape(t *testing.T, baseURL string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v: %s", resp.StatusCode, err, raw)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	if families["go_goroutines"] == nil || families["process_start_time_seconds"] == nil {
		t.Error("/metrics lacks the Go and process collectors")
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "cdnpurge_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out, string(raw)
}

// moved is what changed between two scrapes.
func moved(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// checkMoved fails the test unless exactly want moved between the scrapes.
func checkMoved(t *testing.T, step string, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	got := moved(before, after)
	if !maps.Equal(got, want) {
		keys := slices.Sorted(maps.Keys(got))
		t.Errorf("%s: moved %v\n(%s)\nwant %v", step, got, strings.Join(keys, "\n "), want)
	}
}

// TestServeMetrics starts serve against the emulator and scrapes /metrics
// around a purge, a refusal and a CDN error: each moves its counters by
// exactly one, and nothing else moves. No label is a path, a user, a
// channel, an ID or a secret.
func TestServeMetrics(t *testing.T) {
	plain := emulator.New(emulator.Options{Distributions: []string{defaultDistributionID}, CompleteAfter: time.Hour})
	// CloudFront's in-progress limit, which the SDK does not retry.
	busy := emulator.New(emulator.Options{Distributions: []string{defaultDistributionID}, Faults: emulator.Faults{
		ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Busy: 1}},
	}})
	var failing atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			busy.ServeHTTP(w, r)
			return
		}
		plain.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := config.Config{
		DistributionID: defaultDistributionID, SigningSecret: lambdaSecret,
		Channels: slack.Channels{"deploys"}, CloudFrontEndpoint: front.URL,
	}
	a := mustStartApp(t, cfg, io.Discard)
	send := func(text, channel, trigger string) string {
		t.Helper()
		form := commandForm(text, channel, trigger)
		form.Set("user_id", "U123SECRETUSER")
		form.Set("channel_id", "C0SECRETCHAN")
		// No response_url: no follow-up, whose polls would move the
		// counters between the scrapes.
		form.Del("response_url")
		status, raw := postForm(t, a.URL(), form)
		if status != http.StatusOK {
			t.Fatalf("%q: %d %s", text, status, raw)
		}
		return string(raw)
	}

	before, _ := mustScrape(t, a.URL())
	for _, k := range []string{
		`cdnpurge_reply_duration_seconds_count{transport=http}`,
		`cdnpurge_followups_in_flight{}`,
	} {
		if _, ok := before[k]; !ok {
			t.Errorf("%s is not there from the start", k)
		}
	}

	steps := []struct {
		name, text, channel string
		failing             bool // CloudFront refuses the purge
		reply               string
		moved               map[string]float64
	}{
		{"purge", "/secret-path/index.html", "deploys", false, "Purging 1 path", map[string]float64{
			`cdnpurge_purges_total{outcome=ok,provider=cloudfront,target=default}`:                          1,
			`cdnpurge_cdn_requests_total{operation=CreateInvalidation,provider=cloudfront,result=ok}`:       1,
			`cdnpurge_cdn_request_duration_seconds_count{operation=CreateInvalidation,provider=cloudfront}`: 1,
			`cdnpurge_reply_duration_seconds_count{transport=http}`:                                         1,
		}},
		{"refusal", "/secret-path/a.html", "secret-channel", false, "may not purge", map[string]float64{
			`cdnpurge_refusals_total{rule=channels}`:                1,
			`cdnpurge_reply_duration_seconds_count{transport=http}`: 1,
		}},
		{"CDN error", "/secret-path/b.html", "deploys", true, "in progress", map[string]float64{
			`cdnpurge_purges_total{outcome=failed,provider=cloudfront,target=default}`:                          1,
			`cdnpurge_cdn_requests_total{operation=CreateInvalidation,provider=cloudfront,result=rate_limited}`: 1,
			`cdnpurge_cdn_request_duration_seconds_count{operation=CreateInvalidation,provider=cloudfront}`:     1,
			// The look at what is in flight, which explains the refusal.
			`cdnpurge_cdn_requests_total{operation=ListInvalidations,provider=cloudfront,result=ok}`:       1,
			`cdnpurge_cdn_request_duration_seconds_count{operation=ListInvalidations,provider=cloudfront}`: 1,
			`cdnpurge_reply_duration_seconds_count{transport=http}`:                                        1,
		}},
	}
	var body string
	for i, st := range steps {
		failing.Store(st.failing)
		if reply := send(st.text, st.channel, "m."+strconv.Itoa(i)); !strings.Contains(reply, st.reply) {
			t.Fatalf("%s: reply %s, want %q", st.name, reply, st.reply)
		}
		var after map[string]float64
		after, body = mustScrape(t, a.URL())
		checkMoved(t, st.name, before, after, st.moved)
		before = after
	}
	if got := busy.InjectedFaults(emulator.OpCreateInvalidation).Busy; got != 1 {
		t.Errorf("the emulator refused %d purges, want 1", got)
	}

	for _, leak := range []string{"secret-path", "U123SECRETUSER", "C0SECRETCHAN", "secret-channel", "deploys", defaultDistributionID, lambdaSecret, "m.0"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics shows %q", leak)
		}
	}
}

// TestSocketModeServesMetrics: in Socket Mode the listener keeps /healthz
// and /metrics, and no Slack route.
func TestSocketModeServesMetrics(t *testing.T) {
	cfg := config.Config{
		DistributionID: defaultDistributionID, Channels: slack.Channels{"deploys"},
		AppToken: "xapp-1-A0-1-metricstest", SealSecret: socketSealSecret,
		CloudFrontEndpoint: testutil.MustEmulator(t, time.Hour),
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := mustStartApp(t, cfg, io.Discard)
	got, body := mustScrape(t, a.URL())
	if _, ok := got[`cdnpurge_reply_duration_seconds_count{transport=socket_mode}`]; !ok {
		t.Errorf("no socket_mode reply latency in\n%s", body)
	}
	if strings.Contains(body, "xapp-") {
		t.Error("/metrics shows the app token")
	}
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/slack/commands": http.StatusNotFound} {
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestLambdaWritesEMF: a Function URL invocation that purges writes exactly
// one EMF line to stdout, which parses per the specification and counts the
// purge, the CloudFront call and the reply; an invocation that moves
// nothing writes none.
func TestLambdaWritesEMF(t *testing.T) {
	cfg := lambdaConfig(testutil.MustEmulator(t, time.Hour))
	a := mustStartAppIn(t, cfg, io.Discard, modeLambda, func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "cdnpurge-test"}[k]
	})
	// The handler writes before it returns.
	var stdout bytes.Buffer
	a.emfOut = &stdout
	handle := functionURLHandler(a)

	invoke := func(c lambdaCase) []string {
		t.Helper()
		resp, err := handle(context.Background(), c.event(t))
		if err != nil || resp.StatusCode != c.wantStatus {
			t.Fatalf("%s: %d %v", c.name, resp.StatusCode, err)
		}
		out := strings.TrimSuffix(stdout.String(), "\n")
		stdout.Reset()
		if out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}
	form := commandForm("/secret-path/*", "deploys", "emf.purge")
	form.Set("user_id", "U123SECRETUSER")
	lines := invoke(lambdaCase{name: "purge", path: "/", form: form, base64: true, wantStatus: 200})
	if len(lines) != 1 {
		t.Fatalf("%d EMF lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	doc := testutil.MustEMF(t, []byte(lines[0]))
	for k, want := range map[string]any{
		"cdnpurge_purges_total": 1.0, "provider": "cloudfront", "target": "default", "outcome": "ok",
		"cdnpurge_cdn_requests_total": 1.0, "operation": "CreateInvalidation", "result": "ok",
		"transport": "lambda",
	} {
		if doc[k] != want {
			t.Errorf("EMF %s = %v, want %v", k, doc[k], want)
		}
	}
	if v, ok := doc["cdnpurge_reply_duration_seconds"].([]any); !ok || len(v) != 1 {
		t.Errorf("EMF reply latency %v, want one observation", doc["cdnpurge_reply_duration_seconds"])
	}
	aws := doc["_aws"].(map[string]any)
	for _, d := range aws["CloudWatchMetrics"].([]any) {
		if ns := d.(map[string]any)["Namespace"]; ns != "cdnpurge" {
			t.Errorf("namespace %v", ns)
		}
	}
	for _, leak := range []string{"secret-path", "U123SECRETUSER", "C1234567890", defaultDistributionID, lambdaSecret, "RESPONSETOKEN"} {
		if strings.Contains(lines[0], leak) {
			t.Errorf("the EMF line shows %q", leak)
		}
	}

	if lines := invoke(lambdaCase{name: "healthz", method: "GET", path: "/healthz", signWith: "-", wantStatus: 200}); len(lines) != 0 {
		t.Errorf("an invocation that moved nothing wrote %q", lines)
	}
	// No Prometheus sink in the Lambda, and no /metrics.
	resp, err := handle(context.Background(), lambdaNoMetrics.event(t))
	if err != nil {
		t.Fatal(err)
	}
	lambdaNoMetrics.check(t, "lambda", resp.StatusCode, resp.Body)
	if stdout.Len() != 0 {
		t.Errorf("GET /metrics wrote %q", stdout.String())
	}
	lines = invoke(lambdaCase{name: "refused", path: "/", form: commandForm("/x", "random", "emf.refused"), base64: true, wantStatus: 200})
	if len(lines) != 1 {
		t.Fatalf("%d EMF lines for a refusal, want 1", len(lines))
	}
	doc = testutil.MustEMF(t, []byte(lines[0]))
	if doc["cdnpurge_refusals_total"] != 1.0 || doc["rule"] != "channels" || doc["cdnpurge_purges_total"] != nil {
		t.Errorf("refusal's EMF line: %s", lines[0])
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &parsed); err != nil {
		t.Fatal(err)
	}
}

// TestLambdaBuild runs, in the Lambda build (its tags, buildtags.Lambda),
// the tests that only that build has (metrics_lambda_test.go). It
// compiles this package's tests once more, so -short skips it.
func TestLambdaBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips compiling the tests with the Lambda build's tags")
	}
	cmd := exec.CommandContext(t.Context(), "go", "test", "-count=1", "-tags", strings.Join(buildtags.Lambda(), ","), "-run", "^TestLambdaBuildHasNoMetrics$", "-v", ".")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLambdaBuildHasNoMetrics") {
		t.Fatalf("go test -tags %s: %v\n%s", strings.Join(buildtags.Lambda(), ","), err, out)
	}
}

// TestCDNCallsCounted purges a target on each of the four providers
// through serve and checks that each provider's call counter moved by the
// calls its API saw: the emulator's counts for CloudFront (the purge and
// the follow-up's polls), Cloudflare and Fastly, and for varnishd the
// PURGE and the BAN the two items take.
func TestCDNCallsCounted(t *testing.T) {
	w := mustStartE2EWorld(t)
	a, send := w.mustServe(t, io.Discard)
	before, _ := mustScrape(t, a.URL())
	// runFourPurges without its checks, which call the APIs themselves.
	w.warmVarnish(t)
	for i, p := range e2ePurges {
		if m := send(t, p.text, "metrics."+strconv.Itoa(i)); !strings.Contains(m.Text, p.reply) {
			t.Fatalf("%q: reply %q, want %q", p.text, m.Text, p.reply)
		}
		w.audit.Next(t)
	}
	// The follow-up's last poll is made before it replaces the message.
	if done := w.responses.Next(t); !done.ReplaceOriginal {
		t.Fatalf("follow-up: %+v", done)
	}
	after, body := mustScrape(t, a.URL())
	for _, secret := range w.secrets() {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics shows a secret: %q", secret)
		}
	}
	got := map[string]float64{}
	for k, d := range moved(before, after) {
		if strings.HasPrefix(k, "cdnpurge_cdn_requests_total{") {
			got[k] = d
		}
	}
	key := func(provider, op string) string {
		return "cdnpurge_cdn_requests_total{operation=" + op + ",provider=" + provider + ",result=ok}"
	}
	want := map[string]float64{
		key("cloudflare", "purge_cache"): float64(w.emu.CloudflareCalls()),
		key("fastly", "purge_url"):       float64(w.emu.FastlyCalls(emulator.OpFastlyPurgeURL)),
		key("fastly", "purge"):           float64(w.emu.FastlyCalls(emulator.OpFastlyPurgeKey) + w.emu.FastlyCalls(emulator.OpFastlyPurgeKeys)),
		key("varnish", "purge"):          1,
		key("varnish", "ban"):            1,
	}
	for op, n := range w.emu.CallCounts() {
		if n > 0 {
			want[key("cloudfront", op)] = float64(n)
		}
	}
	for k, n := range want {
		if n == 0 {
			t.Errorf("%s: the API saw no call", k)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("CDN calls counted:\n%v\nwant (what the APIs saw):\n%v", got, want)
	}
}
