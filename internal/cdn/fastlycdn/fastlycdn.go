// Package fastlycdn is the purge.Provider for a Fastly service, over
// Fastly's HTTP API (API reference, "Purging"). It also talks to any API
// that speaks it, such as cdnpurge's emulator, when Options.Endpoint is set.
//
// The official client, github.com/fastly/go-fastly, is not served by our
// module proxy; the three calls cdnpurge needs are written here with
// net/http instead:
//
//   - a file (a path on the target's first domain, or a pasted URL on one of
//     its domains) is POST /purge/{host}{path}, one request per URL: Fastly
//     has no bulk URL purge. Files are sent concurrently, at most
//     urlConcurrency at a time;
//   - surrogate keys (`#tag`) are POST /service/{service_id}/purge with the
//     JSON body {"surrogate_keys":[...]}, at most 256 keys a request (the
//     documented bulk limit; Capabilities.MaxBatch);
//   - everything (`/*`) is POST /service/{service_id}/purge_all.
//
// Every request carries the token in Fastly-Key and Accept:
// application/json; a soft target (Options.Soft) adds Fastly-Soft-Purge: 1
// to URL and key purges, which then mark objects stale instead of evicting
// them. Fastly's purge_all has no soft form ("Purge-all requests cannot be
// done in soft mode"): on a soft target, `/*` is still a hard purge of the
// whole service, sent without the header. To soft-purge everything, tag
// every object with one surrogate key and purge that `#key`.
//
// Fastly has no prefix or host purge: Purge refuses `/blog/*` and
// `https://host/*` before anything is sent (purge.Capabilities.Check).
//
// A 429 is waited out as its Retry-After says, while the wait fits the
// context's deadline (at most maxRateLimitWait, maxAttempts tries); then
// Purge returns a RateLimited error from which purge.RetryAfter reads the
// wait. Nothing else is retried: the caller decides, by the error's Code.
// Every error is a *purge.Error, classified where it enters, whose Message
// is safe to show to a chat user; the token is never in an error.
package fastlycdn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// DefaultEndpoint is Fastly's API.
const DefaultEndpoint = "https://api.fastly.com"

const (
	// MaxKeys is the most surrogate keys one purge request takes (API
	// reference, "Purge multiple surrogate key tags": "Up to 256 surrogate
	// keys can be purged in one batch request").
	MaxKeys = 256
	// urlConcurrency bounds the URL purges in flight at once.
	urlConcurrency = 8
	// maxAttempts is how many times a purge request is tried when Fastly
	// answers 429.
	maxAttempts = 3
	// maxRateLimitWait is the longest Retry-After waited out; a longer one
	// is returned to the caller at once.
	maxRateLimitWait = 30 * time.Second
	// DefaultTimeout bounds a request when Options.HTTPClient is not set.
	DefaultTimeout = 30 * time.Second
	// maxAnswerBytes bounds the answer read: 256 keys and their IDs fit
	// many times over.
	maxAnswerBytes = 1 << 20
)

// Options configures a Provider.
type Options struct {
	// ServiceID is the Fastly service to purge (the target's `service:`).
	ServiceID string
	// Token is a Fastly API token with the purge_select scope, and
	// purge_all to purge everything, on the service. It goes only in the
	// Fastly-Key header.
	Token string
	// Domains are the service's host names: a bare path is purged on the
	// first, a pasted URL must be on one of them.
	Domains []string
	// Soft makes URL and key purges soft (Fastly-Soft-Purge: 1).
	Soft bool
	// Endpoint replaces DefaultEndpoint: the emulator, a test server.
	Endpoint string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Redirects are never followed, whatever the client says, so
	// that the token does not follow them.
	HTTPClient *http.Client
}

// Provider purges one Fastly service. It is safe for concurrent use.
type Provider struct {
	serviceID string
	token     string
	domains   []string
	soft      bool
	endpoint  string // the base URL, without a trailing "/"
	base      string // scheme://host:port of the endpoint: safe to show
	client    *http.Client

	// wait sleeps d or until ctx is done; tests replace it.
	wait func(ctx context.Context, d time.Duration) error
	now  func() time.Time
}

