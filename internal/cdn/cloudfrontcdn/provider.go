package cloudfrontcdn

import (
	"context"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Capabilities is what CloudFront can purge and how: every kind of item
// (a host is the whole distribution, "/*", since a distribution's hosts
// share its cache; a tag is a cache tag), one invalidation a purge, with a
// status to follow through GetInvalidation, kept in the distribution's
// history, idempotent by CallerReference, and billed by the path.
var Capabilities = purge.Capabilities{
	Provider:   "CloudFront",
	Kinds:      purge.KindFile | purge.KindPrefix | purge.KindTag | purge.KindHost | purge.KindEverything,
	Status:     true,
	History:    true,
	Idempotent: true,
	Pricing:    &Pricing,
}

// Pricing is CloudFront's published invalidation price (the CloudFront
// pricing page): the first 1,000 paths a month are free for each AWS
// account, then each costs $0.005. Every path or cache tag of an
// invalidation counts as one, and so does a wildcard, however many objects
// it matches.
var Pricing = purge.Pricing{FreePerMonth: 1000, PerItem: 0.005}

// Target is the purge.Provider of one distribution or distribution tenant,
// through an Invalidator (a *Backend, or a purge.Router over several).
type Target struct {
	Invalidator purge.Invalidator
	// DistributionID is the distribution or tenant ID (see
	// purge.IsTenantID).
	DistributionID string
}

var (
	_ purge.Provider    = Target{}
	_ purge.ItemChecker = Target{}
)

// MaxTagLength is the longest cache tag CloudFront takes, without the "#"
// (invalidation-specifying-tags in the developer guide).
const MaxTagLength = 256

// CheckItems checks items by CloudFront's rules for one invalidation: tags
// of at most MaxTagLength characters, and at most MaxFilePaths file
// and MaxWildcardPaths wildcard paths once reduced (see CheckPaths).
func (t Target) CheckItems(items []purge.Item) error {
	wildcards := 0
	for _, it := range items {
		switch {
		case it.Kind == purge.KindTag && len(it.Tag) > MaxTagLength:
			return purge.Errorf(purge.Invalid, "%q is a cache tag of %d characters; CloudFront allows at most %d", purge.Shorten("#"+it.Tag), len(it.Tag), MaxTagLength)
		case it.Kind != purge.KindFile && it.Kind != purge.KindTag:
			wildcards++
		}
	}
	if len(items)-wildcards <= MaxFilePaths && wildcards <= MaxWildcardPaths {
		// Within the limits before the cover, so within them after it.
		return nil
	}
	return CheckPaths(Paths(items))
}

// CheckPaths checks invalidation paths against CloudFront's limits on what
// may be in progress at once, which one invalidation cannot exceed either.
func CheckPaths(paths []string) error {
	files, wildcards := purge.CountPaths(paths)
	if files > MaxFilePaths {
		return purge.Errorf(purge.Invalid, "%d file paths in one request; CloudFront allows at most %d in progress", files, MaxFilePaths)
	}
	if wildcards > MaxWildcardPaths {
		return purge.Errorf(purge.Invalid, "%d wildcard paths in one request; CloudFront allows at most %d in progress", wildcards, MaxWildcardPaths)
	}
	return nil
}

// Capabilities returns CloudFront's Capabilities.
func (t Target) Capabilities() purge.Capabilities { return Capabilities }

// Purge creates one invalidation of req.Items, with req.Reference as its
// CallerReference. Items become CloudFront paths (see Paths).
func (t Target) Purge(ctx context.Context, req purge.Request) (*purge.Invalidation, error) {
	if err := Capabilities.Check(req.Items); err != nil {
		return nil, err
	}
	if err := t.CheckItems(req.Items); err != nil {
		return nil, err
	}
	inv, err := t.Invalidator.CreateInvalidation(ctx, purge.Batch{
		DistributionID: t.DistributionID, CallerReference: req.Reference, Paths: Paths(req.Items),
	})
	if err != nil {
		return nil, err
	}
	inv.Requests = 1
	return inv, nil
}

// Paths turns items into CloudFront invalidation paths, reduced to their
// minimal cover: a file or prefix is its path (a pasted URL's host is the
// distribution's, so it is dropped), a tag is "#tag", lower-cased, a host and everything
// are "/*".
func Paths(items []purge.Item) []string {
	paths := make([]string, 0, len(items))
	for _, it := range items {
		switch it.Kind {
		case purge.KindTag:
			// CloudFront's tags are case-insensitive (see purge.NormalizeTag).
			paths = append(paths, "#"+strings.ToLower(it.Tag))
		case purge.KindHost, purge.KindEverything:
			paths = append(paths, purge.FullPurge)
		default:
			paths = append(paths, it.Path)
		}
	}
	return purge.MinimalCover(paths)
}
