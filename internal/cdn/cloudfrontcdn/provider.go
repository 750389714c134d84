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
	Billing:    "the first 1,000 paths a month are free, then $0.005 a path; a wildcard path counts as one",
}

// Target is the purge.Provider of one distribution or distribution tenant,
// through an Invalidator (a *Backend, or a purge.Router over several).
type Target struct {
	Invalidator purge.Invalidator
	// DistributionID is the distribution or tenant ID (see
	// purge.IsTenantID).
	DistributionID string
}

var _ purge.Provider = Target{}

// Capabilities returns CloudFront's Capabilities.
func (t Target) Capabilities() purge.Capabilities { return Capabilities }

// Purge creates one invalidation of req.Items, with req.Reference as its
// CallerReference. Items become CloudFront paths (see Paths).
func (t Target) Purge(ctx context.Context, req purge.Request) (*purge.Invalidation, error) {
	if err := Capabilities.Check(req.Items); err != nil {
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
