package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// statusJSON is what `status --json` prints.
type statusJSON struct {
	invalidationJSON
	Created         time.Time `json:"created"`
	Age             float64   `json:"age"` // seconds
	CallerReference string    `json:"caller_reference"`
	RequestedBy     string    `json:"requested_by"`
}

// runStatus is `cdnpurge status`: one invalidation, by ID or the latest.
func runStatus(ctx context.Context, e env) (err error) {
	fs := newFlagSet("status", e)
	where := whereFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object (null when the distribution has no invalidation; {\"error\": …} on failure)")
	printed := false
	defer jsonOnFailure(e, asJSON, &printed, &err)
	setUsage(fs, "cdnpurge status [--distribution ID | --target NAME] [--json] [INVALIDATION_ID]",
		"Shows one invalidation (the latest without an ID): status, age, paths and who asked.\n"+
			"A target whose provider keeps no record of purges (Cloudflare, Fastly, Varnish) has none\n"+
			"to show: that is a usage mistake (exit 2; \"not_found\" with --json).")
	args, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	switch {
	case len(args) > 1:
		return fmt.Errorf("%w: at most one invalidation ID, got %d arguments", errUsage, len(args))
	case len(args) == 1 && strings.TrimSpace(args[0]) == "":
		return fmt.Errorf("%w: the invalidation ID is empty", errUsage)
	}
	if err := where.check(); err != nil {
		return err
	}
	b, err := historyTarget(ctx, e, where, "status")
	if err != nil {
		return err
	}
	cfg, inv := b.cfg, b.inv
	var id string
	if len(args) == 1 {
		id = strings.TrimSpace(args[0])
	} else {
		page, err := inv.ListInvalidations(ctx, cfg.DistributionID, purge.ListOptions{MaxItems: 1})
		if err != nil {
			return cdnError(err)
		}
		if len(page.Items) == 0 {
			if *asJSON {
				return writeJSON(e.stdout, nil)
			}
			fmt.Fprintf(e.stdout, "%s %s has no invalidations.\n", targetNoun(cfg.DistributionID), cfg.DistributionID)
			return nil
		}
		id = page.Items[0].ID
	}
	got, err := inv.GetInvalidation(ctx, cfg.DistributionID, id)
	if err != nil {
		return cdnError(err)
	}
	now := time.Now()
	if *asJSON {
		out := statusJSON{
			invalidationJSON: newInvalidationJSON(got.ID, cfg.DistributionID, got.Status, got.Paths),
			Created:          got.CreateTime.UTC(), Age: seconds(now.Sub(got.CreateTime)),
			CallerReference: got.CallerReference, RequestedBy: requestedBy(got.CallerReference),
		}
		return writeJSON(e.stdout, out)
	}
	w := newFields(e.stdout)
	w.field("invalidation", got.ID)
	w.field(targetKey(cfg.DistributionID), cfg.DistributionID)
	w.field("status", string(got.Status))
	w.field("created", fmt.Sprintf("%s (%s ago)", got.CreateTime.UTC().Format(time.RFC3339), formatDuration(now.Sub(got.CreateTime))))
	w.field("requested by", requestedBy(got.CallerReference))
	w.field("paths", got.Paths...)
	return nil
}

// requestedBy says who asked for an invalidation, from its CallerReference.
func requestedBy(callerReference string) string {
	switch source, user := purge.Requester(callerReference); {
	case source == "slack" && user != "":
		return "Slack user " + user
	case source == "slack":
		return "Slack"
	case source == "cli":
		return "cdnpurge CLI"
	}
	return "unknown (not created by cdnpurge)"
}
