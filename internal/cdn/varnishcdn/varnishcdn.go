// Package varnishcdn is the purge.Provider for a self-hosted Varnish Cache
// (7.1 with varnish-modules) running the VCL that cdnpurge ships in
// deploy/varnish/cdnpurge.vcl; deploy/varnish/README.md documents both ends.
//
// Each item is one HTTP request to Options.URL, carrying the site's Host:
//
//   - a file: PURGE <path>, the one object (every variant) of that Host and
//     URL;
//   - a prefix (/blog/*): BAN /blog/ with X-Ban-Prefix, the prefix
//     regex-quoted (VCL cannot quote a regular expression), which bans every
//     object of that Host whose URL starts with the prefix;
//   - a host (https://shop.example.com/*): BAN / on that host;
//   - everything (/*): BAN / on each of Options.Domains;
//   - tags (#news), up to MaxBatch at once: PURGE / with xkey-purge: k1 k2
//     (vmod_xkey; the origin tags objects with its xkey response header).
//
// With Options.Soft, files are soft-purged (purge.soft: TTL 0, served stale
// within their grace while Varnish refetches them) and tags too
// (xkey-softpurge). Bans are always hard: Varnish 7.1 has no soft ban.
//
// Varnish purges synchronously and keeps no record: a purge is Completed
// when Purge returns, it has no ID, and a repeat purges again (harmless).
package varnishcdn

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// MaxTags is how many tags one xkey request carries. Varnish refuses a
// request header longer than http_req_hdr_len (8 KiB by default); a tag is
// at most MaxTagLength characters plus a separator, so 30 of them and the
// header's name stay under 7,800 bytes.
const MaxTags = 30

// MaxTagLength is the longest tag (xkey) the provider sends, without the
// "#": longer ones would not fit MaxTags to a header (see MaxTags).
const MaxTagLength = 256

// DefaultTimeout bounds one request when Options.HTTPClient is nil and the
// context has no deadline.
const DefaultTimeout = 30 * time.Second

// The request and answer headers of cdnpurge.vcl.
const (
	headerBanPrefix = "X-Ban-Prefix"      // BAN: the URL prefix, regex-quoted
	headerSoft      = "X-Cdnpurge-Soft"   // PURGE: "1" for purge.soft
	headerXkey      = "Xkey-Purge"        // PURGE: space-separated keys
	headerXkeySoft  = "Xkey-Softpurge"    // PURGE: space-separated keys, soft
	headerPurged    = "X-Cdnpurge-Purged" // answer to PURGE: objects purged
	headerBanned    = "X-Cdnpurge-Banned" // answer to BAN: "1"
)

// Options configures a Provider.
type Options struct {
	// URL is where PURGE and BAN requests go: Varnish's HTTP listener, e.g.
	// http://127.0.0.1:6081. User info in it (a proxy's basic auth) is sent
	// and never shown; the targets file takes none (internal/config).
	URL string
	// Domains are the sites (Host headers) the target purges; the first is
	// the default for bare paths and tags. A pasted URL must be on one of
	// them.
	Domains []string
	// Soft soft-purges files and tags (see the package comment).
	Soft bool
	// HTTPClient sends the requests; nil means a client with
	// DefaultTimeout. Redirects are never followed: Go would turn a
	// redirected PURGE into a GET.
	HTTPClient *http.Client
}

// Provider purges a Varnish cache running cdnpurge.vcl. It is safe for
// concurrent use.
type Provider struct {
	base     string // Options.URL without a trailing "/", user info included
	endpoint string // scheme://host:port: safe to show
	domains  []string
	soft     bool
	client   *http.Client
}

var _ purge.Provider = (*Provider)(nil)

// New returns a Provider for opts. It refuses, with an Invalid error, a URL
// that is not http(s)://host[:port] and an empty or malformed Domains.
func New(opts Options) (*Provider, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		// The URL is not echoed: it may hold a password.
		return nil, purge.Errorf(purge.Invalid, "varnish: url: not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, purge.Errorf(purge.Invalid, "varnish: url %s: want http(s)://HOST[:PORT], Varnish's HTTP listener", u.Redacted())
	}
	if len(opts.Domains) == 0 {
		return nil, purge.Errorf(purge.Invalid, "varnish: domains: name at least one site (the Host the cache serves)")
	}
	p := &Provider{
		base:     strings.TrimSuffix(u.String(), "/"),
		endpoint: endpointOf(u),
		soft:     opts.Soft,
	}
	for _, d := range opts.Domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" || strings.ContainsAny(d, "/:@ \t") {
			return nil, purge.Errorf(purge.Invalid, "varnish: domains: %q is not a host name", d)
		}
		if !slices.Contains(p.domains, d) {
			p.domains = append(p.domains, d)
		}
	}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		p.client = &c
	} else {
		p.client = &http.Client{Timeout: DefaultTimeout}
	}
	p.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return p, nil
}

// endpointOf is u's scheme://host:port, the port spelled out.
func endpointOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + u.Hostname() + ":" + port
}

// Capabilities says what a Varnish running cdnpurge.vcl purges. MaxBatch
// bounds the tags of one request (MaxTags); a file, a prefix and a host
// take one request each, and everything one a domain.
func (p *Provider) Capabilities() purge.Capabilities {
	return purge.Capabilities{
		Provider:          "Varnish",
		Kinds:             purge.KindFile | purge.KindPrefix | purge.KindTag | purge.KindHost | purge.KindEverything,
		MaxBatch:          MaxTags,
		MaxBatchByKind:    oneAtATime,
		OneKindPerRequest: true,
		Soft:              p.soft,
	}
}

var _ purge.ItemChecker = (*Provider)(nil)

