package main

import (
	"fmt"
	"net/http"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/fastlycdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/metrics"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// providers builds the purge.Provider of every target that is not on
// CloudFront, by target name: the one place where providers are wired.
// Each gets a client of its own, with the token its token_env names.
// CloudFront targets are purged through the service's Invalidator (with
// its per-role routes, see targetInvalidator). Each client's requests are
// counted by m at its transport.
func providers(cfg config.Config, m *metrics.Metrics) (map[string]purge.Provider, error) {
	if cfg.File == nil {
		return nil, nil
	}
	out := map[string]purge.Provider{}
	for _, t := range cfg.File.Targets {
		var (
			p   purge.Provider
			err error
		)
		switch t.ProviderName() {
		case config.ProviderCloudFront:
			continue
		case config.ProviderCloudflare:
			p, err = cloudflarecdn.New(cloudflarecdn.Options{
				ZoneID: t.Zone, Token: cfg.Token(t).Value(), Domains: t.Domains, Endpoint: cfg.CloudflareEndpoint,
				// As http.DefaultClient, the package's default: no timeout
				// but the context's.
				HTTPClient: &http.Client{Transport: m.Transport(nil, config.ProviderCloudflare, cloudflarecdn.Operation)},
			})
		case config.ProviderFastly:
			p, err = fastlycdn.New(fastlycdn.Options{
				ServiceID: t.Service, Token: cfg.Token(t).Value(), Domains: t.Domains, Soft: t.Soft, Endpoint: cfg.FastlyEndpoint,
				HTTPClient: &http.Client{Timeout: fastlycdn.DefaultTimeout, Transport: m.Transport(nil, config.ProviderFastly, fastlycdn.Operation)},
			})
		case config.ProviderVarnish:
			p, err = varnishcdn.New(varnishcdn.Options{
				URL: t.URL, Domains: t.Domains, Soft: t.Soft,
				HTTPClient: &http.Client{Timeout: varnishcdn.DefaultTimeout, Transport: m.Transport(nil, config.ProviderVarnish, varnishcdn.Operation)},
			})
		default:
			// config refuses any other provider; this is a wiring mistake.
			err = fmt.Errorf("provider %q is not wired", t.ProviderName())
		}
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t.Name, err)
		}
		out[t.Name] = p
	}
	return out, nil
}
