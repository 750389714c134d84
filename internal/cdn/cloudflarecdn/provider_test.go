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
