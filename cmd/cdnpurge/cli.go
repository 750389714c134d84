package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// This file is the command line for people and pipelines: `invalidate`,
// `status` and `list`. They talk to CloudFront directly, through the same
// backend as the server, and end with an exit code a pipeline can act on.

// Exit codes of invalidate, status and list (0 is success, 2 a usage
// mistake, as for every command).
const (
	exitFailure = 1 // anything else, e.g. configuration
	exitRefused = 3 // a path CloudFront would refuse, or CloudFront refused as invalid
	exitCDN     = 4 // any other CloudFront error: not found, denied, rate limited, unavailable...
	exitTimeout = 5 // --wait ran out; the invalidation keeps running
)

// exitError carries the exit code of a failed command and the message
// stderr shows; err keeps the detail for errors.Is and errors.As. kind, when
// set, is the purge code --json reports; otherwise err's own.
type exitError struct {
	code int
	msg  string
	err  error
	kind purge.Code
}

func (e *exitError) Error() string {
	if e.msg != "" || e.err == nil {
		return e.msg
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// cdnError gives a backend error its exit code: 3 when CloudFront (or our own
// check of its rules) refused the input, 4 for any other failure. The message
// is the user-safe one: no server or credential detail reaches the terminal.
func cdnError(err error) error {
	code := exitCDN
	if purge.ErrorCode(err) == purge.Invalid {
		code = exitRefused
	}
	return &exitError{code: code, msg: purge.ErrorMessage(err), err: err}
}

// errorJSON is what --json prints on failure, alone or (when an
// invalidation was created) inside the command's own object: a purge code
// and the user-safe message, never the operator's detail.
type errorJSON struct {
	Code    purge.Code `json:"code"`
	Message string     `json:"message"`
}

// failureJSON words err for --json: usage mistakes and configuration
// problems are "invalid" with their message (both name only flags and
// variables); an *exitError has its kind or its cause's code, and its
// message; anything else is its code and purge.ErrorMessage.
func failureJSON(err error) *errorJSON {
	var xe *exitError
	switch {
	case errors.As(err, &xe):
		code := xe.kind
		if code == "" {
			code = purge.ErrorCode(xe.err)
		}
		msg := xe.msg
		if msg == "" {
			msg = purge.ErrorMessage(xe.err)
		}
		return &errorJSON{Code: code, Message: msg}
	case errors.Is(err, errUsage):
		return &errorJSON{Code: purge.Invalid, Message: strings.TrimPrefix(err.Error(), errUsage.Error()+": ")}
	}
	return &errorJSON{Code: purge.ErrorCode(err), Message: purge.ErrorMessage(err)}
}

// jsonOnFailure is deferred by the commands with --json: when the command
// fails (other than -h) and has not already printed its object with the
// error inside, it prints {"error": {...}} on stdout. The exit code stays
// the error's own.
func jsonOnFailure(e env, asJSON *bool, printed *bool, err *error) {
	if !*asJSON || *printed || *err == nil || errors.Is(*err, flag.ErrHelp) {
		return
	}
	if werr := writeJSON(e.stdout, struct {
		Error *errorJSON `json:"error"`
	}{failureJSON(*err)}); werr != nil {
		*err = errors.Join(*err, werr)
	}
}

// listPageSize is how many invalidations one ListInvalidations call asks for.
var listPageSize = 100

// waitPoll shapes how --wait polls: fast at first, since most invalidations
// finish in seconds, then every 10 s at most.
var waitPoll = purge.WatchOptions{FirstDelay: time.Second, MaxDelay: 10 * time.Second}

// heartbeat is how often --wait reports, when not on a terminal, that an
// invalidation is still running, so that a CI log shows the job is alive.
const heartbeat = 30 * time.Second

// cliTarget reads what to purge, and where, from the environment and the
// flags, and returns the backend for it: --target names a target of the
// targets file (a distribution or tenant, reached with its role_arn if it
// has one); otherwise --distribution, or CDNPURGE_DISTRIBUTION_ID. The
// returned configuration's DistributionID is the distribution or tenant.
// The command line is the operator's tool: the targets' Slack rules
// (channels, people, paths) do not apply to it.
func cliTarget(ctx context.Context, e env, where cliWhere) (config.Config, purge.Invalidator, error) {
	cfg := config.FromEnv(e.getenv)
	if *where.target != "" {
		return cliNamedTarget(ctx, e, cfg, *where.target)
	}
	if *where.dist != "" {
		cfg.DistributionID = *where.dist
	}
	if err := cfg.ValidateTarget(); err != nil {
		msg := "configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
		if cfg.DistributionID == "" {
			msg += "\n  (or pass --distribution ID, or --target NAME with a targets file)"
		}
		return cfg, nil, &exitError{code: exitFailure, msg: msg, err: err, kind: purge.Invalid}
	}
	inv, err := newInvalidator(ctx, cfg, e.getenv)
	if err != nil {
		return cfg, nil, &exitError{code: exitFailure, err: err}
	}
	return cfg, inv, nil
}

// cliNamedTarget is cliTarget for --target NAME.
func cliNamedTarget(ctx context.Context, e env, cfg config.Config, name string) (config.Config, purge.Invalidator, error) {
	fail := func(err error) (config.Config, purge.Invalidator, error) {
		msg := "configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
		return cfg, nil, &exitError{code: exitFailure, msg: msg, err: err, kind: purge.Invalid}
	}
	if err := cfg.ValidateFile(); err != nil {
		return fail(err)
	}
	targets, err := cfg.Targets()
	if err != nil {
		return fail(err)
	}
	t := targets.Named(name)
	if t == nil {
		var names []string
		for _, t := range targets.All() {
			names = append(names, t.Name)
		}
		return cfg, nil, fmt.Errorf("%w: --target %q is not in the targets file (%s)", errUsage, name, strings.Join(names, ", "))
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, e.getenv)
	if err != nil {
		return cfg, nil, &exitError{code: exitFailure, err: err}
	}
	cfg.DistributionID = t.DistributionID
	return cfg, targetInvalidator(awsCfg, cfg, targets), nil
}

// cliWhere holds the flags that say what to purge: --distribution or
// --target.
type cliWhere struct{ dist, target *string }

// whereFlags adds --distribution and --target to fs.
func whereFlags(fs *flag.FlagSet) cliWhere {
	return cliWhere{
		dist:   fs.String("distribution", "", "CloudFront distribution ID (default $"+config.EnvDistributionID+")"),
		target: fs.String("target", "", "a target of the targets file ($"+config.EnvConfigFile+" or $"+config.EnvConfigYAML+"): its distribution or tenant, with its role_arn"),
	}
}

// check refuses a --distribution that cannot be an ID, and both flags at
// once.
func (w cliWhere) check() error {
	switch d := *w.dist; {
	case d != "" && *w.target != "":
		return fmt.Errorf("%w: give --distribution or --target, not both", errUsage)
	case d != "" && !config.IsDistributionID(d):
		return fmt.Errorf("%w: --distribution %q is not a distribution ID (upper-case letters and digits, e.g. E2QWRUHEXAMPLE)", errUsage, d)
	}
	return nil
}

// statusCommand is the command that shows invalidation id later, on the
// same target: with the same --target or --distribution as this one.
func (w cliWhere) statusCommand(id string) string {
	switch {
	case *w.target != "":
		return fmt.Sprintf("cdnpurge status --target %s %s", *w.target, id)
	case *w.dist != "":
		return fmt.Sprintf("cdnpurge status --distribution %s %s", *w.dist, id)
	}
	return "cdnpurge status " + id
}

// setUsage makes -h print the synopsis, a description and the flags.
func setUsage(fs *flag.FlagSet, synopsis, about string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nExit codes: 0 success, 1 other failure (e.g. configuration), 2 usage mistake,\n"+
			"3 input refused, 4 CloudFront error, 5 --wait timed out.\n")
	}
}

