package cloudfrontcdn

import (
	"context"
	"fmt"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// CloudFront's limits on what may be in progress per distribution at once
// (InvalidationLimits in the CloudFront developer guide); one invalidation
// cannot exceed them either (see CheckPaths).
const (
	// MaxFilePaths is how many file (non-wildcard) paths, cache tags
	// included, may be in progress.
	MaxFilePaths = 3000
	// MaxWildcardPaths is how many wildcard paths may be in progress.
	MaxWildcardPaths = 15
)

const (
	// inFlightFirstPage is the size of InFlight's first page: what is in
	// progress is almost always among the newest invalidations (most
	// complete within minutes), so it asks for few.
	inFlightFirstPage = 10
	// inFlightMaxPages bounds how many ListInvalidations pages InFlight
	// reads: 910 invalidations, far more than are ever in progress at once
	// in practice (each holds at least one path, and at most 3,015 paths may
	// be in progress).
	inFlightMaxPages = 10
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
func InFlight(ctx context.Context, inv purge.Invalidator, distributionID string) (Load, error) {
	var ids []string
	err := purge.EachPage(ctx, inv, distributionID, inFlightFirstPage, inFlightMaxPages, func(page *purge.Page) (bool, error) {
		more := false
		for _, s := range page.Items {
			if s.Status == purge.StatusInProgress {
				ids = append(ids, s.ID)
				more = true
			}
		}
		return more, nil
	})
	if err != nil {
		return Load{}, err
	}
	got, err := purge.GetEach(ctx, inv, distributionID, ids)
	if err != nil {
		return Load{}, err
	}
	var l Load
	for _, g := range got {
		if g.Status != purge.StatusInProgress {
			continue
		}
		files, wildcards := purge.CountPaths(g.Paths)
		l.Files += files
		l.Wildcards += wildcards
		l.InProgress = append(l.InProgress, g.ID)
		l.references = append(l.references, g.CallerReference)
	}
	return l, nil
}

// Check reports whether a purge of paths fits beside the load: nil when it
// does, otherwise a *purge.Error whose message tells a chat user which limit it
// would break and what is in progress. The code is RateLimited when waiting
// for the invalidations in progress would help, and Invalid when the purge
// alone is over a limit. A purge that reaches a limit exactly fits.
func (l Load) Check(paths []string) error {
	files, wildcards := purge.CountPaths(paths)
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
		return purge.Errorf(purge.Invalid, "CloudFront allows %s %s in progress at once per distribution, and this purge alone has %s. Purge fewer %s.",
			purge.Thousands(limit), what, purge.Thousands(adds), fewer)
	}
	verb := "are"
	if inProgress == 1 {
		verb = "is"
	}
	return purge.Errorf(purge.RateLimited, "CloudFront allows %s %s in progress at once per distribution; %s %s in progress%s and this purge adds %s. Try again when one completes, usually within minutes, or purge fewer %s.",
		purge.Thousands(limit), what, purge.Thousands(inProgress), verb, l.idList(), purge.Thousands(adds), fewer)
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
