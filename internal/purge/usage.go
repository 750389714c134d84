package purge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// listPageSize is how many invalidations one ListInvalidations call
	// asks for: CloudFront's default page size.
	listPageSize = 100
	// inFlightFirstPage is the size of InFlight's first page: what is in
	// progress is almost always among the newest invalidations (most
	// complete within minutes), so it asks for few.
	inFlightFirstPage = 10
	// inFlightMaxPages bounds how many ListInvalidations pages InFlight
	// reads: 910 invalidations, far more than are ever in progress at once
	// in practice (each holds at least one path, and at most 3,015 paths may
	// be in progress).
	inFlightMaxPages = 10
	// maxConcurrentGets bounds the GetInvalidation calls one InFlight or
	// Usage call has in flight at once, to stay well inside CloudFront's
	// request rate.
	maxConcurrentGets = 8
	// maxIDsInMessage is how many invalidation IDs Check's message names.
	maxIDsInMessage = 5
)

// Load is what is in progress on one distribution: the file paths (cache
// tags included) and wildcard paths of its InProgress invalidations, the two
// numbers CloudFront limits (MaxFilePaths and MaxWildcardPaths).
type Load struct {
	Files     int
	Wildcards int
	// InProgress holds the IDs of the invalidations in progress, newest
	// first.
	InProgress []string
	// references are their CallerReferences.
	references []string
}

// Includes reports whether an invalidation in progress has callerReference:
// a repeat of a request CloudFront already took, which it answers with the
// existing invalidation whatever the limits, so there is nothing to check.
func (l Load) Includes(callerReference string) bool {
	for _, r := range l.references {
		if r == callerReference {
			return true
		}
	}
	return false
}

// InFlight returns the load in progress on distributionID.
//
// It lists the invalidations newest first, the 10 newest and then 100 a
// page, and keeps paging while a page still holds an InProgress one: an old
// invalidation may still be in progress behind newer completed ones, so the
// first Completed one is no reason to stop. It reads at most 10 pages (910
// invalidations). An invalidation in progress behind 10 newer completed ones,
// or beyond the pages, is not counted: then CloudFront's own refusal
// (RateLimited) remains the last word. Each InProgress invalidation is then read with
// GetInvalidation, at most 8 at once, for its paths; one that has completed
// since it was listed is left out.
func InFlight(ctx context.Context, inv Invalidator, distributionID string) (Load, error) {
	var ids []string
	err := eachPage(ctx, inv, distributionID, inFlightFirstPage, inFlightMaxPages, func(page *Page) (bool, error) {
		more := false
		for _, s := range page.Items {
			if s.Status == StatusInProgress {
				ids = append(ids, s.ID)
				more = true
			}
		}
		return more, nil
	})
	if err != nil {
		return Load{}, err
	}
	got, err := getEach(ctx, inv, distributionID, ids)
	if err != nil {
		return Load{}, err
	}
	var l Load
	for _, g := range got {
		if g.Status != StatusInProgress {
			continue
		}
		files, wildcards := CountPaths(g.Paths)
		l.Files += files
		l.Wildcards += wildcards
		l.InProgress = append(l.InProgress, g.ID)
		l.references = append(l.references, g.CallerReference)
	}
	return l, nil
}

// Check reports whether a purge of paths fits beside the load: nil when it
// does, otherwise a *Error whose message tells a chat user which limit it
// would break and what is in progress. The code is RateLimited when waiting
// for the invalidations in progress would help, and Invalid when the purge
// alone is over a limit. A purge that reaches a limit exactly fits.
func (l Load) Check(paths []string) error {
	files, wildcards := CountPaths(paths)
	if err := l.check("wildcard paths", "wildcards", MaxWildcardPaths, l.Wildcards, wildcards); err != nil {
		return err
	}
	return l.check("file paths", "paths", MaxFilePaths, l.Files, files)
}

// check is Check for one of the two limits: what names the paths counted,
// fewer what to purge fewer of.
func (l Load) check(what, fewer string, limit, inProgress, adds int) error {
	switch {
	case inProgress+adds <= limit:
		return nil
	case adds > limit:
		return Errorf(Invalid, "CloudFront allows %s %s in progress at once per distribution, and this purge alone has %s. Purge fewer %s.",
			Thousands(limit), what, Thousands(adds), fewer)
	}
	verb := "are"
	if inProgress == 1 {
		verb = "is"
	}
	return Errorf(RateLimited, "CloudFront allows %s %s in progress at once per distribution; %s %s in progress%s and this purge adds %s. Try again when one completes, usually within minutes, or purge fewer %s.",
		Thousands(limit), what, Thousands(inProgress), verb, l.idList(), Thousands(adds), fewer)
}

// idList names the invalidations in progress for a message, " (I1, I2)",
// the first few only; "" when there are none.
func (l Load) idList() string {
	ids := l.InProgress
	if len(ids) == 0 {
		return ""
	}
	more := ""
	if len(ids) > maxIDsInMessage {
		more = fmt.Sprintf(" and %d more", len(ids)-maxIDsInMessage)
		ids = ids[:maxIDsInMessage]
	}
	return " (" + strings.Join(ids, ", ") + more + ")"
}

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
	err := eachPage(ctx, inv, distributionID, listPageSize, 0, func(page *Page) (bool, error) {
		var ids []string
		for _, s := range page.Items {
			if s.CreateTime.Before(since) {
				break
			}
			ids = append(ids, s.ID)
		}
		got, err := getEach(ctx, inv, distributionID, ids)
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

// eachPage calls fn with each page of distributionID's invalidations, newest
// first (firstPage of them, then listPageSize a page), until fn returns
// false or an error, the last page, or maxPages pages (0 for no bound).
func eachPage(ctx context.Context, inv Invalidator, distributionID string, firstPage, maxPages int, fn func(*Page) (more bool, err error)) error {
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

// getEach reads the invalidations ids of distributionID with
// GetInvalidation, at most maxConcurrentGets at once. got[i] is the
// invalidation ids[i], or nil when it was not read: the first error (or the
// end of ctx) stops the reads that have not started, and is returned.
func getEach(ctx context.Context, inv Invalidator, distributionID string, ids []string) ([]*Invalidation, error) {
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
