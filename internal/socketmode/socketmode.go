// Package socketmode is cdnpurge's Slack Socket Mode transport: instead of
// Slack calling a public Request URL, cdnpurge opens a WebSocket to Slack
// (apps.connections.open with an app-level token, xapp-…) and receives
// slash commands and button clicks over it, which it hands to the same
// internal/service as the HTTP transport, and acknowledges.
//
// The connection itself is slack-go's socketmode client (imported here as
// slacksm). What it already does, and is not done again here: it opens the
// connection, answers WebSocket pings, reconnects when Slack sends
// `disconnect` or the socket drops or goes quiet (no ping for 30 s), retries
// a failed apps.connections.open with an exponential backoff up to five
// minutes, and stops on invalid_auth, not_authed, account_inactive and
// token_revoked. What this package adds: jitter and a backoff before
// every reconnect that follows a short-lived connection (slack-go
// reconnects at once, with the same delays on every replica, so a socket
// that keeps dropping would be a tight loop), a stop on the other answers
// no retry can mend (missing_scope, not_allowed_token_type, token_expired),
// one log record for each connect and disconnect with its reason, never the
// token, and a drain on shutdown: envelopes in flight are answered and
// acknowledged before the socket closes, and those not yet taken are left
// unacknowledged for Slack to redeliver to another connection.
//
// Slack does not sign what comes over the socket (the TLS connection that
// cdnpurge opened with its token is the authentication), so nothing here
// needs the signing secret. A slash command is acknowledged with its reply
// as the acknowledgement's payload, which Slack shows as it shows the body
// of an HTTP reply; a click is acknowledged empty, and the service posts its
// answer to the click's response_url, as over HTTP.
//
// Delivery is at least once: Slack redelivers an envelope whose
// acknowledgement it did not get (retry_attempt > 0), possibly on another
// connection or another replica. Nothing here remembers envelopes: the
// service's idempotency (CloudFront's CallerReference from the trigger_id)
// makes a redelivered command purge nothing again and answer "already
// taken", whichever copy receives it.
package socketmode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	slacksm "github.com/slack-go/slack/socketmode"

	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// Defaults for Options.
const (
	// DefaultMinBackoff is the first wait before a reconnect that follows a
	// failure or a short-lived connection; it doubles at each one after.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff bounds that wait.
	DefaultMaxBackoff = 2 * time.Minute
	// DefaultStableAfter is how long a connection must have lasted for the
	// next reconnect to be immediate: Slack's refresh_requested after hours.
	DefaultStableAfter = time.Minute
	// DefaultDrainTimeout bounds how long a stopping client waits for the
	// envelopes in flight: the service answers within its 2 s budget.
	DefaultDrainTimeout = 5 * time.Second
)

// ErrTokenRefused is what Run returns, wrapped with Slack's error code,
// when Slack refuses the app token for good: retrying cannot help.
var ErrTokenRefused = errors.New("the app-level token was refused by Slack")

// Options configure a Client. Service and AppToken are required.
type Options struct {
	// Service answers the commands and clicks.
	Service *service.Service
	// AppToken is the app-level token (xapp-…, scope connections:write).
	AppToken string
	// APIURL replaces Slack's Web API (https://slack.com/api/), ending in
	// "/": a stand-in, in tests; empty for Slack's.
	APIURL string
	// Poster delivers a command's reply to its response_url when the
	// acknowledgement cannot carry it; nil means a default slack.Poster.
	Poster *slack.Poster
	// Logger receives the connection's life and the envelopes refused;
	// nil discards.
	Logger *slog.Logger
	// HTTPClient calls apps.connections.open; nil means one with a 10 s
	// timeout.
	HTTPClient *http.Client

	MinBackoff   time.Duration // 0 means DefaultMinBackoff
	MaxBackoff   time.Duration // 0 means DefaultMaxBackoff
	StableAfter  time.Duration // 0 means DefaultStableAfter
	DrainTimeout time.Duration // 0 means DefaultDrainTimeout
	// PingInterval is how long the socket may go without a ping from
	// Slack before it is taken for dead; 0 means slack-go's 30 s.
	PingInterval time.Duration
	// Metrics observes the time from each command's or click's envelope
	// received to its acknowledgement sent; nil observes nothing.
	Metrics Metrics
}

// Metrics is what the Client measures (internal/metrics).
type Metrics interface {
	Reply(transport string, d time.Duration)
}

