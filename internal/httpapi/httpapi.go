// Package httpapi is cdnpurge's HTTP face: the routes Slack calls, their
// status codes and body limits, and the flow from a signed slash command to
// a CloudFront invalidation and the reply the channel sees.
//
// The same Handler serves `cdnpurge serve` and, through the Lambda adapter,
// Function URL events, so both answer identically.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// Defaults for Options.
const (
	// DefaultReplyBudget bounds the CloudFront call, retries included, so that
	// the reply leaves well inside Slack's 3-second deadline.
	DefaultReplyBudget = 2 * time.Second
	// DefaultMaxBodyBytes is far above any slash command or interaction
	// payload Slack sends.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultAuditTimeout bounds one audit webhook delivery, retries included.
	DefaultAuditTimeout = 15 * time.Second
	// DefaultConfirmTTL is how long an approval request stays valid: well
	// inside the 30 minutes Slack honours its response_url.
	DefaultConfirmTTL = 15 * time.Minute
)

// Options configure a Handler. Invalidator, SigningSecret and either
// Targets or the single target's DistributionID and Channels are required.
type Options struct {
	SigningSecret string
	Invalidator   purge.Invalidator

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
	// of the Handler's own.
	Announced *followup.Claims
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	ReplyBudget  time.Duration // 0 means DefaultReplyBudget
	MaxBodyBytes int64         // 0 means DefaultMaxBodyBytes
	AuditTimeout time.Duration // 0 means DefaultAuditTimeout
	ConfirmTTL   time.Duration // 0 means DefaultConfirmTTL
}

// Handler serves Slack's requests. It keeps no state between requests but
// the background deliveries still running, which Wait drains.
type Handler struct {
	opts   Options
	policy *access.Policy
	// channels is every channel some target may be purged from, for the
	// refusal in a channel that may purge nothing.
	channels slack.Channels
	log      *slog.Logger
	mux      *http.ServeMux
	bg       sync.WaitGroup
	// auditor posts the audit record of each invalidation; nil without a
	// webhook.
	auditor   *slack.Auditor
	announced *followup.Claims
	// requests serializes the clicks on one approval request in this
	// process, so that two at the same moment cannot both purge.
	requests keyedLocks
}

// New returns a Handler for opts.
func New(opts Options) *Handler {
	if opts.Targets == nil {
		opts.Targets = access.Single(opts.DistributionID, opts.Channels, opts.Confirm)
	}
	if opts.ReplyBudget <= 0 {
		opts.ReplyBudget = DefaultReplyBudget
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
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
	h := &Handler{opts: opts, log: opts.Logger, policy: &access.Policy{Targets: opts.Targets, Groups: opts.Groups}}
	for _, t := range opts.Targets.All() {
		for _, c := range t.Channels {
			if !slices.Contains(h.channels, c) {
				h.channels = append(h.channels, c)
			}
		}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if opts.WebhookURL != "" {
		h.auditor = &slack.Auditor{Poster: opts.Poster, WebhookURL: opts.WebhookURL, Logger: h.log, Timeout: opts.AuditTimeout}
	}
	h.announced = opts.Announced
	if h.announced == nil {
		h.announced = &followup.Claims{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", h.commands)
	mux.HandleFunc("/slack/commands", h.commands)
	mux.HandleFunc("/slack/interactions", h.interactions)
	mux.HandleFunc("/healthz", healthz)
	h.mux = mux
	return h
}

// ServeHTTP routes a request. A panic below it is answered with a bare 500
// and logged once, without the request body.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// Wait blocks until the background deliveries started so far (audit posts,
// answers to clicks) have finished, or ctx is done.
func (h *Handler) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}

// readSigned reads and verifies a Slack request. It writes the error
// response itself (405, 413, 401 with no detail) and returns ok=false when
// the request goes no further.
func (h *Handler) readSigned(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log.WarnContext(r.Context(), "request refused", "path", r.URL.Path, "outcome", "too_large", "limit_bytes", tooBig.Limit)
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		h.log.WarnContext(r.Context(), "request refused", "path", r.URL.Path, "outcome", "unreadable", "error", err)
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return nil, false
	}
	if err := slack.Verify(r.Header, body, h.opts.SigningSecret); err != nil {
		h.log.WarnContext(r.Context(), "request refused", "path", r.URL.Path, "outcome", "unauthenticated", "error", err)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// checkFormType refuses a signed request whose body is not form-encoded, as
// Slack's always are: a JSON or multipart body is never read as a form. A
// request with no Content-Type is read as one.
func checkFormType(contentType string) error {
	if contentType == "" || contentType == "application/x-www-form-urlencoded" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/x-www-form-urlencoded" {
		return nil
	}
	return purge.Errorf(purge.Invalid, "cdnpurge reads Slack's form-encoded requests (application/x-www-form-urlencoded); this one was not")
}

// writeJSON writes v as the JSON body. A Slack message goes through
// slack.MarshalMessage: the same bytes as json.Marshal, encoded once instead
// of block by block (see there).
func writeJSON(w http.ResponseWriter, v any) {
	var b []byte
	var err error
	if m, ok := v.(*slackapi.WebhookMessage); ok {
		b, err = slack.MarshalMessage(m)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// record is the one log record a request produces.
type record struct {
	start                              time.Time
	kind                               string // "slash command", "interaction"
	team, user, channelID, channelName string
	action                             string
	target                             string
	paths                              []string
	invalidation                       string
	err                                error
}

func (h *Handler) logRecord(ctx context.Context, rec *record) {
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
	if !h.log.Enabled(ctx, level) {
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
		slog.Float64("duration_seconds", time.Since(rec.start).Seconds()),
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
	h.log.LogAttrs(ctx, level, rec.kind, attrs...)
}

// TargetNames names the targets served, for the start-up log: each by name,
// or the unnamed single target by its distribution.
func (h *Handler) TargetNames() []string {
	var names []string
	for _, t := range h.opts.Targets.All() {
		names = append(names, cmp.Or(t.Name, t.DistributionID))
	}
	return names
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