var _ purge.Provider = (*Provider)(nil)

// New returns a Provider for opts. It refuses an empty service ID, token
// or domain list, a token that cannot go in a header, and an endpoint that
// is not an http(s) URL; its errors never hold the token.
func New(opts Options) (*Provider, error) {
	switch {
	case opts.ServiceID == "":
		return nil, errors.New("fastly: no service ID (the target's service:)")
	case strings.ContainsAny(opts.ServiceID, "/?#% "):
		return nil, fmt.Errorf("fastly: service ID %q is not a Fastly service ID", opts.ServiceID)
	case opts.Token == "":
		return nil, errors.New("fastly: no API token (the variable the target's token_env names is empty)")
	case !printable(opts.Token):
		return nil, errors.New("fastly: the API token holds spaces or control characters; check the variable the target's token_env names")
	case len(opts.Domains) == 0:
		return nil, errors.New("fastly: no domains (the target's domains:): a path needs a host to purge it on")
	}
	domains := make([]string, len(opts.Domains))
	for i, d := range opts.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || strings.ContainsAny(d, "/?#@ ") {
			return nil, fmt.Errorf("fastly: domain %q is not a host name", opts.Domains[i])
		}
		domains[i] = d
	}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		// Not quoted: a malformed URL may hold a secret.
		return nil, errors.New("fastly: the endpoint is not an http:// or https:// URL with a host and nothing after its path")
	}
	client := http.Client{Timeout: DefaultTimeout}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	// Go keeps custom headers such as Fastly-Key on a redirect to another
	// host; a purge API never redirects, so nothing is followed.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Provider{
		serviceID: opts.ServiceID,
		token:     opts.Token,
		domains:   domains,
		soft:      opts.Soft,
		endpoint:  strings.TrimSuffix(endpoint, "/"),
		base:      hostPort(u),
		client:    &client,
		wait:      sleep,
		now:       time.Now,
	}, nil
}

