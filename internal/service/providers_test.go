package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/fastlycdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const (
	testZone    = "0123456789abcdef0123456789abcdef"
	testService = "SU1Z0isxPaozGVKXdv0eY"
)

// providerRig is a Service over three targets, each on its own provider:
// www on CloudFront (the in-process emulator), shop on Cloudflare and news
// on Fastly (the emulator's APIs of both, through the real providers).
type providerRig struct {
	svc *Service
	emu *emulator.Emulator
	www purge.Invalidator
}

func mustProviderRig(t *testing.T) *providerRig {
	t.Helper()
	emu := emulator.New(emulator.Options{CloudflareZones: []string{testZone}, FastlyServices: []string{testService}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cf, err := cloudflarecdn.New(cloudflarecdn.Options{ZoneID: testZone, Token: "cf-token", Domains: []string{"shop.example.com"}, Endpoint: srv.URL + "/client/v4"})
	if err != nil {
		t.Fatal(err)
	}
	fastly, err := fastlycdn.New(fastlycdn.Options{ServiceID: testService, Token: "fastly-token", Domains: []string{"news.example.com"}, Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	deploys := slack.Channels{"deploys"}
	targets, err := access.NewTargets([]access.Target{
		{Name: "www", DistributionID: testDist, Domains: []string{"www.example.com"}, Channels: deploys},
		{Name: "shop", Domains: []string{"shop.example.com"}, Channels: deploys},
		{Name: "news", Domains: []string{"news.example.com"}, Channels: deploys},
	}, "www")
	if err != nil {
		t.Fatal(err)
	}
	www := testutil.NewInProcessInvalidator(time.Hour)
	svc := New(Options{
		SealSecret: testSecret, Invalidator: www, Targets: targets,
		Providers: map[string]purge.Provider{"shop": cf, "news": fastly},
		Poster:    &slack.Poster{HTTPClient: &http.Client{Transport: &slackOutbox{}}, Attempts: 1},
	})
	t.Cleanup(func() { svc.Wait(context.Background()) })
	return &providerRig{svc: svc, emu: emu, www: www}
}

func (r *providerRig) invalidations(t *testing.T) int {
	t.Helper()
	page, err := r.www.ListInvalidations(context.Background(), testDist, purge.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// TestProviders drives purges of targets on three providers through the
// service: each answered as its provider did it, each backend's record
// proving what it purged, refusals sending nothing.
func TestProviders(t *testing.T) {
	r := mustProviderRig(t)
	ctx := context.Background()

	// A Cloudflare purge: done at once, one request a kind.
	got := r.svc.Command(ctx, command("shop /index.html #Launch"))
	started, ok := got.(slack.Started)
	if !ok || !started.Purge.Synchronous || started.Purge.Provider != "Cloudflare" || started.Purge.Invalidation.Requests != 2 {
		t.Fatalf("shop: %#v", got)
	}
	purges := r.emu.CloudflarePurges(testZone)
	if len(purges) != 2 || purges[0].Kind != "files" || purges[0].Items[0] != "https://shop.example.com/index.html" || purges[1].Kind != "tags" || purges[1].Items[0] != "Launch" {
		t.Fatalf("Cloudflare saw %+v", purges)
	}
	if text := slack.Render(got).Text; !strings.Contains(text, "Purged 2 items on `shop` (Cloudflare)") {
		t.Errorf("reply %q", text)
	}

	// The same delivery again purges nothing: Cloudflare is not
	// idempotent, so the service claimed the purge before making it.
	if again, ok := r.svc.Command(ctx, command("shop /index.html #Launch")).(slack.Repeat); !ok || !again.Synchronous {
		t.Fatalf("repeat: %#v", again)
	}
	if n := len(r.emu.CloudflarePurges(testZone)); n != 2 {
		t.Fatalf("the repeat purged again: %d purges", n)
	}

	// Fastly cannot purge a prefix: refused, nothing sent.
	refused, ok := r.svc.Command(ctx, command("news /blog/*")).(slack.Failed)
	if !ok || !errors.Is(refused.Err, purge.ErrUnsupported) ||
		!strings.Contains(purge.ErrorMessage(refused.Err), "Fastly cannot purge by prefix (`/blog/*`): use a surrogate key (`#tag`) or purge everything (`/*`)") {
		t.Fatalf("news /blog/*: %#v", refused)
	}
	if calls := r.emu.FastlyCallCounts(); calls[emulator.OpFastlyPurgeURL]+calls[emulator.OpFastlyPurgeKeys]+calls[emulator.OpFastlyPurgeAll] != 0 {
		t.Fatalf("a refused purge reached Fastly: %v", calls)
	}

	// Fastly and Cloudflare keep no history.
	for _, text := range []string{"status news", "list shop"} {
		if nh, ok := r.svc.Command(ctx, command(text)).(slack.NoHistory); !ok || nh.Provider == "" {
			t.Errorf("%s: %#v", text, nh)
		}
	}

	// Usage counts CloudFront and names the targets not billed.
	if u, ok := r.svc.Command(ctx, command("usage")).(slack.Usage); !ok || strings.Join(u.NotBilled, ", ") != "shop (Cloudflare), news (Fastly)" {
		t.Errorf("usage: %#v", u)
	}
}

// TestPurgeMany: one command on several targets is checked on each, and
// purged on all or on none.
func TestPurgeMany(t *testing.T) {
	r := mustProviderRig(t)
	ctx := context.Background()

	got := r.svc.Command(ctx, command("www shop news /index.html"))
	many, ok := got.(slack.ManyPurged)
	if !ok || len(many.Results) != 3 {
		t.Fatalf("reply %#v", got)
	}
	for _, res := range many.Results {
		if res.Err != nil || res.Repeat {
			t.Errorf("%s: %+v", res.Purge.Target, res)
		}
	}
	if n := r.invalidations(t); n != 1 {
		t.Errorf("CloudFront: %d invalidations, want 1", n)
	}
	if p := r.emu.CloudflarePurges(testZone); len(p) != 1 || p[0].Items[0] != "https://shop.example.com/index.html" {
		t.Errorf("Cloudflare saw %+v", p)
	}
	if p := r.emu.FastlyURLPurges(); len(p) != 1 || p[0].Items[0] != "news.example.com/index.html" {
		t.Errorf("Fastly saw %+v", p)
	}
	msg, _ := json.Marshal(slack.Render(got))
	for _, want := range []string{"Purge on 3 targets", "`www` (CloudFront): purging 1 path, invalidation `", "`shop` (Cloudflare): purged 1 item", "`news` (Fastly): purged 1 item"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("reply lacks %q:\n%s", want, msg)
		}
	}

	refusals := []struct{ text, want string }{
		// One target cannot: nothing is purged on any.
		{"www news /blog/*", "Fastly cannot purge by prefix"},
		// A word after the first target that is no target is a path
		// missing its slash.
		{"www blog", `"blog" must start with / (did you mean /blog?)`},
		{"www blog /a", `"blog" must start with / (did you mean /blog?)`},
		// Two targets and nothing to purge is not everything on both.
		{"www shop", `"shop" must start with / (did you mean /shop?)`},
		// A pasted URL on another target's host.
		{"www shop https://news.example.com/a", "news.example.com"},
	}
	for _, tt := range refusals {
		before, cf := r.invalidations(t), len(r.emu.CloudflarePurges(testZone))
		f, ok := r.svc.Command(ctx, command(tt.text)).(slack.Failed)
		if !ok || !strings.Contains(slack.Render(f).Text, tt.want) {
			t.Errorf("%s: %#v, want a refusal with %q", tt.text, f, tt.want)
		}
		if r.invalidations(t) != before || len(r.emu.CloudflarePurges(testZone)) != cf {
			t.Errorf("%s: something was purged", tt.text)
		}
	}
}

// TestApprovalWithoutHistory: an approval on a provider that keeps no record
// of purges. Approve during an outage fails and leaves the request open;
// Approve after it purges once; a second approver purges nothing again.
func TestApprovalWithoutHistory(t *testing.T) {
	clk := testutil.NewClock(time.Now())
	emu := emulator.New(emulator.Options{
		CloudflareZones: []string{testZone}, Now: clk.Now,
		Faults: emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{emulator.OpCloudflarePurgeCache: {Unavailable: 1}},
			Until:       clk.Now().Add(time.Minute),
		},
	})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cf, err := cloudflarecdn.New(cloudflarecdn.Options{ZoneID: testZone, Token: "cf-token", Domains: []string{"shop.example.com"}, Endpoint: srv.URL + "/client/v4"})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := access.NewTargets([]access.Target{{Name: "shop", Domains: []string{"shop.example.com"}, Channels: slack.Channels{"deploys"},
		Confirm: purge.ConfirmPolicy{Mode: purge.ConfirmAlways}}}, "shop")
	if err != nil {
		t.Fatal(err)
	}
	out := &slackOutbox{}
	svc := New(Options{SealSecret: testSecret, Targets: targets, Providers: map[string]purge.Provider{"shop": cf}, Now: clk.Now,
		Poster: &slack.Poster{HTTPClient: &http.Client{Transport: out}, Attempts: 1}})
	t.Cleanup(func() { svc.Wait(context.Background()) })
	ctx := context.Background()

	asked, ok := svc.Command(ctx, command("/index.html https://shop.example.com/q?id=1 #News /img/*")).(slack.ApprovalAsked)
	if !ok {
		t.Fatal("no approval asked")
	}
	approve := func(user string) slack.Reply {
		return svc.Click(ctx, Click{TeamID: "T0", UserID: user, ChannelID: "C2147483705", ChannelName: "deploys",
			ActionID: slack.ActionApprove, Value: asked.Sealed, ResponseURL: responseURL})
	}
	if f, ok := approve("U2").(slack.Failed); !ok || purge.ErrorCode(f.Err) != purge.Unavailable {
		t.Fatalf("approve during the outage: %#v", f)
	}
	if n := len(emu.CloudflarePurges(testZone)); n != 0 {
		t.Fatalf("%d purges during the outage", n)
	}
	clk.Advance(2 * time.Minute)
	started, ok := approve("U2").(slack.Started)
	if !ok || !started.Purge.Synchronous || started.Purge.ApprovedBy != "U2" {
		t.Fatalf("approve after the outage: %#v", started)
	}
	// The items survived the seal: a pasted URL with its host and query, a
	// tag in its case, a prefix.
	var got []string
	for _, p := range emu.CloudflarePurges(testZone) {
		got = append(got, p.Kind+":"+strings.Join(p.Items, ","))
	}
	if want := "files:https://shop.example.com/index.html,https://shop.example.com/q?id=1 tags:News prefixes:shop.example.com/img/"; strings.Join(got, " ") != want {
		t.Errorf("Cloudflare purged %q, want %q", strings.Join(got, " "), want)
	}
	if again, ok := approve("U3").(slack.AlreadyApproved); !ok || !again.Synchronous {
		t.Fatalf("a second approver: %#v", again)
	}
	if n := len(emu.CloudflarePurges(testZone)); n != 3 {
		t.Fatalf("the second approval purged again: %d purges", n)
	}
}

// TestPartialPurgeAudited: a purge that went through in part is announced
// for what it purged, and the reply says what went through.
func TestPartialPurgeAudited(t *testing.T) {
	var calls atomic.Int64
	// A stand-in for Cloudflare's purge_cache that takes the first request
	// and fails the others with its error envelope.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":{"id":"0123456789abcdef0123456789abcdef"}}`)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"success":false,"errors":[{"code":10001,"message":"service unavailable"}],"messages":[],"result":null}`)
	}))
	t.Cleanup(srv.Close)
	cf, err := cloudflarecdn.New(cloudflarecdn.Options{ZoneID: testZone, Token: "cf-token", Domains: []string{"shop.example.com"}, Endpoint: srv.URL + "/client/v4"})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := access.NewTargets([]access.Target{{Name: "shop", Domains: []string{"shop.example.com"}, Channels: slack.Channels{"deploys"}}}, "shop")
	if err != nil {
		t.Fatal(err)
	}
	out := &slackOutbox{}
	svc := New(Options{SealSecret: testSecret, Targets: targets, Providers: map[string]purge.Provider{"shop": cf},
		WebhookURL: "https://hooks.slack.com/services/T0/B0/WEBHOOKTOKEN",
		Poster:     &slack.Poster{HTTPClient: &http.Client{Transport: out}, Attempts: 1}})
	f, ok := svc.Command(context.Background(), command("/index.html #news")).(slack.Failed)
	if !ok || !errors.Is(f.Err, purge.ErrPartial) {
		t.Fatalf("reply %#v, want a failure made in part", f)
	}
	if err := svc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts, _ := out.sent()
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "purged 1 item on `shop` (Cloudflare)") {
		t.Fatalf("audit posts %v, want one for the item that went through", posts)
	}
}
