package purge

import (
	"context"
	"time"
)

// Status is the state of an invalidation as CloudFront reports it.
type Status string

// The statuses CloudFront reports. An invalidation starts InProgress and ends
// Completed; it never fails once accepted.
const (
	StatusInProgress Status = "InProgress"
	StatusCompleted  Status = "Completed"
)

// Batch is what one CreateInvalidation call asks for.
type Batch struct {
	// DistributionID names the CloudFront distribution, or a distribution
	// tenant (see IsTenantID).
	DistributionID string
	// CallerReference makes the call idempotent: the same reference with the
	// same paths returns the existing invalidation; with other paths it is a
	// Conflict.
	CallerReference string
	// Paths are normalized invalidation paths (see NormalizePath).
	Paths []string
}

// Invalidation is one invalidation as the CDN reports it.
type Invalidation struct {
	ID              string
	DistributionID  string
	Status          Status
	CreateTime      time.Time
	CallerReference string
	Paths           []string
	// New is set by CreateInvalidation: true when this call created the
	// invalidation, false when CloudFront answered a repeated
	// CallerReference with the invalidation an earlier call created. Only
	// the call that created an invalidation announces it (the audit post).
	New bool
	// Requests is how many API requests the purge took: more than one when
	// a Provider split it (see Capabilities.Batches); zero when unknown.
	Requests int
}

// Done reports whether the invalidation has completed.
func (inv *Invalidation) Done() bool { return inv.Status == StatusCompleted }

// Summary is one row of a ListInvalidations page.
type Summary struct {
	ID         string
	Status     Status
	CreateTime time.Time
}

// Page is one page of ListInvalidations, newest first as CloudFront orders
// them. NextMarker is empty on the last page.
type Page struct {
	Items      []Summary
	NextMarker string
}

// ListOptions selects one page of ListInvalidations.
type ListOptions struct {
	// Marker is the NextMarker of the previous page; empty for the first.
	Marker string
	// MaxItems caps the page size; zero lets the backend choose.
	MaxItems int
}

// Invalidator creates and reads CDN invalidations. Implementations return
// errors classified with a Code (see Error) and must be safe for concurrent
// use. internal/cdn/cdntest holds the conformance suite every implementation
// must pass. Every distributionID may also be a distribution tenant ID
// (see IsTenantID).
type Invalidator interface {
	CreateInvalidation(ctx context.Context, batch Batch) (*Invalidation, error)
	GetInvalidation(ctx context.Context, distributionID, id string) (*Invalidation, error)
	ListInvalidations(ctx context.Context, distributionID string, opts ListOptions) (*Page, error)
}