// printable reports whether s is visible ASCII only, as a token is.
func printable(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// hostPort returns scheme://host:port of u, the port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Capabilities says what Fastly purges: files, surrogate keys and
// everything, never a prefix or a host; keys 256 a request, one kind a
// request. A purge is done when Purge returns, Fastly keeps no history
// cdnpurge can read, and a repeat purges again.
func (p *Provider) Capabilities() purge.Capabilities {
	return purge.Capabilities{
		Provider:          "Fastly",
		Kinds:             purge.KindFile | purge.KindTag | purge.KindEverything,
		MaxBatch:          MaxKeys,
		MaxBatchByKind:    map[purge.Kind]int{purge.KindFile: 1, purge.KindEverything: 1},
		OneKindPerRequest: true,
		Soft:              p.soft,
	}
}

// Purge purges req.Items on the service: files one request each (a few at
// once), keys in requests of at most 256, everything with purge_all,
// each kind in the order it first appears. It refuses, before sending
// anything, a prefix, a host, and a URL on a host that is not one of the
// service's domains. Repeated items are sent once.
//
// The Invalidation has the purge IDs Fastly answered joined by "," (purge
// all has none), Status Completed, the items as sent in Paths, the
// successful requests in Requests (retries after a 429 not counted), and
// New true. A purge that fails part way returns the error of the request
// that failed, wrapping purge.ErrPartial, with the Invalidation of what
// went through.
func (p *Provider) Purge(ctx context.Context, req purge.Request) (*purge.Invalidation, error) {
	caps := p.Capabilities()
	if len(req.Items) == 0 {
		return nil, purge.Errorf(purge.Invalid, "nothing to purge: name paths, URLs, `#keys` or `/*`")
	}
	if err := caps.Check(req.Items); err != nil {
		return nil, err
	}
	items := unique(req.Items)
	for _, it := range items {
		if err := p.checkHost(it); err != nil {
			return nil, err
		}
	}
	done := &result{}
	start := p.now()
	var err error
	// The URLs of a purge go as one group, purged concurrently (a request
	// each, as Capabilities says); keys in batches of MaxKeys.
	groups := purge.Capabilities{OneKindPerRequest: true, MaxBatch: MaxKeys, MaxBatchByKind: map[purge.Kind]int{purge.KindFile: 0}}
	for _, batch := range groups.Batches(items) {
		switch batch[0].Kind {
		case purge.KindFile:
			err = p.purgeURLs(ctx, batch, done)
		case purge.KindTag:
			err = p.purgeKeys(ctx, batch, done)
		case purge.KindEverything:
			err = p.purgeAll(ctx, batch[0], done)
		}
		if err != nil {
			break
		}
	}
	inv := &purge.Invalidation{
		ID:              strings.Join(slices.Compact(done.ids), ","),
		DistributionID:  p.serviceID,
		Status:          purge.StatusCompleted,
		CreateTime:      start,
		CallerReference: req.Reference,
		Paths:           done.paths,
		New:             true,
		Requests:        done.requests,
	}
	if err != nil {
		if len(done.paths) == 0 {
			return nil, err
		}
		return inv, partial(err, len(done.paths), len(items))
	}
	return inv, nil
}

// result is what went through so far.
type result struct {
	ids      []string
	paths    []string
	requests int
}

// unique returns items without repeats (by Item.String), in order.
func unique(items []purge.Item) []purge.Item {
	seen := make(map[string]bool, len(items))
	out := make([]purge.Item, 0, len(items))
	for _, it := range items {
		if s := it.String(); !seen[s] {
			seen[s] = true
			out = append(out, it)
		}
	}
	return out
}

// checkHost refuses a pasted URL on a host that is not one of the
// service's domains: Fastly's URL purge is not scoped to a service, and
// would purge another site's cache.
func (p *Provider) checkHost(it purge.Item) error {
	if it.Kind != purge.KindFile || it.Host == "" || slices.Contains(p.domains, it.Host) {
		return nil
	}
	return &purge.Error{
		Code: purge.Invalid,
		Message: fmt.Sprintf("`%s` is not on this Fastly service's domains (%s): purge a path or a URL on one of them",
			it.String(), strings.Join(p.domains, ", ")),
	}
}

// partial wraps err, the error of a request made after some went through,
// in purge.ErrPartial, saying how much went through.
func partial(err error, done, total int) error {
	code, msg := purge.ErrorCode(err), purge.ErrorMessage(err)
	return &purge.Error{
		Code:    code,
		Message: fmt.Sprintf("%s (%d of the %d items were purged before this failure)", msg, done, total),
		Err:     fmt.Errorf("%w: %w", purge.ErrPartial, err),
	}
}

// errSkipped marks a URL not sent because another failed first.
var errSkipped = errors.New("not sent: an earlier URL purge failed")

// purgeURLs purges files, one request each, at most urlConcurrency at
// once; after a failure it sends no more, and the requests in flight run
// to their end. It is written out rather than with errgroup: x/sync is not
// a dependency, and cancelling purges in flight would leave their outcome
// unknown.
func (p *Provider) purgeURLs(ctx context.Context, items []purge.Item, done *result) error {
	ids := make([]string, len(items))
	errs := make([]error, len(items))
	sem := make(chan struct{}, urlConcurrency)
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	for i, it := range items {
		sem <- struct{}{}
		if failed.Load() {
			<-sem
			errs[i] = errSkipped
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if ids[i], errs[i] = p.purgeURL(ctx, it); errs[i] != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	var first error
	for i, it := range items {
		switch {
		case errs[i] == nil:
			done.ids = append(done.ids, ids[i])
			done.paths = append(done.paths, it.String())
			done.requests++
		case first == nil && !errors.Is(errs[i], errSkipped):
			first = errs[i]
		}
	}
	return first
}

// purgeURL purges one file: POST /purge/{host}{path}, the path as
// normalized (escaped, with its query).
func (p *Provider) purgeURL(ctx context.Context, it purge.Item) (string, error) {
	host := it.Host
	if host == "" {
		host = p.domains[0]
	}
	c := call{
		what:  "URL " + host + it.Path,
		path:  "/purge/" + host + it.Path,
		scope: "purge_select",
		soft:  p.soft,
	}
	body, err := p.do(ctx, c)
	if err != nil {
		return "", err
	}
	var ans struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status != "ok" {
		return "", c.unexpected(body, err)
	}
	return ans.ID, nil
}

// purgeKeys purges at most MaxKeys surrogate keys in one request, with
// the documented JSON body (the Surrogate-Key header form is also
// documented, but a header of 256 long keys may pass a proxy's limit).
func (p *Provider) purgeKeys(ctx context.Context, items []purge.Item, done *result) error {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Tag
	}
	reqBody, _ := json.Marshal(map[string][]string{"surrogate_keys": keys}) // strings: never fails
	c := call{
		what:  p.keysWhat(keys),
		path:  "/service/" + url.PathEscape(p.serviceID) + "/purge",
		body:  reqBody,
		scope: "purge_select",
		soft:  p.soft,
	}
	body, err := p.do(ctx, c)
	if err != nil {
		return err
	}
	ids, err := parseKeysAnswer(body, keys)
	if err != nil {
		return c.unexpected(body, err)
	}
	done.ids = append(done.ids, ids...)
	for _, it := range items {
		done.paths = append(done.paths, it.String())
	}
	done.requests++
	return nil
}

func (p *Provider) keysWhat(keys []string) string {
	if len(keys) == 1 {
		return fmt.Sprintf("surrogate key %s on service %s", keys[0], p.serviceID)
	}
	return fmt.Sprintf("%d surrogate keys on service %s", len(keys), p.serviceID)
}

// parseKeysAnswer reads a bulk purge's answer, a JSON object of key to
// purge ID, and returns the IDs in the order of keys (a key Fastly did not
// name has none).
func parseKeysAnswer(body []byte, keys []string) ([]string, error) {
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null answer")
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		if id := m[k]; id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// purgeAll purges everything: POST /service/{service_id}/purge_all, never
// soft (see the package comment).
func (p *Provider) purgeAll(ctx context.Context, it purge.Item, done *result) error {
	c := call{
		what:  "everything on service " + p.serviceID,
		path:  "/service/" + url.PathEscape(p.serviceID) + "/purge_all",
		scope: "purge_all",
	}
	body, err := p.do(ctx, c)
	if err != nil {
		return err
	}
	var ans struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status != "ok" {
		return c.unexpected(body, err)
	}
	done.paths = append(done.paths, it.String())
	done.requests++
	return nil
}

// do sends c, waiting out a 429 while the wait fits (see the package
// comment), and returns the body of a 2xx answer.
func (p *Provider) do(ctx context.Context, c call) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, err := p.send(ctx, c)
		after, limited := purge.RetryAfter(err)
		if !limited || attempt == maxAttempts || !fits(ctx, after) {
			return body, err
		}
		if p.wait(ctx, after) != nil {
			return nil, err
		}
	}
}

// fits reports whether waiting d leaves time before ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	if d > maxRateLimitWait {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// send makes one request and classifies its failure.
func (p *Provider) send(ctx context.Context, c call) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+c.path, bytes.NewReader(c.body))
	if err != nil {
		return nil, c.invalid(err)
	}
	req.Header.Set("Fastly-Key", p.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "cdnpurge")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.soft {
		req.Header.Set("Fastly-Soft-Purge", "1")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, c.transport(p.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, c.transport(p.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	return nil, c.status(resp.StatusCode, resp.Header, body, p.now(), p.token)
}

// Operation names the API operation of a request the Provider sends, for
// metrics: "purge_all", "purge" (surrogate keys) or "purge_url"; "other"
// for anything else.
func Operation(r *http.Request) string {
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, "/purge_all"):
		return "purge_all"
	case strings.HasPrefix(p, "/service/"):
		return "purge"
	case strings.HasPrefix(p, "/purge/"):
		return "purge_url"
	}
	return "other"
}