// CheckItems refuses a tag longer than MaxTagLength.
func (p *Provider) CheckItems(items []purge.Item) error {
	for _, it := range items {
		if it.Kind == purge.KindTag && len(it.Tag) > MaxTagLength {
			return purge.Errorf(purge.Invalid, "a surrogate key of %d characters; cdnpurge sends Varnish keys of at most %d", len(it.Tag), MaxTagLength)
		}
	}
	return nil
}

// oneAtATime are the kinds one request purges one of: PURGE and BAN name
// one path.
var oneAtATime = map[purge.Kind]int{purge.KindFile: 1, purge.KindPrefix: 1, purge.KindHost: 1, purge.KindEverything: 1}

// call is one HTTP request of a purge and the items it purges.
type call struct {
	method string // "PURGE" or "BAN"
	host   string // the Host header
	path   string // the request target
	header http.Header
	items  []purge.Item // purged once this call (and the other calls for them) succeed
}

// Purge purges req.Items, one request an item (a batch of tags, a domain of
// everything), in order. It refuses, before sending anything, an item Check
// refuses and a pasted URL on a host not in Options.Domains.
func (p *Provider) Purge(ctx context.Context, req purge.Request) (*purge.Invalidation, error) {
	caps := p.Capabilities()
	if err := caps.Check(req.Items); err != nil {
		return nil, err
	}
	if err := p.CheckItems(req.Items); err != nil {
		return nil, err
	}
	calls, err := p.plan(caps, req.Items)
	if err != nil {
		return nil, err
	}
	inv := &purge.Invalidation{
		Status:          purge.StatusCompleted,
		CreateTime:      time.Now(),
		CallerReference: req.Reference,
		New:             true,
	}
	pending := map[string]int{} // an item's calls not yet made, by Item.String
	for _, c := range calls {
		for _, it := range c.items {
			pending[it.String()]++
		}
	}
	for _, c := range calls {
		if err := p.do(ctx, c); err != nil {
			if inv.Requests > 0 {
				return inv, partial(err, inv.Requests, len(calls))
			}
			return nil, err
		}
		inv.Requests++
		for _, it := range c.items {
			if pending[it.String()]--; pending[it.String()] == 0 {
				inv.Paths = append(inv.Paths, it.String())
			}
		}
	}
	return inv, nil
}

// plan turns items into calls, checking each pasted URL's host.
func (p *Provider) plan(caps purge.Capabilities, items []purge.Item) ([]call, error) {
	for _, it := range items {
		if it.Host != "" && !slices.Contains(p.domains, it.Host) {
			return nil, purge.Errorf(purge.Invalid, "`%s` is not on this Varnish target, which purges only %s",
				it.String(), strings.Join(p.domains, ", "))
		}
	}
	var calls []call
	for _, batch := range caps.Batches(items) {
		if batch[0].Kind == purge.KindTag {
			calls = append(calls, p.tagCall(batch))
			continue
		}
		for _, it := range batch {
			host := it.Host
			if host == "" {
				host = p.domains[0]
			}
			switch it.Kind {
			case purge.KindFile:
				c := call{method: "PURGE", host: host, path: it.Path, header: http.Header{}, items: []purge.Item{it}}
				if p.soft {
					c.header.Set(headerSoft, "1")
				}
				calls = append(calls, c)
			case purge.KindPrefix:
				calls = append(calls, banCall(host, strings.TrimSuffix(it.Path, "*"), it))
			case purge.KindHost:
				calls = append(calls, banCall(host, "/", it))
			case purge.KindEverything:
				for _, d := range p.domains {
					calls = append(calls, banCall(d, "/", it))
				}
			}
		}
	}
	return calls, nil
}

// banCall bans every object of host whose URL starts with prefix.
func banCall(host, prefix string, it purge.Item) call {
	h := http.Header{}
	h.Set(headerBanPrefix, BanPrefix(prefix))
	return call{method: "BAN", host: host, path: prefix, header: h, items: []purge.Item{it}}
}

// BanPrefix is the X-Ban-Prefix header of a BAN of prefix: the prefix
// regex-quoted, which cdnpurge.vcl anchors with "^". PCRE2, Varnish's
// regular expressions, reads Go's quoting as Go does: a backslash before
// punctuation is that character.
func BanPrefix(prefix string) string { return regexp.QuoteMeta(prefix) }

// tagCall purges the objects tagged with any of tags (xkey).
func (p *Provider) tagCall(tags []purge.Item) call {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Tag
	}
	h := http.Header{}
	name := headerXkey
	if p.soft {
		name = headerXkeySoft
	}
	h.Set(name, strings.Join(keys, " "))
	// xkey keys are global to the cache; the Host is only for the logs.
	return call{method: "PURGE", host: p.domains[0], path: "/", header: h, items: tags}
}

// maxAnswer is how much of an answer's body is read, to reuse the
// connection; cdnpurge.vcl's are a line.
const maxAnswer = 64 << 10

// do sends c and checks cdnpurge.vcl's answer.
func (p *Provider) do(ctx context.Context, c call) error {
	r, err := http.NewRequestWithContext(ctx, c.method, p.base+c.path, nil)
	if err != nil {
		return p.failed(c, fmt.Errorf("build request: %w", err))
	}
	r.Host = c.host
	for k, v := range c.header {
		r.Header[k] = v
	}
	resp, err := p.client.Do(r)
	if err != nil {
		return p.sendFailed(c, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return p.answer(c, resp)
}

// Operation names the kind of a request the Provider sends, for metrics:
// "purge" (a file), "ban" (a prefix, a host, everything) or "xkey" (tags).
func Operation(r *http.Request) string {
	switch {
	case r.Method == "BAN":
		return "ban"
	case r.Header.Get(headerXkey) != "" || r.Header.Get(headerXkeySoft) != "":
		return "xkey"
	}
	return "purge"
}
