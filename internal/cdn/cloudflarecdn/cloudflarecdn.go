// Package cloudflarecdn is the purge.Provider for a Cloudflare zone, built
// on cloudflare-go (v7). It purges through Cloudflare's Purge Cached
// Content operation (POST /zones/{zone_id}/purge_cache): files as full URLs,
// prefixes as host/path, hosts, cache tags, or everything, one kind and at
// most 100 items a request. A purge is done when Cloudflare answers; there
// is no status to follow and no history to read.
//
// A 429 (Cloudflare's per-account token bucket) is waited out as
// Retry-After says, and the request sent again, only while the wait fits
// in the context's deadline, which is the Slack reply's budget; otherwise
// the RateLimited error returns at once with the wait (purge.RetryAfter),
// so that the reply can say when to try again. Every error is a
// *purge.Error whose Code says what happened and whose Message is safe to
// show to a chat user; the API token is never in either.
package cloudflarecdn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/cache"
	"github.com/cloudflare/cloudflare-go/v7/option"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// DefaultEndpoint is the base URL of Cloudflare's API.
const DefaultEndpoint = "https://api.cloudflare.com/client/v4"

// MaxBatch is the most items one purge request takes. Cloudflare's purge
// limits give "Max operations per request: 100" on every plan, for files,
// tags, hosts and prefixes alike (Enterprise may send 500 URLs; 100 holds
// for all):
// https://developers.cloudflare.com/cache/how-to/purge-cache/#availability-and-limits
const MaxBatch = 100

// MaxPrefixes is the most prefixes one request takes: "Maximum 30 prefixes
// per API call", and a prefix has no query string:
// https://developers.cloudflare.com/cache/how-to/purge-cache/purge_by_prefix/
const MaxPrefixes = 30

// retryHeadroom is what must be left of the context's deadline after a
// 429's wait to send the request again and read the answer; Cloudflare
// answers a purge in well under it.
const retryHeadroom = 250 * time.Millisecond

// maxRateLimitWaits bounds the 429s waited out in one request when the
// context has no deadline.
const maxRateLimitWaits = 3

// Options configures a Provider for one zone.
type Options struct {
	// ZoneID is the zone's ID (32 hex digits, on the zone's Overview page).
	ZoneID string
	// Token is an API token with the permission Zone › Cache Purge › Purge
	// on the zone.
	Token string
	// Domains are the zone's host names; the first is where a bare path
	// (/index.html, /blog/*) is purged.
	Domains []string
	// Endpoint is the base URL of Cloudflare's API; empty means
	// DefaultEndpoint. A stand-in (the emulator) is served at its
	// /client/v4.
	Endpoint string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Provider purges one Cloudflare zone. It is safe for concurrent use.
type Provider struct {
	zoneID   string
	domain   string // the first of Options.Domains
	token    string // only to redact it from what Cloudflare says
	purges   *cache.CacheService
	endpoint endpoint
}

// endpoint is where a Provider sends its requests, for messages.
type endpoint struct {
	base       string // scheme://host[:port], nothing else: safe to show
	configured bool   // Options.Endpoint was set
}

var _ purge.Provider = (*Provider)(nil)

// New returns a Provider for the zone opts names. It refuses an empty zone
// ID, token or domain list, a domain that is not a host name, and an
// endpoint that is not an http(s) URL; its errors never hold the token.
func New(opts Options) (*Provider, error) {
	switch {
	case strings.TrimSpace(opts.ZoneID) == "":
		return nil, errors.New("cloudflare: no zone ID: set the target's zone")
	case opts.Token == "":
		return nil, fmt.Errorf("cloudflare zone %s: no API token: set the variable the target's token_env names", opts.ZoneID)
	case len(opts.Domains) == 0:
		return nil, fmt.Errorf("cloudflare zone %s: no domains: list the zone's host names in the target's domains, "+
			"the first one for bare paths", opts.ZoneID)
	}
	for _, d := range opts.Domains {
		if !isHost(d) {
			return nil, fmt.Errorf("cloudflare zone %s: domain %q is not a host name (www.example.com, no scheme or path)", opts.ZoneID, d)
		}
	}
	ep := endpoint{base: DefaultEndpoint, configured: opts.Endpoint != ""}
	if ep.configured {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not the value: an endpoint URL may carry credentials.
			return nil, fmt.Errorf("cloudflare zone %s: the endpoint is not an http(s) URL", opts.ZoneID)
		}
		ep.base = u.Scheme + "://" + u.Host
	} else {
		ep.base = "https://api.cloudflare.com"
	}
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	base := opts.Endpoint
	if base == "" {
		base = DefaultEndpoint
	}
	// The cache service alone, not cloudflare.NewClient: the client reads
	// CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL and other credentials from the
	// environment and would send them too, to whatever endpoint this is.
	purges := cache.NewCacheService(
		option.WithBaseURL(base),
		option.WithAPIToken(opts.Token),
		option.WithHTTPClient(client),
		// The SDK retries 429s and 5xx twice, sleeping as long as
		// Retry-After says whatever the deadline, and resends after a
		// connection error. Only Purge knows the Slack reply's budget:
		// it decides alone (see send).
		option.WithMaxRetries(0),
	)
	return &Provider{
		zoneID:   opts.ZoneID,
		domain:   strings.ToLower(strings.TrimSuffix(opts.Domains[0], ".")),
		token:    opts.Token,
		purges:   purges,
		endpoint: ep,
	}, nil
}

