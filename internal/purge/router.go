package purge

import "context"

// Router is an Invalidator that sends each call to the Invalidator
// registered for its distribution ID, so that targets in other AWS accounts
// are reached with their own credentials. A distribution with no entry goes
// to Default; with no Default either, the call fails with NotFound. Keys are
// distribution IDs or distribution tenant IDs, as callers pass them. A Router
// is safe for concurrent use as long as its fields are not changed and its
// Invalidators are.
type Router struct {
	ByDistribution map[string]Invalidator
	Default        Invalidator
}

var _ Invalidator = Router{}

// CreateInvalidation creates batch with the Invalidator of
// batch.DistributionID.
func (r Router) CreateInvalidation(ctx context.Context, batch Batch) (*Invalidation, error) {
	inv, err := r.route(batch.DistributionID)
	if err != nil {
		return nil, err
	}
	return inv.CreateInvalidation(ctx, batch)
}

// GetInvalidation reads the invalidation with the Invalidator of
// distributionID.
func (r Router) GetInvalidation(ctx context.Context, distributionID, id string) (*Invalidation, error) {
	inv, err := r.route(distributionID)
	if err != nil {
		return nil, err
	}
	return inv.GetInvalidation(ctx, distributionID, id)
}

// ListInvalidations lists with the Invalidator of distributionID.
func (r Router) ListInvalidations(ctx context.Context, distributionID string, opts ListOptions) (*Page, error) {
	inv, err := r.route(distributionID)
	if err != nil {
		return nil, err
	}
	return inv.ListInvalidations(ctx, distributionID, opts)
}

// route returns the Invalidator for distributionID.
func (r Router) route(distributionID string) (Invalidator, error) {
	if inv := r.ByDistribution[distributionID]; inv != nil {
		return inv, nil
	}
	if r.Default != nil {
		return r.Default, nil
	}
	return nil, Errorf(NotFound, "distribution %q is not a configured target", distributionID)
}