// parseInterspersed parses flags and positional arguments in any order, as
// people write them (`invalidate /a --wait`); after "--" everything is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// invalidateJSON is what `invalidate --json` prints.
type invalidateJSON struct {
	ID              string       `json:"id"`
	Distribution    string       `json:"distribution,omitempty"`
	Tenant          string       `json:"tenant,omitempty"` // a distribution tenant, instead of Distribution
	Status          purge.Status `json:"status"`
	Paths           []string     `json:"paths"`
	Dropped         int          `json:"dropped"`
	CallerReference string       `json:"caller_reference"`
	Created         time.Time    `json:"created"`
	Elapsed         float64      `json:"elapsed"` // seconds
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
			ID: last.ID, Status: last.Status, Paths: created.Paths, Dropped: dropped,
			CallerReference: created.CallerReference, Created: created.CreateTime.UTC(), Elapsed: seconds(time.Since(start)),
		}
		out.Distribution, out.Tenant = splitTarget(cfg.DistributionID)
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
	p := &progress{w: progOut, terminal: isTerminal(progOut), id: created.ID, start: start}
	p.update(created, time.Now())
	stopTicking := p.tick(time.Second)
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	opts := waitPoll
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

// statusJSON is what `status --json` prints.
type statusJSON struct {
	ID              string       `json:"id"`
	Distribution    string       `json:"distribution,omitempty"`
	Tenant          string       `json:"tenant,omitempty"` // a distribution tenant, instead of Distribution
	Status          purge.Status `json:"status"`
	Paths           []string     `json:"paths"`
	Created         time.Time    `json:"created"`
	Age             float64      `json:"age"` // seconds
	CallerReference string       `json:"caller_reference"`
	RequestedBy     string       `json:"requested_by"`
}

