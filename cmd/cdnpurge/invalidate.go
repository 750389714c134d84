package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// invalidateJSON is what `invalidate --json` prints.
type invalidateJSON struct {
	invalidationJSON
	Dropped         int       `json:"dropped"`
	CallerReference string    `json:"caller_reference"`
	Created         time.Time `json:"created"`
	Elapsed         float64   `json:"elapsed"` // seconds
	// Error is set when the invalidation was created but the command still
	// failed: --wait ran out, was interrupted, or could not follow it.
	Error *errorJSON `json:"error,omitempty"`
}

// purgedJSON is what `invalidate --json` prints for a target whose provider
// has no status to follow (Capabilities.Status false): the purge is done.
type purgedJSON struct {
	Target   string       `json:"target"`
	Provider string       `json:"provider"`
	Status   purge.Status `json:"status"`
	// Items are the items purged, as sent (Item.String): a pasted URL
	// whole.
	Items []string `json:"items"`
	// Requests is how many API requests the purge took.
	Requests int `json:"requests"`
	// IDs are the provider's IDs of the purge, one a request that had one;
	// empty when it gives none (Varnish, Fastly's purge all).
	IDs     []string `json:"ids"`
	Dropped int      `json:"dropped"`
	Soft    bool     `json:"soft"`
	Elapsed float64  `json:"elapsed"` // seconds
	// Error is set when the purge failed part way: Items are what was
	// purged before it.
	Error *errorJSON `json:"error,omitempty"`
}

// runInvalidate is `cdnpurge invalidate`: purge paths from a terminal or a
// pipeline, optionally waiting until CloudFront has completed.
func runInvalidate(ctx context.Context, e env) (err error) {
	fs := newFlagSet("invalidate", e)
	where := whereFlags(fs)
	wait := fs.Bool("wait", false, "wait until the invalidation has completed, showing progress")
	timeout := fs.Duration("timeout", 15*time.Minute, "with --wait, stop waiting after this long (exit 5; the invalidation keeps running)")
	ref := fs.String("caller-reference", "", "a token that makes the request idempotent on CloudFront, e.g. the pipeline's job ID (default random)")
	asJSON := fs.Bool("json", false, "print one JSON object at the end, on failure too (progress goes to stderr)")
	printed := false
	defer jsonOnFailure(e, asJSON, &printed, &err)
	setUsage(fs, "cdnpurge invalidate [--distribution ID | --target NAME] [--wait] [--timeout D] [--caller-reference REF] [--json] PATH_OR_URL_OR_#TAG...",
		"Purges paths, pasted URLs or #tags from the CDN's caches: CloudFront's, or with --target those\n"+
			"of any target of the targets file (Cloudflare, Fastly, Varnish too). Paths start with /, may\n"+
			"end in *, and are normalized as in Slack; duplicates are dropped (on CloudFront, paths covered\n"+
			"by a wildcard too). An item the target's CDN cannot purge is refused before anything is sent.\n"+
			"A provider with no status to follow (Cloudflare, Fastly, Varnish) has purged when this returns,\n"+
			"so --wait has nothing to wait for.")
	items, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	switch {
	case len(items) == 0:
		return fmt.Errorf("%w: no paths given: name at least one path or URL, e.g. /index.html or '/blog/*' ('/*' purges everything)", errUsage)
	case *timeout <= 0:
		return fmt.Errorf("%w: --timeout must be positive, not %s", errUsage, *timeout)
	case isSet(fs, "caller-reference") && strings.TrimSpace(*ref) == "":
		return fmt.Errorf("%w: --caller-reference is empty", errUsage)
	}
	if err := where.check(); err != nil {
		return err
	}
	parsed, err := purge.ParseItems(items)
	if err != nil {
		return cdnError(err)
	}
	b, err := cliTarget(ctx, e, where)
	if err != nil {
		return err
	}
	caps := b.prov.Capabilities()
	if err := caps.Check(parsed); err != nil {
		return cdnError(err)
	}
	token := strings.TrimSpace(*ref)
	if token == "" {
		token = time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(8)
	}
	if !caps.Status {
		err := purgeNow(ctx, e, b, purge.Request{Reference: purge.CLICallerReference(token), Items: parsed}, len(items), *asJSON, &printed)
		if err == nil && *wait {
			fmt.Fprintf(e.stderr, "cdnpurge invalidate: --wait: %s has no status to follow: the purge was done when it answered, nothing to wait for\n", caps.Provider)
		}
		return err
	}
	paths, err := purge.NormalizePaths(items)
	if err == nil {
		// CloudFront's limits on one invalidation, before it is asked.
		err = cloudfrontcdn.CheckPaths(paths)
	}
	if err != nil {
		return cdnError(err)
	}
	cfg, inv := b.cfg, b.inv

	start := time.Now()
	created, err := inv.CreateInvalidation(ctx, purge.Batch{
		DistributionID:  cfg.DistributionID,
		CallerReference: purge.CLICallerReference(token),
		Paths:           paths,
	})
	if err != nil {
		return cdnError(err)
	}
	if len(created.Paths) == 0 {
		created.Paths = paths
	}
	dropped := len(items) - len(paths)
	// printJSON prints the invalidation, with failed (the error the
	// command ends with) inside if it ends with one.
	printJSON := func(last *purge.Invalidation, failed error) error {
		out := invalidateJSON{
			invalidationJSON: newInvalidationJSON(last.ID, cfg.DistributionID, last.Status, created.Paths), Dropped: dropped,
			CallerReference: created.CallerReference, Created: created.CreateTime.UTC(), Elapsed: seconds(time.Since(start)),
		}
		if failed != nil {
			out.Error = failureJSON(failed)
		}
		printed = true
		if err := writeJSON(e.stdout, out); err != nil {
			return errors.Join(failed, err)
		}
		return failed
	}
	if !*asJSON {
		w := newFields(e.stdout)
		w.field("invalidation", created.ID)
		w.field(targetKey(cfg.DistributionID), cfg.DistributionID)
		w.field("status", string(created.Status))
		w.field("paths", created.Paths...)
		if dropped > 0 {
			w.field("dropped", fmt.Sprintf("%d of %d given (duplicates, or covered by a wildcard)", dropped, len(items)))
		}
	}
	if !*wait || created.Done() {
		if *asJSON {
			return printJSON(created, nil)
		}
		return nil
	}

	// Progress goes where people look: stdout, or stderr when stdout is JSON.
	progOut := e.stdout
	if *asJSON {
		progOut = e.stderr
	}
	p := &progress{w: progOut, terminal: isTerminal(progOut), heartbeat: settingsOf(e).heartbeat, id: created.ID, start: start}
	p.update(created, time.Now())
	stopTicking := p.tick(time.Second)
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	opts := settingsOf(e).waitPoll
	opts.Progress = func(i *purge.Invalidation) { p.update(i, time.Now()) }
	last, err := purge.Watch(wctx, inv, cfg.DistributionID, created.ID, opts)
	stopTicking()
	p.finish()
	if last == nil {
		last = created
	}
	var failed error
	switch {
	case err == nil:
	case ctx.Err() != nil:
		failed = &exitError{code: exitFailure, err: err, kind: purge.Unavailable, msg: fmt.Sprintf(
			"interrupted: invalidation %s is still running on CloudFront; check it with `%s`", created.ID, where.statusCommand(created.ID))}
	case errors.Is(err, context.DeadlineExceeded):
		failed = &exitError{code: exitTimeout, err: err, kind: purge.Unavailable, msg: fmt.Sprintf(
			"gave up waiting after %s (--timeout): invalidation %s is still running (%s) on CloudFront; check it with `%s`",
			*timeout, created.ID, last.Status, where.statusCommand(created.ID))}
	default:
		x := cdnError(err).(*exitError)
		x.msg = fmt.Sprintf("invalidation %s was created, but following it failed: %s", created.ID, x.msg)
		failed = x
	}
	if *asJSON {
		return printJSON(last, failed)
	}
	return failed
}

