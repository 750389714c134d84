package purge

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Provider purges one target's cache: a CloudFront distribution, a
// Cloudflare zone, a Fastly service, a Varnish cache. Each provider package
// (internal/cdn/...) builds its Providers and owns its rules, limits and
// price; code outside asks Capabilities, never the provider's name.
//
// Implementations must be safe for concurrent use, classify their errors
// with a Code where they enter (see Error), and pass the conformance suite
// in internal/cdn/cdntest.
type Provider interface {
	// Capabilities says what the provider can purge and how.
	Capabilities() Capabilities
	// Purge purges req.Items, splitting them into as many API requests as
	// the provider's limits need. It refuses, before sending anything, an
	// item of a kind the provider cannot purge (see Capabilities.Check).
	//
	// The returned Invalidation describes the purge: ID is the provider's
	// ID for it ("" when the provider gives none; several joined with ","
	// when it took several requests), Status is StatusCompleted when the
	// purge is done once Purge returns (Capabilities.Status false), Paths
	// are the items as sent (Item.String), Requests the API requests made,
	// and New is false only when an idempotent provider answered a repeated
	// Reference with an earlier purge.
	//
	// A purge split into several requests that fails part way returns the
	// error of the failed request, wrapping ErrPartial, with the
	// Invalidation of what was purged before it.
	Purge(ctx context.Context, req Request) (*Invalidation, error)
}

// ItemChecker is a Provider with rules for one purge's items beyond their
// kinds (CloudFront: at most 3,000 file and 15 wildcard paths, tags of at
// most 256 characters). The flow calls CheckItems before anything is sent
// or an approval is asked for; Purge checks again.
type ItemChecker interface {
	CheckItems(items []Item) error
}

// Request is one purge on one provider's target.
type Request struct {
	// Reference identifies the purge for idempotency (see
	// SlackCallerReference): an idempotent provider (Capabilities.Idempotent)
	// answers a repeated Reference with the first purge.
	Reference string
	// Items are what to purge, normalized (see ParseItem).
	Items []Item
}

// Capabilities says what a provider can purge and how, for the code outside
// the provider to ask instead of its name.
type Capabilities struct {
	// Provider is the provider's name as users read it: "CloudFront",
	// "Cloudflare", "Fastly", "Varnish".
	Provider string
	// Kinds is the set of item kinds the provider purges.
	Kinds Kind
	// MaxBatch is the most items one API request takes; Purge splits a
	// longer list into requests of at most this many. Zero: no limit.
	MaxBatch int
	// MaxBatchByKind overrides MaxBatch for the kinds it names, with
	// OneKindPerRequest: Fastly and Varnish purge one URL a request (1) but
	// many tags at once.
	MaxBatchByKind map[Kind]int
	// OneKindPerRequest says one API request takes items of one kind only;
	// Purge sends each kind in its own requests.
	OneKindPerRequest bool
	// Status says a purge has a status to follow (InProgress, then
	// Completed) through the provider's history; false means a purge is
	// done when Purge returns.
	Status bool
	// History says the provider keeps a record of past purges that
	// `status`, `list` and `usage` can read.
	History bool
	// Idempotent says a repeated Request.Reference returns the earlier
	// purge rather than purging again.
	Idempotent bool
	// Soft says purges mark objects stale rather than evict them.
	Soft bool
	// Pricing is how purges are billed, for `usage`; nil when they are
	// not.
	Pricing *Pricing
}

// Pricing is a provider's published price for purges: the first
// FreePerMonth billed items of each calendar month (UTC) are free for each
// account, then each costs PerItem dollars.
type Pricing struct {
	FreePerMonth int
	PerItem      float64
}

// Estimate estimates what items billed in one month cost: billable is how
// many are beyond the free ones, dollars what they cost. The free items are
// per account, so items should be the account's total; the estimate
// ignores taxes, credits and price changes.
func (p Pricing) Estimate(items int) (billable int, dollars float64) {
	billable = max(items-p.FreePerMonth, 0)
	return billable, float64(billable) * p.PerItem
}

// ErrUnsupported is in the chain of the error Check returns for an item of
// a kind the provider cannot purge. Its *Error has Code Invalid.
var ErrUnsupported = errors.New("item kind not supported by the provider")

// ErrPartial is in the chain of the error of a purge split into several
// requests that failed after some of them were made.
var ErrPartial = errors.New("purge made in part")