// runStatus is `cdnpurge status`: one invalidation, by ID or the latest.
func runStatus(ctx context.Context, e env) (err error) {
	fs := newFlagSet("status", e)
	where := whereFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object (null when the distribution has no invalidation; {\"error\": …} on failure)")
	printed := false
	defer jsonOnFailure(e, asJSON, &printed, &err)
	setUsage(fs, "cdnpurge status [--distribution ID | --target NAME] [--json] [INVALIDATION_ID]",
		"Shows one invalidation (the latest without an ID): status, age, paths and who asked.")
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
	cfg, inv, err := cliTarget(ctx, e, where)
	if err != nil {
		return err
	}
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
			ID: got.ID, Status: got.Status, Paths: got.Paths,
			Created: got.CreateTime.UTC(), Age: seconds(now.Sub(got.CreateTime)),
			CallerReference: got.CallerReference, RequestedBy: requestedBy(got.CallerReference),
		}
		out.Distribution, out.Tenant = splitTarget(cfg.DistributionID)
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

// A dt_… ID is a distribution tenant, never a "distribution", in the
// command line's output.

// targetNoun names what id is, for a sentence: "Distribution" or
// "Distribution tenant".
func targetNoun(id string) string {
	if purge.IsTenantID(id) {
		return "Distribution tenant"
	}
	return "Distribution"
}

// targetKey is the label of id's line in the "key  value" output.
func targetKey(id string) string {
	if purge.IsTenantID(id) {
		return "tenant"
	}
	return "distribution"
}

// splitTarget returns id as the JSON's distribution or its tenant.
func splitTarget(id string) (distribution, tenant string) {
	if purge.IsTenantID(id) {
		return "", id
	}
	return id, ""
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

// listJSON is what `list --json` prints.
type listJSON struct {
	Distribution  string        `json:"distribution,omitempty"`
	Tenant        string        `json:"tenant,omitempty"` // a distribution tenant, instead of Distribution
	Invalidations []summaryJSON `json:"invalidations"`
}

type summaryJSON struct {
	ID      string       `json:"id"`
	Status  purge.Status `json:"status"`
	Created time.Time    `json:"created"`
	Age     float64      `json:"age"` // seconds
}

// runList is `cdnpurge list`: the recent invalidations, newest first.
func runList(ctx context.Context, e env) (err error) {
	fs := newFlagSet("list", e)
	where := whereFlags(fs)
	maxN := fs.Int("max", 10, "show at most this many invalidations")
	asJSON := fs.Bool("json", false, "print one JSON object ({\"error\": …} on failure)")
	printed := false
	defer jsonOnFailure(e, asJSON, &printed, &err)
	setUsage(fs, "cdnpurge list [--distribution ID | --target NAME] [--max N] [--json]",
		"Lists the recent invalidations of the distribution (or the target's distribution tenant), newest first.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *maxN < 1 {
		return fmt.Errorf("%w: --max must be at least 1, not %d", errUsage, *maxN)
	}
	if err := where.check(); err != nil {
		return err
	}
	cfg, inv, err := cliTarget(ctx, e, where)
	if err != nil {
		return err
	}
	var items []purge.Summary
	marker := ""
	for len(items) < *maxN {
		page, err := inv.ListInvalidations(ctx, cfg.DistributionID, purge.ListOptions{Marker: marker, MaxItems: min(*maxN-len(items), listPageSize)})
		if err != nil {
			return cdnError(err)
		}
		items = append(items, page.Items...)
		if page.NextMarker == "" || page.NextMarker == marker || len(page.Items) == 0 {
			break
		}
		marker = page.NextMarker
	}
	// CloudFront lists newest first; sorting (stably) keeps that promise for
	// backends that do not.
	slices.SortStableFunc(items, func(a, b purge.Summary) int { return b.CreateTime.Compare(a.CreateTime) })
	items = items[:min(len(items), *maxN)]

	now := time.Now()
	if *asJSON {
		out := listJSON{Invalidations: []summaryJSON{}}
		out.Distribution, out.Tenant = splitTarget(cfg.DistributionID)
		for _, s := range items {
			out.Invalidations = append(out.Invalidations, summaryJSON{ID: s.ID, Status: s.Status, Created: s.CreateTime.UTC(), Age: seconds(now.Sub(s.CreateTime))})
		}
		return writeJSON(e.stdout, out)
	}
	if len(items) == 0 {
		fmt.Fprintf(e.stdout, "%s %s has no invalidations.\n", targetNoun(cfg.DistributionID), cfg.DistributionID)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tAGE")
	for _, s := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Status, s.CreateTime.UTC().Format(time.RFC3339), formatDuration(now.Sub(s.CreateTime)))
	}
	return tw.Flush()
}

// progress shows how a --wait is going. On a terminal it keeps one live line,
// rewritten in place with the status and the elapsed time; elsewhere (a CI
// log) it writes a timestamped line when the status changes, and a heartbeat
// line every 30 s while nothing changes. It is safe for concurrent use.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	id       string
	start    time.Time

	status   purge.Status
	lastLine time.Time // when the last line was written (not a terminal)
	drawn    bool      // a live line is on screen (terminal)
	done     bool      // finish was called
}