// transport is the Client's transport label for Metrics.
const transport = "socket_mode"

// Client serves Slack's envelopes over Socket Mode. Run it once.
type Client struct {
	opts Options
	svc  *service.Service
	log  *slog.Logger
	gate *openGate
	// inflight counts the envelopes being answered, for the drain.
	inflight sync.WaitGroup
	// bg counts the replies being posted to response_url.
	bg sync.WaitGroup
	// closing is set when Run closes the socket on purpose: what slack-go
	// does then (log the closed socket, try to open another) is not a
	// reconnect.
	closing atomic.Bool
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.StableAfter <= 0 {
		opts.StableAfter = DefaultStableAfter
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.Poster == nil {
		opts.Poster = &slack.Poster{}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Client{opts: opts, svc: opts.Service, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.gate = &openGate{client: opts.HTTPClient, min: opts.MinBackoff, max: opts.MaxBackoff, stable: opts.StableAfter, log: c.log, closing: &c.closing}
	return c
}

// Run connects and serves until ctx is done, then drains: the envelopes in
// flight are answered and acknowledged (for at most DrainTimeout), and the
// socket is closed; it returns nil. It returns an error wrapping
// ErrTokenRefused when Slack refuses the token for good, having logged it.
func (c *Client) Run(ctx context.Context) error {
	apiOpts := []slackapi.Option{slackapi.OptionAppLevelToken(c.opts.AppToken), slackapi.OptionHTTPClient(c.gate)}
	if c.opts.APIURL != "" {
		apiOpts = append(apiOpts, slackapi.OptionAPIURL(c.opts.APIURL))
	}
	smOpts := []slacksm.Option{
		// slack-go tells why a socket closed, and what a disconnect's
		// reason was, only in its debug log: connLog keeps those lines and
		// drops the rest, payloads included.
		slacksm.OptionDebug(true),
		slacksm.OptionLog(&connLog{log: c.log, token: c.opts.AppToken, closing: &c.closing}),
	}
	if c.opts.PingInterval > 0 {
		smOpts = append(smOpts, slacksm.OptionPingInterval(c.opts.PingInterval))
	}
	sm := slacksm.New(slackapi.New("", apiOpts...), smOpts...)

	// The socket lives until the drain is over, not until ctx ends: the
	// acknowledgements of the envelopes in flight go out over it.
	sockCtx, cancelSocket := context.WithCancel(context.WithoutCancel(ctx))
	closeSocket := func() { c.closing.Store(true); cancelSocket() }
	defer closeSocket()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(sockCtx) }()
	for {
		select {
		case ev := <-sm.Events:
			if err := c.event(ctx, sm, ev); err != nil {
				closeSocket()
				<-runErr
				c.drain()
				return err
			}
		case err := <-runErr:
			c.drain()
			return c.refused(err)
		case <-ctx.Done():
			c.log.Info("socket mode stopping: answering the envelopes in flight", "drain_timeout_seconds", c.opts.DrainTimeout.Seconds())
			c.drain()
			closeSocket()
			<-runErr
			c.log.Info("socket mode closed")
			return nil
		}
	}
}

// Wait blocks until the replies posted to response_url have been
// delivered, or ctx is done. The service's own deliveries are the
// service's Wait.
func (c *Client) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain waits for the envelopes in flight, for at most DrainTimeout.
func (c *Client) drain() {
	done := make(chan struct{})
	go func() { c.inflight.Wait(); close(done) }()
	t := time.NewTimer(c.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.log.Warn("socket mode: envelopes still in flight at the drain timeout; Slack redelivers those not acknowledged")
	}
}

// refused turns the error slack-go's RunContext ended with into Run's.
func (c *Client) refused(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	code := err.Error()
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		code = se.Err
	}
	var sce slackapi.StatusCodeError
	if errors.As(err, &sce) {
		code = fmt.Sprintf("HTTP %d", sce.Code)
	}
	return c.stop(code)
}

// stop logs and returns the error for a refused token.
func (c *Client) stop(code string) error {
	code = scrub(code, c.opts.AppToken)
	err := fmt.Errorf("%w (%s): %s", ErrTokenRefused, code, refusalHint(code))
	c.log.Error("socket mode stopped: Slack refused the app-level token", "error", code)
	return err
}

// refusalHint says what to do about a refusal.
func refusalHint(code string) string {
	switch code {
	case "missing_scope":
		return "the app-level token lacks the connections:write scope; generate one with it (Basic Information → App-Level Tokens)"
	case "not_allowed_token_type":
		return "the token is not an app-level token (xapp-…); generate one under Basic Information → App-Level Tokens"
	case "account_inactive":
		return "the app or its workspace is no longer active"
	default:
		return "the app-level token is wrong, expired or revoked; generate a new one with the connections:write scope (Basic Information → App-Level Tokens)"
	}
}

// fatalOpen are apps.connections.open's answers that no retry mends, beyond
// those slack-go already stops on.
var fatalOpen = map[string]bool{"missing_scope": true, "not_allowed_token_type": true, "token_expired": true}

// event acts on one of slack-go's events. It returns an error to stop Run.
func (c *Client) event(ctx context.Context, sm *slacksm.Client, ev slacksm.Event) error {
	switch ev.Type {
	case slacksm.EventTypeConnecting:
		if d, ok := ev.Data.(*slackapi.ConnectingEvent); ok {
			c.log.Info("socket mode connecting", "connection", d.ConnectionCount+1, "attempt", d.Attempt)
		}
	case slacksm.EventTypeConnectionError:
		d, ok := ev.Data.(*slackapi.ConnectionErrorEvent)
		if !ok {
			return nil
		}
		var se slackapi.SlackErrorResponse
		if errors.As(d.ErrorObj, &se) && fatalOpen[se.Err] {
			return c.stop(se.Err)
		}
		c.gate.failed()
		c.log.Warn("socket mode connection failed; retrying", "attempt", d.Attempt, "error", scrub(d.ErrorObj.Error(), c.opts.AppToken))
	case slacksm.EventTypeHello:
		c.gate.connected()
		attrs := []any{}
		if ev.Request != nil {
			attrs = append(attrs, "num_connections", ev.Request.NumConnections, "host", ev.Request.DebugInfo.Host)
		}
		c.log.Info("socket mode connected", attrs...)
	case slacksm.EventTypeIncomingError, slacksm.EventTypeErrorWriteFailed:
		c.log.Warn("socket mode read or write failed", "event", string(ev.Type), "error", scrub(errorOf(ev.Data), c.opts.AppToken))
	case slacksm.EventTypeErrorBadMessage:
		// The message itself may hold user data: only that it was refused.
		c.log.Warn("socket mode message unreadable; ignored")
	case slacksm.EventTypeSlashCommand:
		answer(ctx, c, sm, ev, c.command)
	case slacksm.EventTypeInteractive:
		answer(ctx, c, sm, ev, c.click)
	case slacksm.EventTypeEventsAPI:
		// cdnpurge subscribes to no events; one that comes anyway is
		// acknowledged, so that Slack does not retry it.
		if ev.Request != nil {
			c.ack(sm, *ev.Request, nil)
		}
	}
	return nil
}

// answer runs handle on ev's envelope and its data, of slack-go's type T,
// in a goroutine of its own counted for the drain, with a context that
// shutdown does not end: an envelope taken is answered and acknowledged.
func answer[T any](ctx context.Context, c *Client, sm *slacksm.Client, ev slacksm.Event, handle func(context.Context, *slacksm.Client, slacksm.Request, T)) {
	data, ok := ev.Data.(T)
	if !ok || ev.Request == nil {
		return
	}
	req := *ev.Request
	received := time.Now()
	c.inflight.Go(func() {
		// handle returns once the envelope is acknowledged.
		handle(context.WithoutCancel(ctx), sm, req, data)
		if c.opts.Metrics != nil {
			c.opts.Metrics.Reply(transport, time.Since(received))
		}
	})
}

// command answers a slash command and acknowledges it with the reply.
func (c *Client) command(ctx context.Context, sm *slacksm.Client, req slacksm.Request, cmd slackapi.SlashCommand) {
	reply := slack.Render(c.svc.Command(ctx, service.Command{
		TeamID: cmd.TeamID, UserID: cmd.UserID, ChannelID: cmd.ChannelID, ChannelName: cmd.ChannelName,
		Command: cmd.Command, Text: cmd.Text, TriggerID: cmd.TriggerID, ResponseURL: cmd.ResponseURL,
		Token: envelopeToken(cmd.TriggerID, req.Payload),
	}))
	if req.AcceptsResponsePayload && reply != nil {
		// Ack refuses a payload of Slack's 20 KB or more before it is sent;
		// then the reply goes to response_url.
		if err := sm.Ack(req, reply); err == nil {
			return
		}
	}
	c.ack(sm, req, nil)
	if reply == nil || cmd.ResponseURL == "" {
		return
	}
	c.bg.Go(func() {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := c.opts.Poster.Post(pctx, cmd.ResponseURL, reply); err != nil {
			c.log.Error("reply to a slash command not delivered", "error", err)
		}
	})
}

// click acts on a button click and acknowledges it empty: the service posts
// the answer to the click's response_url. The acknowledgement follows the
// click's decision (inside the service's 2 s budget) rather than preceding
// it, as the HTTP transport's 200 does: a copy that stops before it decided
// leaves the envelope unacknowledged, and Slack redelivers it.
func (c *Client) click(ctx context.Context, sm *slacksm.Client, req slacksm.Request, cb slackapi.InteractionCallback) {
	cl := service.Click{TeamID: cb.Team.ID, UserID: cb.User.ID, ChannelID: cb.Channel.ID, ChannelName: cb.Channel.Name, ResponseURL: cb.ResponseURL}
	if a := slack.ApprovalAction(&cb); a != nil {
		cl.ActionID, cl.Value = a.ActionID, a.Value
	}
	c.svc.Click(ctx, cl)
	c.ack(sm, req, nil)
}

// ack acknowledges req with payload (nil for none), logging a failure.
func (c *Client) ack(sm *slacksm.Client, req slacksm.Request, payload any) {
	var err error
	if payload == nil {
		err = sm.Ack(req)
	} else {
		err = sm.Ack(req, payload)
	}
	if err != nil {
		c.log.Warn("socket mode acknowledgement not sent", "envelope_id", req.EnvelopeID, "error", err)
	}
}

// envelopeToken identifies a command's delivery for CloudFront's
// idempotency key: its trigger_id, as over HTTP, or, failing that, a hash
// of the payload, which a redelivery repeats.
func envelopeToken(triggerID string, payload []byte) string {
	if triggerID != "" {
		return triggerID
	}
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:16])
}

