package purge

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

const (
	// listPageSize is how many invalidations one ListInvalidations call
	// asks for: CloudFront's default page size.
	listPageSize = 100
	// maxConcurrentGets bounds the GetInvalidation calls one EachPage
	// reader has in flight at once (GetEach), to stay well inside
	// CloudFront's request rate.
	maxConcurrentGets = 8
)

// Thousands formats n with commas between groups of three digits, as
// CloudFront's documentation writes its limits (3,000).
func Thousands(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// MonthUsage is what a distribution's invalidations created since a given
// instant cost: how many there were and how many paths CloudFront bills for
// them.
type MonthUsage struct {
	Invalidations int
	// Paths is the billed paths: one per path or cache tag of each
	// invalidation, a wildcard counting as one.
	Paths int
	// Complete is false when the count stopped early (its context ended):
	// the numbers are then lower bounds, "at least".
	Complete bool
}

// Usage counts the invalidations of distributionID created at or after
// since, and their billed paths. It lists them newest first, stops at the
// first one older than since, and reads each with GetInvalidation (at most 8
// at once) for its paths.
//
// If ctx ends before everything is counted, Usage returns what it counted,
// with Complete false and no error, so that a caller can still say "at
// least". Any other failure returns an error, with what was counted so far.
func Usage(ctx context.Context, inv Invalidator, distributionID string, since time.Time) (MonthUsage, error) {
	var u MonthUsage
	err := EachPage(ctx, inv, distributionID, listPageSize, 0, func(page *Page) (bool, error) {
		var ids []string
		for _, s := range page.Items {
			if s.CreateTime.Before(since) {
				break
			}
			ids = append(ids, s.ID)
		}
		got, err := GetEach(ctx, inv, distributionID, ids)
		for _, g := range got {
			if g != nil {
				u.Invalidations++
				u.Paths += len(g.Paths)
			}
		}
		return len(ids) == len(page.Items), err
	})
	switch {
	case err == nil:
		u.Complete = true
	case ctx.Err() != nil:
		err = nil
	}
	return u, err
}

// MonthStart returns the first instant of t's calendar month in UTC: AWS
// bills by UTC calendar month, whatever t's location.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// EachPage calls fn with each page of distributionID's invalidations, newest
// first (firstPage of them, then listPageSize a page), until fn returns
// false or an error, the last page, or maxPages pages (0 for no bound).
func EachPage(ctx context.Context, inv Invalidator, distributionID string, firstPage, maxPages int, fn func(*Page) (more bool, err error)) error {
	opts := ListOptions{MaxItems: firstPage}
	for n := 1; ; n++ {
		page, err := inv.ListInvalidations(ctx, distributionID, opts)
		if err != nil {
			return fmt.Errorf("list the invalidations of %s: %w", distributionID, err)
		}
		more, err := fn(page)
		if err != nil || !more || page.NextMarker == "" || n == maxPages {
			return err
		}
		opts.Marker, opts.MaxItems = page.NextMarker, listPageSize
	}
}

// GetEach reads the invalidations ids of distributionID with
// GetInvalidation, at most maxConcurrentGets at once. got[i] is the
// invalidation ids[i], or nil when it was not read: the first error (or the
// end of ctx) stops the reads that have not started, and is returned.
func GetEach(ctx context.Context, inv Invalidator, distributionID string, ids []string) ([]*Invalidation, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make([]*Invalidation, len(ids))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, maxConcurrentGets)
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			g, err := inv.GetInvalidation(ctx, distributionID, id)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("invalidation %s of %s: %w", id, distributionID, err)
					cancel()
				}
				mu.Unlock()
				return
			}
			got[i] = g
		})
	}
	wg.Wait()
	if firstErr != nil {
		return got, firstErr
	}
	return got, ctx.Err()
}
