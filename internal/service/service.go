// Package service is cdnpurge's command flow, whatever way it came in: a
// slash command or a button click, already verified by its transport and
// handed over as data, is parsed, resolved to a target, authorized,
// approved when the target's rules want it, purged and followed, and the
// reply comes back as data.
//
// A transport (internal/httpapi for Slack's Request URLs, a Socket Mode
// client next) reads and verifies Slack's request, fills a Command or a
// Click, and encodes what the Service returns; it holds nothing of the
// flow. The Service logs one record per request, in one place, and runs the
// deliveries that follow a reply (the audit post, the answer to a click) in
// the background, which Wait drains.
package service

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// Defaults for Options.
const (
	// DefaultReplyBudget bounds the CloudFront call, retries included, so that
	// the reply leaves well inside Slack's 3-second deadline.
	DefaultReplyBudget = 2 * time.Second
	// DefaultAuditTimeout bounds one audit webhook delivery, retries included.
	DefaultAuditTimeout = 15 * time.Second
	// DefaultConfirmTTL is how long an approval request stays valid: well
	// inside the 30 minutes Slack honours its response_url.
	DefaultConfirmTTL = 15 * time.Minute
)

// Options configure a Service. SealSecret, either Targets or the single
// target's DistributionID and Channels, and Invalidator unless every
// target has a Provider, are required.
type Options struct {
	// SealSecret keys the approval requests sealed into buttons (see
	// slack.SealPending): the Slack app's signing secret, which every copy
	// of the service has, so that any of them can open a click's request.
	SealSecret string
	// Invalidator is CloudFront: every target with no Provider of its own
	// is purged through it, and it answers status, list, usage and the
	// look at in-flight purges of those targets.
	Invalidator purge.Invalidator
	// Providers are the purge.Provider of each target that has one, by
	// target name ("" for the single target): Cloudflare, Fastly, Varnish,
	// or CloudFront through a role's credentials. The flow asks their
	// Capabilities, never their names.
	Providers map[string]purge.Provider

	// Targets are the targets and their rules. Nil means the tutorial's
	// single unnamed target: DistributionID, purged from Channels, with
	// Confirm.
	Targets        *access.Targets
	DistributionID string
	Channels       slack.Channels
	// Confirm says which purges of the single target wait for an approval
	// click; with Targets, each target has its own.
	Confirm purge.ConfirmPolicy
	// Groups answers the targets' user-group rules; nil when no target has
	// one.
	Groups access.GroupMembers

	// WebhookURL receives the audit message of every purge; empty for none.
	WebhookURL string
	// Poster delivers webhook posts; nil means a default slack.Poster.
	Poster *slack.Poster
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger

	// Followups follows each invalidation to the end and updates the
	// message, and carries on a purge CloudFront did not take in time; nil
	// for none.
	Followups followup.Scheduler
	// Announced remembers the invalidations announced (audited) in this
	// process; share it with the follow-ups' Follower. Nil means a Claims
	// of the Service's own.
	Announced *followup.Claims
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics counts the purges and the refusals; nil counts nothing.
	Metrics Metrics

	ReplyBudget  time.Duration // 0 means DefaultReplyBudget
	AuditTimeout time.Duration // 0 means DefaultAuditTimeout
	ConfirmTTL   time.Duration // 0 means DefaultConfirmTTL
}

// Command is a verified slash command.
type Command struct {
	TeamID, UserID, ChannelID, ChannelName string
	// Command is the command's name as invoked ("/cdn-purge"); Text what
	// followed it, as Slack sent it.
	Command, Text string
	TriggerID     string
	ResponseURL   string
	// Token identifies this delivery for CloudFront's idempotency key, so
	// that a repeated delivery creates no second invalidation: the
	// transport derives it (the trigger_id, or a hash of what was signed).
	Token string
}

// Click is a verified click on an approval request's button.
type Click struct {
	TeamID, UserID, ChannelID, ChannelName string
	// ActionID is the button's (slack.ActionApprove, slack.ActionCancel);
	// empty for an interaction that is not a click on one of them, which
	// is logged and ignored.
	ActionID string
	// Value is the button's value: the sealed approval request.
	Value string
	// ResponseURL receives the answer.
	ResponseURL string
}

// Metrics is what the flow counts (internal/metrics): each purge made,
// with its outcome, and each request a target's rules refused.
type Metrics interface {
	// Purge counts a purge of target (its name, "default" for the single
	// unnamed one) through provider (lower case: cloudfront, fastly, …)
	// with its outcome (ok, repeat, partial, retrying, failed).
	Purge(provider, target, outcome string)
	// Refused counts a request refused by rule (access.Rule…).
	Refused(rule string)
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) Purge(string, string, string) {}
func (noMetrics) Refused(string)               {}

// Kind names a request in its log record.
type Kind string

// The kinds of request.
const (
	KindCommand Kind = "slash command"
	KindClick   Kind = "interaction"
)

// Service runs the command flow. It keeps no state between requests but
// the background deliveries still running, which Wait drains, and the
// locks of clicks being handled; it is safe for concurrent use.
type Service struct {
	opts   Options
	policy *access.Policy
	// channels is every channel some target may be purged from, for the
	// refusal in a channel that may purge nothing.
	channels slack.Channels
	log      *slog.Logger
	bg       sync.WaitGroup
	// auditor posts the audit record of each invalidation; nil without a
	// webhook.
	auditor   *slack.Auditor
	announced *followup.Claims
	// requests serializes the clicks on one approval request in this
	// process, so that two at the same moment cannot both purge.
	requests keyedLocks
	// providers is every target's Provider, Options.Providers' or
	// CloudFront's through Options.Invalidator, made once.
	providers map[*access.Target]purge.Provider
	// labels is each target's provider and target labels for Metrics,
	// made once.
	labels  map[*access.Target][2]string
	metrics Metrics
}