// isHost reports whether d is a bare host name.
func isHost(d string) bool {
	if d == "" || strings.ContainsAny(d, "/:?#@ *") {
		return false
	}
	u, err := url.Parse("https://" + d + "/")
	return err == nil && u.Hostname() == d
}

// Capabilities says what Cloudflare purges: files, prefixes, tags, hosts
// and everything, one kind and at most MaxBatch items a request, done at
// once (no status or history), and not idempotent by Request.Reference.
func (p *Provider) Capabilities() purge.Capabilities {
	return purge.Capabilities{
		Provider:          "Cloudflare",
		Kinds:             purge.KindFile | purge.KindPrefix | purge.KindTag | purge.KindHost | purge.KindEverything,
		MaxBatch:          MaxBatch,
		MaxBatchByKind:    map[purge.Kind]int{purge.KindPrefix: MaxPrefixes},
		OneKindPerRequest: true,
	}
}

var _ purge.ItemChecker = (*Provider)(nil)

// CheckItems refuses what Cloudflare's purge by prefix cannot take: a
// prefix with a query string.
func (p *Provider) CheckItems(items []purge.Item) error {
	for _, it := range items {
		if it.Kind == purge.KindPrefix && strings.Contains(it.Path, "?") {
			return purge.Errorf(purge.Invalid, "Cloudflare cannot purge a prefix with a query string (`%s`): purge the URLs themselves, or the prefix before the `?`", it.String())
		}
	}
	return nil
}

// Purge purges req.Items in as many requests as Capabilities.Batches
// makes, one after the other. The Invalidation's ID is Cloudflare's result
// IDs joined by ","; it is Completed, New, and its Paths are the items as
// sent (Item.String). A request that fails after others went through
// returns its error wrapping purge.ErrPartial, with the Invalidation of
// what was purged.
func (p *Provider) Purge(ctx context.Context, req purge.Request) (*purge.Invalidation, error) {
	caps := p.Capabilities()
	if len(req.Items) == 0 {
		return nil, purge.Errorf(purge.Invalid, "nothing to purge on Cloudflare zone %s", p.zoneID)
	}
	if err := caps.Check(req.Items); err != nil {
		return nil, err
	}
	if err := p.CheckItems(req.Items); err != nil {
		return nil, err
	}
	batches := caps.Batches(req.Items)
	inv := &purge.Invalidation{
		DistributionID: p.zoneID,
		Status:         purge.StatusCompleted,
		CreateTime:     time.Now(),
		New:            true,
	}
	var ids []string
	for i, batch := range batches {
		id, err := p.send(ctx, batch)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			return inv, partial(err, i, len(batches), len(inv.Paths), len(req.Items))
		}
		if id != "" {
			ids = append(ids, id)
		}
		for _, it := range batch {
			inv.Paths = append(inv.Paths, it.String())
		}
		inv.Requests++
		inv.ID = strings.Join(ids, ",")
	}
	return inv, nil
}

