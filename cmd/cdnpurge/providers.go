package main

import (
	"fmt"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudflarecdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/fastlycdn"
	"github.com/cdnpurge/cdnpurge/internal/cdn/varnishcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// providers builds the purge.Provider of every target, by target name:
// the one place where providers are wired. CloudFront targets share
// cloudfront, the CloudFront backend (with its per-role routes); the others
// get a client of their own, with the token their token_env names. With
// no targets file the single CloudFront target is the only one, under the
// name "".
func providers(cfg config.Config, cloudfront purge.Invalidator) (map[string]purge.Provider, error) {
	if cfg.File == nil {
		return map[string]purge.Provider{"": cloudfrontcdn.Target{Invalidator: cloudfront, DistributionID: cfg.DistributionID}}, nil
	}
	out := make(map[string]purge.Provider, len(cfg.File.Targets))
	for _, t := range cfg.File.Targets {
		var (
			p   purge.Provider
			err error
		)
		switch t.ProviderName() {
		case config.ProviderCloudFront:
			id := t.Distribution
			if t.Tenant != "" {
				id = t.Tenant
			}
			p = cloudfrontcdn.Target{Invalidator: cloudfront, DistributionID: id}
		case config.ProviderCloudflare:
			p, err = cloudflarecdn.New(cloudflarecdn.Options{
				ZoneID: t.Zone, Token: cfg.Token(t).Value(), Domains: t.Domains, Endpoint: cfg.CloudflareEndpoint,
			})
		case config.ProviderFastly:
			p, err = fastlycdn.New(fastlycdn.Options{
				ServiceID: t.Service, Token: cfg.Token(t).Value(), Domains: t.Domains, Soft: t.Soft, Endpoint: cfg.FastlyEndpoint,
			})
		case config.ProviderVarnish:
			p, err = varnishcdn.New(varnishcdn.Options{URL: t.URL, Domains: t.Domains, Soft: t.Soft})
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