// New returns a Service for opts.
func New(opts Options) *Service {
	if opts.Targets == nil {
		opts.Targets = access.Single(opts.DistributionID, opts.Channels, opts.Confirm)
	}
	if opts.ReplyBudget <= 0 {
		opts.ReplyBudget = DefaultReplyBudget
	}
	if opts.AuditTimeout <= 0 {
		opts.AuditTimeout = DefaultAuditTimeout
	}
	if opts.ConfirmTTL <= 0 {
		opts.ConfirmTTL = DefaultConfirmTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poster == nil {
		opts.Poster = &slack.Poster{}
	}
	s := &Service{opts: opts, log: opts.Logger, policy: &access.Policy{Targets: opts.Targets, Groups: opts.Groups}}
	s.providers = make(map[*access.Target]purge.Provider, len(opts.Targets.All()))
	s.labels = make(map[*access.Target][2]string, len(opts.Targets.All()))
	for _, t := range opts.Targets.All() {
		if p := opts.Providers[t.Name]; p != nil {
			s.providers[t] = p
		} else {
			s.providers[t] = cloudfrontcdn.Target{Invalidator: opts.Invalidator, DistributionID: t.DistributionID}
		}
		s.labels[t] = [2]string{strings.ToLower(s.providers[t].Capabilities().Provider), cmp.Or(t.Name, "default")}
	}
	s.metrics = opts.Metrics
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	for _, t := range opts.Targets.All() {
		for _, c := range t.Channels {
			if !slices.Contains(s.channels, c) {
				s.channels = append(s.channels, c)
			}
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.WebhookURL != "" {
		s.auditor = &slack.Auditor{Poster: opts.Poster, WebhookURL: opts.WebhookURL, Logger: s.log, Timeout: opts.AuditTimeout}
	}
	s.announced = opts.Announced
	if s.announced == nil {
		s.announced = &followup.Claims{}
	}
	return s
}

// Wait blocks until the background deliveries started so far (audit posts,
// answers to clicks) have finished, or ctx is done.
func (s *Service) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TargetNames names the targets served, for the start-up log: each by name,
// or the unnamed single target by its distribution.
func (s *Service) TargetNames() []string {
	var names []string
	for _, t := range s.opts.Targets.All() {
		names = append(names, cmp.Or(t.Name, t.DistributionID))
	}
	return names
}

// background runs f after the reply, counted for Wait. After the reply
// nothing recovers a panic but this: without it one bad post would stop the
// server with every request in flight.
func (s *Service) background(f func(), logAttrs ...any) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic in a background delivery", append(logAttrs, "panic", v)...)
			}
		}()
		f()
	}()
}

// record is the one log record a request produces: who asked where, and
// what the flow made of it.
type record struct {
	kind                               Kind
	team, user, channelID, channelName string
	// outcome is what the flow returns beside the reply: the action taken,
	// on which target, with which paths and invalidation.
	outcome
	err error
}

// outcome is what a request became, for its log record.
type outcome struct {
	action       string
	target       string
	paths        []string
	invalidation string
}

func (s *Service) logRecord(ctx context.Context, start time.Time, rec *record) {
	// Performance: RefusedRule's errors.As target escapes (an allocation
	// on the hot path); a request with no error has no rule.
	if rec.err != nil {
		if rule := access.RefusedRule(rec.err); rule != "" {
			s.metrics.Refused(rule)
		}
	}
	outcome := "ok"
	level := slog.LevelInfo
	if rec.err != nil {
		outcome = string(purge.ErrorCode(rec.err))
		if c := purge.ErrorCode(rec.err); c == purge.Internal || c == purge.Unavailable {
			level = slog.LevelError
		}
	}
	// Performance: with logging off (no Logger, or a level above this
	// record's) the record was still built: ten attributes, the error's text
	// and the duration. LogAttrs would drop it; ask first.
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("team_id", rec.team),
		slog.String("user_id", rec.user),
		slog.String("channel_id", rec.channelID),
		slog.String("channel_name", rec.channelName),
		slog.String("action", rec.action),
		slog.String("target", rec.target),
		slog.Int("paths", len(rec.paths)),
		slog.String("outcome", outcome),
		// Seconds, as every duration in the logs: slog.Duration would
		// write integer nanoseconds with the JSON handler.
		slog.Float64("duration_seconds", time.Since(start).Seconds()),
	}
	if len(rec.paths) > 0 {
		shown := rec.paths
		if len(shown) > 20 {
			shown = shown[:20]
		}
		attrs = append(attrs, slog.Any("path_list", shown))
	}
	if rec.invalidation != "" {
		attrs = append(attrs, slog.String("invalidation", rec.invalidation))
	}
	if rec.err != nil {
		attrs = append(attrs, slog.String("error", rec.err.Error()))
		if rule := access.RefusedRule(rec.err); rule != "" {
			attrs = append(attrs, slog.String("rule", rule))
		}
	}
	s.log.LogAttrs(ctx, level, string(rec.kind), attrs...)
}

// keyedLocks holds one lock per key in use, so that work on one key is done
// one at a time and work on others is not held up.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

// keyedLock is a lock that a waiter can give up on: a channel holding one
// token.
type keyedLock struct {
	token chan struct{}
	users int
}

// lock locks key, or gives up when ctx ends first. It returns the unlock,
// or ctx's error.
func (k *keyedLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{token: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.token <- struct{}{}:
		return func() { <-l.token; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
