package slack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// slackHooksHosts are the hosts that serve incoming webhooks and response_url.
var slackHooksHosts = map[string]bool{"hooks.slack.com": true, "hooks.slack-gov.com": true}

// CheckURL reports whether a message may be posted to rawURL: https:// on
// Slack's hooks host, or, with allowLoopback (local runs and tests), http or
// https on a loopback address. Anything else is refused, so that a forged
// response_url cannot make cdnpurge send requests to other hosts. The error
// names no part of the URL: its path is a secret.
func CheckURL(rawURL string, allowLoopback bool) error {
	return checkSlackURL(rawURL, slackHooksHosts, "Slack's hooks host", allowLoopback)
}

// slackAPIHosts serve Slack's Web API.
var slackAPIHosts = map[string]bool{"slack.com": true, "slack-gov.com": true}

// CheckAPIURL is CheckURL for the base URL of Slack's Web API: https:// on
// slack.com, or loopback with allowLoopback.
func CheckAPIURL(rawURL string, allowLoopback bool) error {
	return checkSlackURL(rawURL, slackAPIHosts, "Slack's API host", allowLoopback)
}

func checkSlackURL(rawURL string, hosts map[string]bool, what string, allowLoopback bool) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("not an absolute URL")
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" && hosts[host] && (u.Port() == "" || u.Port() == "443") {
		return nil
	}
	if allowLoopback && (u.Scheme == "http" || u.Scheme == "https") && IsLoopback(host) {
		return nil
	}
	if allowLoopback {
		return fmt.Errorf("host %q is neither %s nor loopback", host, what)
	}
	return fmt.Errorf("host %q is not %s over https", host, what)
}

// IsLoopback reports whether host (no port) is localhost or a loopback
// address: where a stand-in may replace a remote API, for local runs and
// tests (the provider endpoints in internal/config follow the same rule).
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL keeps the scheme, host and first path element of a Slack URL and
// hides the rest, which carries the webhook or response token:
// https://hooks.slack.com/services/… for logs and errors.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "[invalid URL]"
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return u.Scheme + "://" + u.Host + "/" + first + "/…"
}

// Poster delivers messages to incoming webhooks and response_url.
type Poster struct {
	// HTTPClient sends the requests; nil means a client with a 5 s timeout.
	HTTPClient *http.Client
	// AllowLoopback lets URLs be http(s) on loopback (CDNPURGE_DEV_ALLOW_LOOPBACK).
	AllowLoopback bool
	// Attempts is how many times a transient failure (network error, 429,
	// 5xx) is tried in all; 0 means 3.
	Attempts int
	// Backoff is the first pause between attempts, doubled after each; 0
	// means 200 ms.
	Backoff time.Duration
	// Metrics counts each message lost, after its retries; nil counts
	// nothing.
	Metrics DeliveryMetrics
}

// DeliveryMetrics is what a Poster counts (internal/metrics).
type DeliveryMetrics interface {
	// SlackDeliveryFailed counts a message lost on its way to destination:
	// "webhook" (the audit webhook) or "response_url".
	SlackDeliveryFailed(destination string)
}

// Post sends msg to rawURL, a response_url, retrying transient failures.
// Errors are classified (Invalid for a refused URL, Unavailable for
// failures) and never contain the URL's secret parts.
func (p *Poster) Post(ctx context.Context, rawURL string, msg *slackapi.WebhookMessage) error {
	return p.count("response_url", p.post(ctx, rawURL, msg))
}

// count counts err, a delivery to destination lost, and returns it.
func (p *Poster) count(destination string, err error) error {
	if err != nil && p.Metrics != nil {
		p.Metrics.SlackDeliveryFailed(destination)
	}
	return err
}

// post is Post, uncounted.
func (p *Poster) post(ctx context.Context, rawURL string, msg *slackapi.WebhookMessage) error {
	if err := CheckURL(rawURL, p.AllowLoopback); err != nil {
		return &purge.Error{Code: purge.Invalid, Message: "the Slack URL was refused", Err: fmt.Errorf("post to %s: URL refused: %w", RedactURL(rawURL), err)}
	}
	client := p.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	attempts, backoff := p.Attempts, p.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if w := retryAfter(err); w > backoff {
				backoff = w
			}
			select {
			case <-ctx.Done():
				return unavailable(rawURL, i, ctx.Err())
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		err = slackapi.PostWebhookCustomHTTPContext(ctx, rawURL, client, msg)
		if err == nil || !transient(err) {
			break
		}
	}
	if err != nil {
		return unavailable(rawURL, attempts, err)
	}
	return nil
}

func unavailable(rawURL string, attempts int, err error) error {
	return &purge.Error{
		Code:    purge.Unavailable,
		Message: "Slack did not accept the message",
		Err:     fmt.Errorf("post to %s (%d attempts): %w", RedactURL(rawURL), attempts, stripURL(err)),
	}
}

// transient reports whether a failed post may succeed when tried again.
func transient(err error) bool {
	var status slackapi.StatusCodeError
	if errors.As(err, &status) {
		return status.Code >= 500
	}
	var limited *slackapi.RateLimitedError
	if errors.As(err, &limited) {
		return true
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func retryAfter(err error) time.Duration {
	var limited *slackapi.RateLimitedError
	if errors.As(err, &limited) && limited.RetryAfter < 30*time.Second {
		return limited.RetryAfter
	}
	return 0
}

// stripURL removes the URL that net/http puts into its errors
// (Post "https://hooks.slack.com/services/T/B/secret": …), keeping the cause.
func stripURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}

// Auditor posts the audit record of each invalidation to the audit webhook
// (SlackUrl). A post that fails is logged with the record's text, so that
// the record is not lost; the webhook URL never is.
type Auditor struct {
	Poster     *Poster
	WebhookURL string
	Logger     *slog.Logger
	// Timeout bounds one post, retries included; 0 means 15 s.
	Timeout time.Duration
}

// Audit posts the record of p and reports whether Slack took it. It is
// called once per invalidation, by whichever delivery created it.
func (a *Auditor) Audit(ctx context.Context, p Purge) error {
	if a == nil || a.WebhookURL == "" {
		return nil
	}
	msg := AuditMessage(p)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(a.Timeout, 15*time.Second))
	defer cancel()
	err := a.Poster.count("webhook", a.Poster.post(ctx, a.WebhookURL, msg))
	if err != nil && a.Logger != nil {
		a.Logger.Error("audit webhook failed", "invalidation", p.Invalidation.ID, "audit_text", msg.Text, "error", err)
	}
	return err
}