// Check refuses, with an Invalid error wrapping ErrUnsupported, the first
// item of a kind c cannot purge, naming the item and what the provider can
// purge instead: "Fastly cannot purge by prefix (`/blog/*`): use a
// surrogate key (`#tag`) or purge everything (`/*`)". Nil when c takes
// every item.
func (c Capabilities) Check(items []Item) error {
	for _, it := range items {
		if c.Kinds.Has(it.Kind) {
			continue
		}
		return &Error{
			Code:    Invalid,
			Message: c.Provider + " cannot purge " + kindPhrase(it.Kind) + " (`" + it.String() + "`)" + c.instead(it.Kind),
			Err:     ErrUnsupported,
		}
	}
	return nil
}

// kindPhrase names what purging an item of kind k means.
func kindPhrase(k Kind) string {
	switch k {
	case KindFile:
		return "a single file"
	case KindPrefix:
		return "by prefix"
	case KindTag:
		return "by cache tag"
	case KindHost:
		return "a whole host"
	case KindEverything:
		return "everything"
	}
	return k.String()
}

// instead says what c can purge in place of an item of kind k, or "" when
// nothing would stand in for it.
func (c Capabilities) instead(k Kind) string {
	var alts []string
	verb := ": use "
	add := func(kind Kind, what string) {
		if c.Kinds.Has(kind) && kind != k {
			alts = append(alts, what)
		}
	}
	switch k {
	case KindPrefix, KindHost:
		add(KindPrefix, "a prefix (`/blog/*`)")
		add(KindTag, "a "+c.tagWord()+" (`#tag`)")
		add(KindEverything, "purge everything (`/*`)")
	case KindTag:
		verb = ": purge "
		add(KindFile, "the paths")
		add(KindPrefix, "a prefix (`/blog/*`)")
		add(KindEverything, "everything (`/*`)")
	case KindEverything:
		add(KindPrefix, "a prefix (`/blog/*`)")
		add(KindTag, "a "+c.tagWord()+" (`#tag`)")
	case KindFile:
		add(KindPrefix, "a prefix (`/blog/*`)")
	}
	if len(alts) == 0 {
		return ""
	}
	if len(alts) == 1 {
		return verb + alts[0]
	}
	return verb + strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

// tagWord is what the provider calls a cache tag.
func (c Capabilities) tagWord() string {
	switch c.Provider {
	case "Fastly", "Varnish":
		return "surrogate key"
	}
	return "cache tag"
}

// Batches splits items into the requests c takes: at most MaxBatch items
// each and, with OneKindPerRequest, one kind each (at most BatchLimit of
// it), in the order the kinds first appear. Items keep their order within
// a kind.
func (c Capabilities) Batches(items []Item) [][]Item {
	if len(items) == 0 {
		return nil
	}
	var groups [][]Item
	if c.OneKindPerRequest {
		byKind := map[Kind]int{}
		for _, it := range items {
			i, ok := byKind[it.Kind]
			if !ok {
				i = len(groups)
				byKind[it.Kind] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], it)
		}
	} else {
		groups = [][]Item{items}
	}
	var out [][]Item
	for _, g := range groups {
		limit := c.MaxBatch
		if c.OneKindPerRequest {
			limit = c.BatchLimit(g[0].Kind)
		}
		for limit > 0 && len(g) > limit {
			out = append(out, g[:limit:limit])
			g = g[limit:]
		}
		out = append(out, g)
	}
	return out
}

// BatchLimit is the most items of kind k one request takes: its
// MaxBatchByKind, or MaxBatch; zero for no limit.
func (c Capabilities) BatchLimit(k Kind) int {
	if n, ok := c.MaxBatchByKind[k]; ok {
		return n
	}
	return c.MaxBatch
}

// RetryAfter returns how long the provider asked to wait before a retry,
// from the first *RateLimit in err's chain, and whether it said.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimit
	if errors.As(err, &rl) && rl.After > 0 {
		return rl.After, true
	}
	return 0, false
}

// RateLimit is the detail of a RateLimited error whose provider said when
// to come back (a 429's Retry-After). Wrap it in an *Error.
type RateLimit struct {
	After time.Duration
}

func (r *RateLimit) Error() string {
	return "rate limited: retry after " + r.After.String()
}