// update records a state read from CloudFront at now.
func (p *progress) update(inv *purge.Invalidation, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := inv.Status != p.status
	p.status = inv.Status
	switch {
	case p.done:
	case p.terminal:
		p.redraw(now)
	case changed:
		p.line(now, p.describe(now))
	}
}

// beat refreshes the live line, or writes the heartbeat when it is due.
func (p *progress) beat(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.done || p.status == "":
	case p.terminal:
		p.redraw(now)
	case now.Sub(p.lastLine) >= heartbeat:
		p.line(now, fmt.Sprintf("invalidation %s still %s after %s", p.id, p.status, formatDuration(now.Sub(p.start))))
	}
}

// tick calls beat every interval until the returned stop is called.
func (p *progress) tick(interval time.Duration) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				p.beat(now)
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}

// finish ends the live line, so that what follows starts on a line of its own.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.drawn && !p.done {
		fmt.Fprintln(p.w)
	}
	p.done = true
}

func (p *progress) describe(now time.Time) string {
	elapsed := formatDuration(now.Sub(p.start))
	if p.status == purge.StatusCompleted {
		return fmt.Sprintf("invalidation %s %s after %s", p.id, p.status, elapsed)
	}
	return fmt.Sprintf("invalidation %s %s, %s elapsed", p.id, p.status, elapsed)
}

// redraw rewrites the live line: carriage return, erase the line, the text.
func (p *progress) redraw(now time.Time) {
	fmt.Fprintf(p.w, "\r\x1b[2K%s", p.describe(now))
	p.drawn = true
}

func (p *progress) line(now time.Time, text string) {
	fmt.Fprintf(p.w, "%s %s\n", now.UTC().Format(time.RFC3339), text)
	p.lastLine = now
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// fields writes aligned "key  value" lines; a key with several values gets
// one line each, the key on the first only.
type fields struct{ w io.Writer }

func newFields(w io.Writer) fields { return fields{w} }

func (f fields) field(key string, values ...string) {
	for i, v := range values {
		if i > 0 {
			key = ""
		}
		fmt.Fprintf(f.w, "%-13s %s\n", key, v)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// seconds is d in seconds, to the millisecond, for JSON.
func seconds(d time.Duration) float64 { return max(d, 0).Round(time.Millisecond).Seconds() }

// formatDuration writes an elapsed time or an age for people: 12s, 5m3s,
// 3h12m, 4d2h.
func formatDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
}
