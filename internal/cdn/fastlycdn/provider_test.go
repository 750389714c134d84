package fastlycdn_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cdntest"
	"github.com/cdnpurge/cdnpurge/internal/cdn/fastlycdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TestProviderSuite runs cdntest's provider suite against the emulator's
// Fastly API, one emulator a target, read back through its record.
func TestProviderSuite(t *testing.T) {
	var n atomic.Int64
	cdntest.RunProvider(t, cdntest.ProviderHarness{NewTarget: func(t *testing.T) cdntest.ProviderTarget {
		service := fmt.Sprintf("SUITE%dSERVICE0000000", n.Add(1))
		const token, domain = "suite-fastly-token", "www.suite.example.com"
		emu := emulator.New(emulator.Options{FastlyServices: []string{service}, FastlyTokens: []string{token}})
		srv := httptest.NewServer(emu)
		t.Cleanup(srv.Close)
		p, err := fastlycdn.New(fastlycdn.Options{ServiceID: service, Token: token, Domains: []string{domain}, Endpoint: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return cdntest.ProviderTarget{
			Provider: p,
			Domain:   domain,
			Requests: func(*testing.T) int {
				total := 0
				for _, c := range emu.FastlyCallCounts() {
					total += c
				}
				return total
			},
			Purged: func(t *testing.T, it purge.Item) bool {
				switch it.Kind {
				case purge.KindFile:
					host := domain
					if it.Host != "" {
						host = it.Host
					}
					for _, p := range emu.FastlyURLPurges() {
						if slices.Contains(p.Items, host+it.Path) {
							return true
						}
					}
				case purge.KindTag:
					for _, p := range emu.FastlyPurges(service) {
						if p.Kind != emulator.FastlyKindAll && slices.Contains(p.Items, it.Tag) {
							return true
						}
					}
				case purge.KindEverything:
					for _, p := range emu.FastlyPurges(service) {
						if p.Kind == emulator.FastlyKindAll {
							return true
						}
					}
				}
				return false
			},
		}
	}})
}