// partial adds to err, the failure of request i+1 of n, that the first i
// requests purged done of the total items.
func partial(err error, i, n, done, total int) error {
	var pe *purge.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("%w: %w", purge.ErrPartial, err)
	}
	return &purge.Error{
		Code: pe.Code,
		Message: fmt.Sprintf("%s. Only part of the purge was made: %d of %d items (requests 1 to %d of %d) were purged",
			strings.TrimSuffix(pe.Message, "."), done, total, i, n),
		Err: fmt.Errorf("%w: %w", purge.ErrPartial, pe.Err),
	}
}

// send makes one purge request of batch, items of one kind, waiting out
// 429s while the wait fits in ctx's deadline, and returns Cloudflare's
// result ID.
func (p *Provider) send(ctx context.Context, batch []purge.Item) (string, error) {
	params := cache.CachePurgeParams{Body: p.body(batch)}
	params.ZoneID.Value, params.ZoneID.Present = p.zoneID, true // as cloudflare.F makes it
	for waits := 0; ; waits++ {
		var resp *http.Response
		res, err := p.purges.Purge(ctx, params, option.WithResponseInto(&resp))
		if err == nil {
			return res.ID, nil
		}
		cerr := p.classify(err, resp)
		after, ok := purge.RetryAfter(cerr)
		if !ok || !fits(ctx, after, waits) {
			return "", cerr
		}
		t := time.NewTimer(after)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", cerr
		}
	}
}

// fits reports whether a wait of d, the waits-th of a request, fits in
// ctx: before its deadline with retryHeadroom to spare, or, without one,
// among the first maxRateLimitWaits.
func fits(ctx context.Context, d time.Duration, waits int) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return waits < maxRateLimitWaits
	}
	return time.Until(deadline) >= d+retryHeadroom
}

// body is the purge_cache body of batch, whose items are of one kind (see
// Capabilities.Batches).
func (p *Provider) body(batch []purge.Item) cache.CachePurgeParamsBodyUnion {
	values := make([]string, len(batch))
	for i, it := range batch {
		values[i] = p.value(it)
	}
	switch batch[0].Kind {
	case purge.KindPrefix:
		var b cache.CachePurgeParamsBodyCachePurgeFlexPurgeByPrefixes
		b.Prefixes.Value, b.Prefixes.Present = values, true
		return b
	case purge.KindTag:
		var b cache.CachePurgeParamsBodyCachePurgeFlexPurgeByTags
		b.Tags.Value, b.Tags.Present = values, true
		return b
	case purge.KindHost:
		var b cache.CachePurgeParamsBodyCachePurgeFlexPurgeByHostnames
		b.Hosts.Value, b.Hosts.Present = values, true
		return b
	case purge.KindEverything:
		var b cache.CachePurgeParamsBodyCachePurgeEverything
		b.PurgeEverything.Value, b.PurgeEverything.Present = true, true
		return b
	}
	var b cache.CachePurgeParamsBodyCachePurgeSingleFile
	b.Files.Value, b.Files.Present = values, true
	return b
}

// value is the item as Cloudflare's purge-by-* takes it: a file as a full
// URL (a bare path on the first domain, over https; a pasted URL as it
// is), a prefix as host/path without scheme or the trailing "*", a host as
// the host, a tag as the tag. Everything has none.
func (p *Provider) value(it purge.Item) string {
	host := it.Host
	if host == "" {
		host = p.domain
	}
	switch it.Kind {
	case purge.KindFile:
		if it.Host != "" {
			return it.String()
		}
		return "https://" + p.domain + it.Path
	case purge.KindPrefix:
		return host + strings.TrimSuffix(it.Path, "*")
	case purge.KindHost:
		return host
	case purge.KindTag:
		return it.Tag
	}
	return ""
}

// Operation names the API operation of a request the Provider sends, for
// metrics: "purge_cache", the only one; "other" for anything else.
func Operation(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/purge_cache") {
		return "purge_cache"
	}
	return "other"
}