// purgeNow is invalidate on a provider whose purge is done when it
// returns (Capabilities.Status false): it purges req and prints what the
// provider did, or, for a purge that failed part way, what it did before
// the failure, with the error. given is how many items the command named.
func purgeNow(ctx context.Context, e env, b *cliBackend, req purge.Request, given int, asJSON bool, printed *bool) error {
	caps := b.prov.Capabilities()
	start := time.Now()
	inv, err := b.prov.Purge(ctx, req)
	var failed error
	if err != nil {
		failed = cdnError(err)
		if inv == nil {
			return failed
		}
	}
	out := purgedJSON{
		Target: b.target, Provider: caps.Provider, Status: inv.Status, Items: inv.Paths, Requests: inv.Requests,
		IDs: []string{}, Dropped: given - len(req.Items), Soft: caps.Soft, Elapsed: seconds(time.Since(start)),
	}
	if out.Items == nil {
		out.Items = []string{}
	}
	if inv.ID != "" {
		out.IDs = strings.Split(inv.ID, ",")
	}
	if asJSON {
		if failed != nil {
			out.Error = failureJSON(failed)
		}
		*printed = true
		if err := writeJSON(e.stdout, out); err != nil {
			return errors.Join(failed, err)
		}
		return failed
	}
	fmt.Fprintf(e.stdout, "purged %s on %s (%s) in %s\n", count(len(out.Items), "item", "items"), b.target, caps.Provider, count(out.Requests, "request", "requests"))
	w := newFields(e.stdout)
	w.field("items", out.Items...)
	if len(out.IDs) > 0 {
		w.field("purge IDs", strings.Join(out.IDs, ", "))
	}
	if out.Soft {
		w.field("soft", "yes (files and tags are marked stale rather than evicted)")
	}
	if out.Dropped > 0 {
		w.field("dropped", fmt.Sprintf("%d of %d given (duplicates)", out.Dropped, given))
	}
	return failed
}

// count is "1 item", "2 items".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