func errorOf(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	switch d := v.(type) {
	case *slackapi.IncomingEventError:
		return d.ErrorObj.Error()
	case *slacksm.ErrorWriteFailed:
		return d.Cause.Error()
	}
	return fmt.Sprint(v)
}

// scrub removes the token from s, should an error ever quote it.
func scrub(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// openGate is the HTTP client slack-go calls apps.connections.open
// through; it waits before an open that follows a failed one or a
// short-lived connection, with exponential backoff and full jitter.
// slack-go's own retry has no jitter and does not wait at all after a
// connection that dropped, however soon; this is the only place every
// (re)connect passes before it reaches Slack.
type openGate struct {
	client      *http.Client
	min, max    time.Duration
	stable      time.Duration
	log         *slog.Logger
	closing     *atomic.Bool
	mu          sync.Mutex
	attempt     int       // how many opens since the last stable connection
	connectedAt time.Time // when the current connection said hello; zero for none
}

// Do waits as the gate says, then sends req.
func (g *openGate) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "apps.connections.open") {
		if g.closing.Load() {
			return nil, errClosing
		}
		if d := g.wait(); d > 0 {
			g.log.Info("socket mode reconnecting after a backoff", "backoff_seconds", d.Round(time.Millisecond).Seconds())
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-req.Context().Done():
				t.Stop()
				return nil, req.Context().Err()
			}
		}
	}
	return g.client.Do(req)
}

// errClosing refuses the open slack-go tries as Run closes the socket.
var errClosing = errors.New("socket mode is closing")

// wait is how long to wait before this open.
func (g *openGate) wait() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.connectedAt.IsZero() && time.Since(g.connectedAt) >= g.stable {
		g.attempt = 0
	}
	g.connectedAt = time.Time{}
	n := g.attempt
	g.attempt++
	if n == 0 {
		return 0
	}
	d := g.max
	if n < 30 {
		d = min(g.max, g.min<<(n-1))
	}
	// Full jitter over the upper half: replicas that lost Slack at the same
	// moment come back at different ones.
	return d/2 + rand.N(d/2+1)
}

func (g *openGate) connected() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connectedAt = time.Now()
}

func (g *openGate) failed() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connectedAt = time.Time{}
}
