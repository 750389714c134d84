package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// This file holds what `invalidate`, `status` and `list` share: the exit
// codes and errors, --json on failure, the target they act on, their
// settings. They are the command line for people and pipelines: they talk to
// the CDN directly, through the same providers as the server (CloudFront
// through its Invalidator, the others through providers), and end with an
// exit code a pipeline can act on. Each has its own file.

// Exit codes of invalidate, status and list (0 is success, 2 a usage
// mistake, as for every command: a bad flag, no paths, a --target not in
// the targets file, or status and list on a target whose provider keeps no
// record of purges, such as Cloudflare, Fastly or Varnish).
const (
	exitFailure = 1 // anything else, e.g. configuration
	exitRefused = 3 // an item the CDN would refuse (or cannot purge), or the CDN refused as invalid
	exitCDN     = 4 // any other error of the CDN: not found, denied, rate limited, unavailable...
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

// cdnError gives a backend error its exit code: 3 when the CDN (or our own
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
	// RetryAfter is how long, in seconds, a rate-limited CDN asked to wait
	// before a retry (purge.RetryAfter), when it said.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

// failureJSON words err for --json: usage mistakes and configuration
// problems are "invalid" with their message (both name only flags and
// variables); an *exitError has its kind or its cause's code, and its
// message; anything else is its code and purge.ErrorMessage.
func failureJSON(err error) *errorJSON {
	out := failureCodeJSON(err)
	if after, ok := purge.RetryAfter(err); ok {
		out.RetryAfter = after.Seconds()
	}
	return out
}

// failureCodeJSON is failureJSON's code and message.
func failureCodeJSON(err error) *errorJSON {
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

// settings pace the command line: how `list` pages and how --wait polls
// and reports. The commands read them from env.settings; a test passes
// smaller ones there.
type settings struct {
	// listPageSize is how many invalidations one ListInvalidations call asks
	// for.
	listPageSize int
	// waitPoll shapes how --wait polls: fast at first, since most
	// invalidations finish in seconds, then every 10 s at most.
	waitPoll purge.WatchOptions
	// heartbeat is how often --wait reports, when not on a terminal, that an
	// invalidation is still running, so that a CI log shows the job is
	// alive.
	heartbeat time.Duration
}

// defaultSettings are the settings of a run whose env names none.
func defaultSettings() settings {
	return settings{
		listPageSize: 100,
		waitPoll:     purge.WatchOptions{FirstDelay: time.Second, MaxDelay: 10 * time.Second},
		heartbeat:    30 * time.Second,
	}
}

// settingsOf returns e's settings, or the defaults when it has none.
func settingsOf(e env) settings {
	if e.settings != nil {
		return *e.settings
	}
	return defaultSettings()
}

// cliBackend is what invalidate, status and list act on.
type cliBackend struct {
	// cfg is the configuration; on CloudFront its DistributionID is the
	// distribution or tenant.
	cfg config.Config
	// prov purges the target: CloudFront's through inv, or the provider
	// of a target on another CDN.
	prov purge.Provider
	// inv reads and creates CloudFront invalidations; nil for a target on
	// another CDN.
	inv purge.Invalidator
	// target is the --target name; "" for the environment's distribution.
	target string
}

// cliTarget reads what to purge, and where, from the environment and the
// flags, and returns the backend for it: --target names a target of the
// targets file (a CloudFront distribution or tenant, reached with its
// role_arn if it has one, or a Cloudflare zone, a Fastly service, a Varnish
// cache, with its token); otherwise --distribution, or
// CDNPURGE_DISTRIBUTION_ID. The command line is the operator's tool: the
// targets' Slack rules (channels, people, paths) do not apply to it.
func cliTarget(ctx context.Context, e env, where cliWhere) (*cliBackend, error) {
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
		return nil, &exitError{code: exitFailure, msg: msg, err: err, kind: purge.Invalid}
	}
	inv, err := newInvalidator(ctx, cfg, e.getenv)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return cloudFrontBackend(cfg, inv, ""), nil
}

// cloudFrontBackend is the backend of a CloudFront distribution or tenant,
// cfg.DistributionID, through inv.
func cloudFrontBackend(cfg config.Config, inv purge.Invalidator, target string) *cliBackend {
	return &cliBackend{cfg: cfg, inv: inv, target: target,
		prov: cloudfrontcdn.Target{Invalidator: inv, DistributionID: cfg.DistributionID}}
}

// cliNamedTarget is cliTarget for --target NAME.
func cliNamedTarget(ctx context.Context, e env, cfg config.Config, name string) (*cliBackend, error) {
	fail := func(err error) (*cliBackend, error) {
		msg := "configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
		return nil, &exitError{code: exitFailure, msg: msg, err: err, kind: purge.Invalid}
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
		return nil, fmt.Errorf("%w: --target %q is not in the targets file (%s)", errUsage, name, strings.Join(names, ", "))
	}
	// Only this target's token is read from AWS, if its token_env holds
	// an ARN: the Slack settings and the other targets' tokens are not
	// needed.
	ft, _ := cfg.File.Target(t.Name)
	if _, err := readSecrets(ctx, &cfg, e.getenv, func(s config.SecretARN) bool { return ft.TokenEnv != "" && s.Variable == ft.TokenEnv }); err != nil {
		return nil, &exitError{code: exitFailure, msg: "configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  "), err: err}
	}
	if prov, err := fileProvider(cfg, t.Name); err != nil {
		return fail(err)
	} else if prov != nil {
		return &cliBackend{cfg: cfg, prov: prov, target: t.Name}, nil
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, e.getenv)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	cfg.DistributionID = t.DistributionID
	return cloudFrontBackend(cfg, targetInvalidator(awsCfg, cfg, targets, nil), t.Name), nil
}

// fileProvider builds, through providers, the provider of the file's
// target name alone, so that another target's missing token does not stop
// this one; nil for a CloudFront target. A token_env whose variable is not
// set is named, never its value.
func fileProvider(cfg config.Config, name string) (purge.Provider, error) {
	t, ok := cfg.File.Target(name)
	if !ok {
		return nil, nil
	}
	if err := cfg.TokenError(t); err != nil {
		return nil, err
	}
	if t.TokenEnv != "" && cfg.Token(t) == "" {
		return nil, fmt.Errorf("target %q: %s is not set: it must hold the target's API token", t.Name, t.TokenEnv)
	}
	one := *cfg.File
	one.Targets = []config.Target{t}
	cfg.File = &one
	provs, err := providers(cfg, nil) // the CLI counts nothing
	if err != nil {
		return nil, err
	}
	return provs[name], nil
}

// historyTarget is cliTarget for status and list, which read a target's
// record of purges: a target whose provider keeps none is a usage mistake
// (exit 2), as a --target not in the file is, and "not_found" in --json:
// there is nothing to find.
func historyTarget(ctx context.Context, e env, where cliWhere, command string) (*cliBackend, error) {
	b, err := cliTarget(ctx, e, where)
	if err != nil {
		return nil, err
	}
	if caps := b.prov.Capabilities(); !caps.History {
		return nil, &exitError{code: 2, kind: purge.NotFound, err: errUsage, msg: fmt.Sprintf(
			"target %q is on %s, which keeps no record of purges: `cdnpurge %s` has nothing to show "+
				"(a purge there is done when `cdnpurge invalidate` returns, and says so)", b.target, caps.Provider, command)}
	}
	return b, nil
}
