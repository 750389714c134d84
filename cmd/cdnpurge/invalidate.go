package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// runInvalidate is `cdnpurge invalidate`: purge paths from a terminal or a
// pipeline, optionally waiting until CloudFront has completed.
func runInvalidate(ctx context.Context, e env) (err error) {
	fs := newFlagSet("invalidate", e)
	where := whereFlags(fs)
	wait := fs.Bool("wait", false, "wait until the invalidation has completed, showing progress")
	timeout := fs.Duration("timeout", 15*time.Minute, "with --wait, stop waiting after this long (exit 5; the invalidation keeps running)")
	ref := fs.String("caller-reference", "", "a token that makes the request idempotent, e.g. the pipeline's job ID (default random)")
	asJSON := fs.Bool("json", false, "print one JSON object at the end, on failure too (progress goes to stderr)")
	printed := false
	defer jsonOnFailure(e, asJSON, &printed, &err)
	setUsage(fs, "cdnpurge invalidate [--distribution ID | --target NAME] [--wait] [--timeout D] [--caller-reference REF] [--json] PATH_OR_URL...",
		"Purges paths or pasted URLs from CloudFront's caches. Paths start with /, may end in *,\n"+
			"and are normalized as in Slack; duplicates and paths covered by a wildcard are dropped.")
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
	paths, err := purge.NormalizePaths(items)
	if err != nil {
		return cdnError(err)
	}
	cfg, inv, err := cliTarget(ctx, e, where)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(*ref)
	if token == "" {
		token = time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(8)
	}

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
