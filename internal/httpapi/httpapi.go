// Package httpapi is cdnpurge's HTTP face: the routes Slack calls, their
// status codes and body limits, and the flow from a signed slash command to
// a CloudFront invalidation and the reply the channel sees.
//
// The same Handler serves `cdnpurge serve` and, through the Lambda adapter,
// Function URL events, so both answer identically.
package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

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
)

// Options configure a Handler. Invalidator, DistributionID, SigningSecret
// and Channels are required.
type Options struct {
	DistributionID string
	SigningSecret  string
	Channels       slack.Channels
	Invalidator    purge.Invalidator
	// WebhookURL receives the audit message of every purge; empty for none.
	WebhookURL string
	// Poster delivers webhook posts; nil means a default slack.Poster.
	Poster *slack.Poster
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger

	ReplyBudget  time.Duration // 0 means DefaultReplyBudget
	MaxBodyBytes int64         // 0 means DefaultMaxBodyBytes
	AuditTimeout time.Duration // 0 means DefaultAuditTimeout
}

// Handler serves Slack's requests. It keeps no state between requests but
// the background deliveries still running, which Wait drains.
type Handler struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	bg   sync.WaitGroup
}

// New returns a Handler for opts.
func New(opts Options) *Handler {
	if opts.ReplyBudget <= 0 {
		opts.ReplyBudget = DefaultReplyBudget
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.AuditTimeout <= 0 {
		opts.AuditTimeout = DefaultAuditTimeout
	}
	if opts.Poster == nil {
		opts.Poster = &slack.Poster{}
	}
	h := &Handler{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
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

// Wait blocks until the background deliveries started so far (audit posts)
// have finished, or ctx is done.
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

// interactions verifies Block Kit interaction payloads. This version sends
// no interactive messages, so a verified one is acknowledged and logged.
func (h *Handler) interactions(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.readSigned(w, r); !ok {
		return
	}
	h.log.InfoContext(r.Context(), "interaction ignored: no interactive messages are sent by this version", "outcome", "ignored")
	w.WriteHeader(http.StatusOK)
}

// commands serves slash commands.
func (h *Handler) commands(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readSigned(w, r)
	if !ok {
		return
	}
	form, err := slack.ParseForm(body)
	if err == nil && form.SSLCheck {
		w.WriteHeader(http.StatusOK)
		return
	}
	rec := &record{start: start}
	var reply *slackapi.WebhookMessage
	if err != nil {
		rec.err = err
		reply = slack.ErrorMessage(err)
	} else {
		rec.form = form
		reply = h.command(r.Context(), form, r.Header.Get("X-Slack-Request-Timestamp"), body, rec)
	}
	writeJSON(w, reply)
	h.logRecord(r.Context(), rec)
}

// command turns a verified slash command into its reply.
func (h *Handler) command(ctx context.Context, form slack.Form, timestamp string, body []byte, rec *record) *slackapi.WebhookMessage {
	cmd, err := purge.ParseCommand(slack.PlainText(form.Text))
	if err == nil && cmd.Action == purge.ActionHelp {
		rec.action = "help"
		return slack.HelpMessage(form.Command.Command, h.opts.DistributionID, h.opts.Channels)
	}
	rec.action = "purge"
	if !h.opts.Channels.Allows(form.ChannelID, form.ChannelName) {
		rec.err = purge.Errorf(purge.PermissionDenied, "channel not allowed")
		return slack.RefusedChannelMessage(h.opts.Channels)
	}
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	rec.paths = cmd.Paths
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReplyBudget)
	defer cancel()
	inv, err := h.opts.Invalidator.CreateInvalidation(ctx, purge.Batch{
		DistributionID:  h.opts.DistributionID,
		CallerReference: purge.SlackCallerReference(form.UserID, requestToken(form.TriggerID, timestamp, body)),
		Paths:           cmd.Paths,
	})
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	rec.invalidation = inv.ID
	p := slack.Purge{Invalidation: inv, UserID: form.UserID, ChannelID: form.ChannelID, Requested: cmd.Requested}
	h.audit(p)
	return slack.StartedMessage(p)
}

// requestToken identifies a Slack delivery for CloudFront's idempotency key,
// so that a repeated delivery of the same command creates no second
// invalidation: the trigger_id Slack gives every command, or, failing that,
// a hash of the signed timestamp and body.
func requestToken(triggerID, timestamp string, body []byte) string {
	if triggerID != "" {
		return triggerID
	}
	sum := sha256.Sum256(append([]byte(timestamp+":"), body...))
	return hex.EncodeToString(sum[:16])
}

// audit posts the audit message in the background, so that it never delays
// or fails the reply. A failed post is logged with its content, so that the
// record is not lost.
func (h *Handler) audit(p slack.Purge) {
	if h.opts.WebhookURL == "" {
		return
	}
	msg := slack.AuditMessage(p)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), h.opts.AuditTimeout)
		defer cancel()
		if err := h.opts.Poster.Post(ctx, h.opts.WebhookURL, msg); err != nil {
			h.log.Error("audit webhook failed", "invalidation", p.Invalidation.ID, "audit_text", msg.Text, "error", err)
		}
	}()
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// record is the one log record a command produces.
type record struct {
	start        time.Time
	form         slack.Form
	action       string
	paths        []string
	invalidation string
	err          error
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
	attrs := []slog.Attr{
		slog.String("team_id", rec.form.TeamID),
		slog.String("user_id", rec.form.UserID),
		slog.String("channel_id", rec.form.ChannelID),
		slog.String("channel_name", rec.form.ChannelName),
		slog.String("action", rec.action),
		slog.Int("paths", len(rec.paths)),
		slog.String("outcome", outcome),
		slog.Duration("duration", time.Since(rec.start)),
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
	}
	h.log.LogAttrs(ctx, level, "slash command", attrs...)
}
