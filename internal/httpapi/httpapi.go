// Package httpapi is cdnpurge's HTTP face, and only that: the routes Slack
// calls (slash commands, interactions) and /healthz, their methods (405),
// the body limit (413), the signature check (401, with no detail), the
// Content-Type, the decoding of the form and of an interaction's payload
// (through internal/slack), Slack's ssl_check, and the JSON encoding of the
// reply. What a request does, from the parsed command to the purge and the
// reply, is internal/service's: a Handler turns each verified request into
// a service.Command or service.Click and encodes what comes back.
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
	"mime"
	"net/http"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// Defaults for Options.
const (
	// DefaultMaxBodyBytes is far above any slash command or interaction
	// payload Slack sends.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultReplyBudget is the service's (service.DefaultReplyBudget): how
	// long a reply may take, which an HTTP server's write timeout must
	// exceed.
	DefaultReplyBudget = service.DefaultReplyBudget
)

// Options configure a Handler. Service and SigningSecret are required.
type Options struct {
	// Service answers the requests once they are verified.
	Service *service.Service
	// SigningSecret verifies Slack's signature on every request.
	SigningSecret string
	// Logger receives the requests refused before they reach the service
	// (405, 413, 401) and panics; nil discards.
	Logger       *slog.Logger
	MaxBodyBytes int64 // 0 means DefaultMaxBodyBytes
	// Metrics observes each reply's latency; nil observes nothing.
	Metrics Metrics
	// Transport names the way in for Metrics: "http" (the default) for
	// `serve`, "lambda" behind the Lambda adapter.
	Transport string
}

// Metrics is what the Handler measures (internal/metrics): the time from
// a Slack request read to its reply written.
type Metrics interface {
	Reply(transport string, d time.Duration)
}

// noMetrics measures nothing.
type noMetrics struct{}

func (noMetrics) Reply(string, time.Duration) {}

// Handler serves Slack's requests over HTTP.
type Handler struct {
	opts Options
	svc  *service.Service
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns a Handler for opts.
func New(opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.Transport == "" {
		opts.Transport = "http"
	}
	h := &Handler{opts: opts, svc: opts.Service, log: opts.Logger}
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

// Wait is the service's Wait: it blocks until the background deliveries
// started so far (audit posts, answers to clicks) have finished, or ctx is
// done.
func (h *Handler) Wait(ctx context.Context) error { return h.svc.Wait(ctx) }

// TargetNames is the service's TargetNames, for the start-up log.
func (h *Handler) TargetNames() []string { return h.svc.TargetNames() }

// commands serves slash commands.
//
// Slack's ssl_check (a form with ssl_check=1, which Slack posts, unsigned,
// to check a command's certificate) is answered with an empty 200 before
// the signature is checked, as Slack's Bolt frameworks do: bolt-python's
// RequestVerification skips a body with ssl_check=1 and its SslCheck
// middleware answers it with an empty 200 before any listener runs, signed
// or not (slack_bolt/middleware/request_verification and ssl_check); Bolt
// for JavaScript's AwsLambdaReceiver answers it before verifying too. So a
// form with ssl_check=1 never reaches the service, whatever else it
// carries: a command riding on it creates nothing and gets nothing back.
func (h *Handler) commands(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.read(w, r)
	if !ok {
		return
	}
	// The form is parsed (not trusted) before the signature is checked, to
	// see ssl_check; it is acted on only once verified.
	var form slack.Form
	err := checkFormType(r.Header.Get("Content-Type"))
	if err == nil {
		form, err = slack.ParseForm(body)
	}
	if err == nil && form.SSLCheck {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.verify(w, r, body) {
		return
	}
	// Only the replies to verified requests are measured: a refusal
	// before (405, 413, 401) says nothing of how fast Slack is answered.
	defer h.replied(start)
	if err != nil {
		writeJSON(w, slack.Render(h.svc.Unreadable(r.Context(), service.KindCommand, err)))
		return
	}
	writeJSON(w, slack.Render(h.svc.Command(r.Context(), service.Command{
		TeamID: form.TeamID, UserID: form.UserID, ChannelID: form.ChannelID, ChannelName: form.ChannelName,
		Command: form.Command.Command, Text: form.Text, TriggerID: form.TriggerID, ResponseURL: form.ResponseURL,
		Token: requestToken(form.TriggerID, r.Header.Get("X-Slack-Request-Timestamp"), body),
	})))
}

// replied observes the latency of a reply written, from start, when the
// request's handler began reading it.
func (h *Handler) replied(start time.Time) {
	h.opts.Metrics.Reply(h.opts.Transport, time.Since(start))
}

// interactions serves Block Kit button clicks: Approve and Cancel on an
// approval request. Slack ignores the HTTP body of the answer, so the
// service posts every answer to the interaction's response_url; the request
// itself gets an empty 200.
func (h *Handler) interactions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readSigned(w, r)
	if !ok {
		return
	}
	defer h.replied(start)
	var cb *slackapi.InteractionCallback
	err := checkFormType(r.Header.Get("Content-Type"))
	if err == nil {
		cb, err = parseInteraction(body)
	}
	if err != nil {
		h.svc.Unreadable(r.Context(), service.KindClick, err)
		w.WriteHeader(http.StatusOK)
		return
	}
	c := service.Click{TeamID: cb.Team.ID, UserID: cb.User.ID, ChannelID: cb.Channel.ID, ChannelName: cb.Channel.Name, ResponseURL: cb.ResponseURL}
	if a := slack.ApprovalAction(cb); a != nil {
		c.ActionID, c.Value = a.ActionID, a.Value
	}
	h.svc.Click(r.Context(), c)
	w.WriteHeader(http.StatusOK)
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

// parseInteraction reads the form-encoded body of an interaction: a JSON
// document in the payload field.
func parseInteraction(body []byte) (*slackapi.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, purge.Errorf(purge.Invalid, "interaction form unreadable")
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		return nil, &purge.Error{Code: purge.Invalid, Message: "interaction payload unreadable", Err: err}
	}
	return &cb, nil
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
	body, ok = h.read(w, r)
	return body, ok && h.verify(w, r, body)
}

// read reads a Slack request's body. It writes the error response itself
// (405, 413) and returns ok=false when the request goes no further.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
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
	return body, true
}

// verify checks the signature of a request whose body was read. It answers
// a missing, stale or wrong one with 401 and no detail, and reports whether
// the request goes further.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if err := slack.Verify(r.Header, body, h.opts.SigningSecret); err != nil {
		h.log.WarnContext(r.Context(), "request refused", "path", r.URL.Path, "outcome", "unauthenticated", "error", err)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return false
	}
	return true
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

// writeJSON writes m as the JSON body.
func writeJSON(w http.ResponseWriter, m *slackapi.WebhookMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
