package purge

import (
	"context"
	"time"
)

// findMaxPages bounds how many ListInvalidations pages FindRequest reads:
// 1,000 invalidations created on one distribution since a request was made
// is far more than an approval's 15 minutes ever see.
const findMaxPages = 10

// FindRequest asks CloudFront whether an invalidation was already made for
// a request: it lists the invalidations of distributionID newest first,
// down to the first one created before since, reads each with
// GetInvalidation (at most 8 at once) and returns the newest whose
// CallerReference match accepts, or nil when there is none. since is when
// the request was made, less any clock difference to allow for.
//
// It is the look an approval click takes before it purges, so that a second
// click, at any time after the first, is told who approved and when instead
// of guessing from the time. It costs one ListInvalidations call and a
// GetInvalidation per invalidation created since the request.
func FindRequest(ctx context.Context, inv Invalidator, distributionID string, since time.Time, match func(callerReference string) bool) (*Invalidation, error) {
	var ids []string
	err := EachPage(ctx, inv, distributionID, listPageSize, findMaxPages, func(page *Page) (bool, error) {
		for _, s := range page.Items {
			if s.CreateTime.Before(since) {
				return false, nil
			}
			ids = append(ids, s.ID)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	got, err := GetEach(ctx, inv, distributionID, ids)
	if err != nil {
		return nil, err
	}
	for _, g := range got {
		if g != nil && match(g.CallerReference) {
			return g, nil
		}
	}
	return nil, nil
}
