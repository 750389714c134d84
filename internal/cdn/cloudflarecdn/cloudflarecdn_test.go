package cloudflarecdn_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const (
	testZone  = "023e105f4ecef8ad9ca31a8372d0c353"
	testToken = "Ys4hmcXfrDJ9dvIxQLQZS3JbXMn5S6oHqgHdd7ER"
)

// MustEmulated returns a Provider for testZone on an emulator served on
// loopback, and the emulator.
func MustEmulated(tb testing.TB, opts emulator.Options) (*cloudflarecdn.Provider, *emulator.Emulator) {
	tb.Helper()
	if opts.CloudflareZones == nil {
		opts.CloudflareZones = []string{testZone}
	}
	e := emulator.New(opts)
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return MustProvider(tb, srv.URL+"/client/v4"), e
}

// MustProvider returns a Provider for testZone, domains www.example.com and
// shop.example.com, at endpoint.
func MustProvider(tb testing.TB, endpoint string) *cloudflarecdn.Provider {
	tb.Helper()
	p, err := cloudflarecdn.New(cloudflarecdn.Options{
		ZoneID:   testZone,
		Token:    testToken,
		Domains:  []string{"www.example.com", "shop.example.com"},
		Endpoint: endpoint,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestItemMapping(t *testing.T) {
	tests := []struct {
		item string
		kind string // what the emulator recorded
		sent string
	}{
		{"/index.html", "files", "https://www.example.com/index.html"},
		{"/a b.html?x=1", "files", "https://www.example.com/a%20b.html?x=1"},
		{"https://shop.example.com/cart?id=1", "files", "https://shop.example.com/cart?id=1"},
		{"http://www.example.com/old", "files", "http://www.example.com/old"},
		{"/blog/*", "prefixes", "www.example.com/blog/"},
		{"/blog*", "prefixes", "www.example.com/blog"},
		{"https://shop.example.com/img/*", "prefixes", "shop.example.com/img/"},
		{"#news", "tags", "news"},
		{"https://shop.example.com/*", "hosts", "shop.example.com"},
		{"/*", "everything", ""},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			p, e := MustEmulated(t, emulator.Options{})
			items := testutil.MustItems(t, tt.item)
			inv, err := p.Purge(context.Background(), purge.Request{Items: items})
			if err != nil {
				t.Fatal(err)
			}
			got := e.CloudflarePurges(testZone)
			if len(got) != 1 || got[0].Kind != tt.kind {
				t.Fatalf("emulator recorded %+v, want one %s purge", got, tt.kind)
			}
			var want []string
			if tt.sent != "" {
				want = []string{tt.sent}
			}
			if !slices.Equal(got[0].Items, want) {
				t.Errorf("sent %q, want %q", got[0].Items, want)
			}
			if inv.ID != got[0].ID || inv.Requests != 1 || !inv.New || !inv.Done() ||
				!slices.Equal(inv.Paths, []string{items[0].String()}) || inv.CreateTime.IsZero() {
				t.Errorf("invalidation %+v, want ID %s, 1 request, New, Completed, Paths [%s]", inv, got[0].ID, items[0])
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	p, _ := MustEmulated(t, emulator.Options{})
	c := p.Capabilities()
	all := purge.KindFile | purge.KindPrefix | purge.KindTag | purge.KindHost | purge.KindEverything
	if c.Provider != "Cloudflare" || c.Kinds != all || c.MaxBatch != 100 || !c.OneKindPerRequest ||
		c.Status || c.History || c.Idempotent {
		t.Errorf("Capabilities %+v", c)
	}
}

func TestSplits(t *testing.T) {
	files := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("/p/%d.html", i)
		}
		return s
	}
	tests := []struct {
		name  string
		items []string
		kinds []string // the requests the emulator saw, in order
		sizes []int
	}{
		{"250 files", files(250), []string{"files", "files", "files"}, []int{100, 100, 50}},
		{"100 files", files(100), []string{"files"}, []int{100}},
		{"mixed kinds", []string{"/a.html", "#news", "/blog/*", "/b.html", "#sport", "https://shop.example.com/*"},
			[]string{"files", "tags", "prefixes", "hosts"}, []int{2, 2, 1, 1}},
		{"everything with files", []string{"/a.html", "/*"}, []string{"files", "everything"}, []int{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, e := MustEmulated(t, emulator.Options{})
			items := testutil.MustItems(t, tt.items...)
			inv, err := p.Purge(context.Background(), purge.Request{Items: items})
			if err != nil {
				t.Fatal(err)
			}
			got := e.CloudflarePurges(testZone)
			var kinds, ids []string
			var sizes []int
			for _, g := range got {
				kinds, ids, sizes = append(kinds, g.Kind), append(ids, g.ID), append(sizes, len(g.Items))
			}
			if !slices.Equal(kinds, tt.kinds) || !slices.Equal(sizes, tt.sizes) {
				t.Fatalf("requests %v of %v items, want %v of %v", kinds, sizes, tt.kinds, tt.sizes)
			}
			if e.CloudflareCalls() != len(tt.kinds) || inv.Requests != len(tt.kinds) {
				t.Errorf("%d calls, Requests %d; want %d", e.CloudflareCalls(), inv.Requests, len(tt.kinds))
			}
			if inv.ID != strings.Join(ids, ",") {
				t.Errorf("ID %q, want %q", inv.ID, strings.Join(ids, ","))
			}
			if len(inv.Paths) != len(items) {
				t.Errorf("%d paths, want %d", len(inv.Paths), len(items))
			}
		})
	}
}

func TestPurgeRefusesNothing(t *testing.T) {
	p, e := MustEmulated(t, emulator.Options{})
	_, err := p.Purge(context.Background(), purge.Request{})
	if purge.ErrorCode(err) != purge.Invalid || e.CloudflareCalls() != 0 {
		t.Errorf("err %v (%s), %d calls; want Invalid and none", err, purge.ErrorCode(err), e.CloudflareCalls())
	}
}

func TestEmulatedErrors(t *testing.T) {
	tests := []struct {
		name string
		opts emulator.Options
		code purge.Code
		msg  string
	}{
		{"unknown zone", emulator.Options{CloudflareZones: []string{}}, purge.NotFound, "no zone " + testZone},
		{"token not accepted", emulator.Options{CloudflareTokens: []string{"another"}}, purge.Unauthenticated, "token_env"},
		{"server error", emulator.Options{Faults: emulator.Faults{All: emulator.FaultRates{Unavailable: 1}}},
			purge.Unavailable, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, e := MustEmulated(t, tt.opts)
			inv, err := p.Purge(context.Background(), purge.Request{Items: testutil.MustItems(t, "/a.html")})
			if inv != nil || purge.ErrorCode(err) != tt.code || !strings.Contains(purge.ErrorMessage(err), tt.msg) {
				t.Fatalf("inv %v, err %v (%s); want %s with %q", inv, err, purge.ErrorCode(err), tt.code, tt.msg)
			}
			if e.CloudflareCalls() != 1 {
				t.Errorf("%d calls, want 1 (the SDK's retries are off)", e.CloudflareCalls())
			}
			assertNoToken(t, err)
		})
	}
}

// assertNoToken fails the test if err's text or message holds the token.
func assertNoToken(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(purge.ErrorMessage(err), testToken) {
		tb.Errorf("the error holds the token: %v", err)
	}
}

func TestNew(t *testing.T) {
	ok := cloudflarecdn.Options{ZoneID: testZone, Token: testToken, Domains: []string{"www.example.com"}}
	tests := []struct {
		name   string
		change func(*cloudflarecdn.Options)
		want   string // in the error; "" for none
	}{
		{"valid", func(*cloudflarecdn.Options) {}, ""},
		{"valid endpoint", func(o *cloudflarecdn.Options) { o.Endpoint = "http://127.0.0.1:8080/client/v4" }, ""},
		{"no zone", func(o *cloudflarecdn.Options) { o.ZoneID = " " }, "no zone ID"},
		{"no token", func(o *cloudflarecdn.Options) { o.Token = "" }, "no API token"},
		{"no domains", func(o *cloudflarecdn.Options) { o.Domains = nil }, "no domains"},
		{"domain with scheme", func(o *cloudflarecdn.Options) { o.Domains = []string{"https://www.example.com"} }, "not a host name"},
		{"empty domain", func(o *cloudflarecdn.Options) { o.Domains = []string{""} }, "not a host name"},
		{"endpoint not a URL", func(o *cloudflarecdn.Options) { o.Endpoint = "ftp://user:" + testToken + "@x/" }, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			p, err := cloudflarecdn.New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "" && p == nil:
				t.Fatal("nil Provider")
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			assertNoToken(t, err)
		})
	}
}
