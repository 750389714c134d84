package cloudflarecdn_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cdntest"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestProviderSuite runs cdntest's provider suite against the emulator's
// Cloudflare API through cloudflare-go, one zone a target, read back
// through the emulator's record of what each zone was asked to purge.
func TestProviderSuite(t *testing.T) {
	const token = "suite-cloudflare-token"
	emu := emulator.New(emulator.Options{CloudflareTokens: []string{token}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	var n atomic.Int64
	cdntest.RunProvider(t, cdntest.ProviderHarness{NewTarget: func(t *testing.T) cdntest.ProviderTarget {
		zone := fmt.Sprintf("%032x", n.Add(1))
		emu.AddCloudflareZone(zone)
		const domain = "www.suite.example.com"
		p, err := cloudflarecdn.New(cloudflarecdn.Options{ZoneID: zone, Token: token, Domains: []string{domain}, Endpoint: srv.URL + "/client/v4"})
		if err != nil {
			t.Fatal(err)
		}
		return cdntest.ProviderTarget{
			Provider: p,
			Domain:   domain,
			Requests: func(*testing.T) int { return len(emu.CloudflarePurges(zone)) },
			Purged: func(t *testing.T, it purge.Item) bool {
				kind, want := "", ""
				switch it.Kind {
				case purge.KindFile:
					kind, want = "files", "https://"+domain+it.Path
				case purge.KindPrefix:
					kind, want = "prefixes", domain+strings.TrimSuffix(it.Path, "*")
				case purge.KindHost:
					kind, want = "hosts", it.Host
				case purge.KindTag:
					kind, want = "tags", it.Tag
				case purge.KindEverything:
					kind = "everything"
				}
				for _, p := range emu.CloudflarePurges(zone) {
					if p.Kind == kind && (kind == "everything" || slices.Contains(p.Items, want)) {
						return true
					}
				}
				return false
			},
		}
	}})
}

// TestPrefixLimits: Cloudflare takes 30 prefixes a request and no query
// string in a prefix.
func TestPrefixLimits(t *testing.T) {
	emu := emulator.New(emulator.Options{CloudflareZones: []string{testZone}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	p, err := cloudflarecdn.New(cloudflarecdn.Options{ZoneID: testZone, Token: "t", Domains: []string{"www.example.com"}, Endpoint: srv.URL + "/client/v4"})
	if err != nil {
		t.Fatal(err)
	}
	var raw []string
	for i := range cloudflarecdn.MaxPrefixes + 1 {
		raw = append(raw, fmt.Sprintf("/p%d/*", i))
	}
	inv, err := p.Purge(t.Context(), purge.Request{Items: testutil.MustItems(t, raw...)})
	if err != nil || inv.Requests != 2 {
		t.Fatalf("31 prefixes: %+v, %v; want 2 requests", inv, err)
	}
	if got := emu.CloudflarePurges(testZone); len(got) != 2 || len(got[0].Items) != 30 || len(got[1].Items) != 1 {
		t.Fatalf("Cloudflare saw %d requests", len(got))
	}
	_, err = p.Purge(t.Context(), purge.Request{Items: testutil.MustItems(t, "https://www.example.com/a?x=*")})
	if purge.ErrorCode(err) != purge.Invalid || !strings.Contains(purge.ErrorMessage(err), "query string") {
		t.Fatalf("a prefix with a query string: %v", err)
	}
	if n := len(emu.CloudflarePurges(testZone)); n != 2 {
		t.Fatalf("a refused purge was sent: %d requests", n)
	}
}
