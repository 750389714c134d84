package cloudflarecdn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cloudflare/cloudflare-go/v7/cache"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// The permission an API token needs to purge, as Cloudflare's dashboard
// names it.
const purgePermission = "Zone › Cache Purge › Purge"

// Cloudflare's error codes that say the credentials were not accepted,
// whatever the status they come with: 9106 no Authorization header, 6003
// invalid request headers (its chain 6111, the Authorization header's
// format; 6102/6103, the X-Auth headers'), 9103 an unknown key, 1000 an
// invalid API token. Its 10000, "Authentication error", is told by its
// status: 401 for a revoked token, 403 for one lacking the permission.
var unauthenticatedCodes = []int64{9106, 6003, 6111, 6102, 6103, 9103, 1000}

// Cloudflare's error codes for a zone it cannot route to: 7003 "Could not
// route to ..., perhaps your object identifier is invalid?", 1001 "Invalid
// zone identifier".
var noZoneCodes = []int64{7003, 1001}

// rateLimitedCode is Cloudflare's 971, "Please wait and consider
// throttling your request speed", the 429 of its purge token bucket.
const rateLimitedCode = 971

// classify turns an error of the SDK, with the response it came with (nil
// when none came), into a *purge.Error: its Code says what happened, its
// Message is safe for a chat user, and Err holds the detail for the
// operator's log. Neither holds the API token.
func (p *Provider) classify(err error, resp *http.Response) *purge.Error {
	detail := fmt.Errorf("cloudflare zone %s: purge_cache: %w", p.zoneID, redacted{err, p.token})
	var apiErr *cache.Error // cloudflare.Error, as the cache package names it
	status := 0
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.StatusCode
	case resp != nil && resp.StatusCode >= 400:
		// An answer the SDK could not read as Cloudflare's envelope (a
		// proxy's HTML page, say): its status still says what happened.
		status = resp.StatusCode
	}
	if status == 0 {
		return p.noAnswer(err, detail)
	}
	codes, msg := p.cloudflareSaid(apiErr)
	e := &purge.Error{Err: detail}
	switch {
	case status == http.StatusTooManyRequests || slices.Contains(codes, rateLimitedCode):
		after, known := retryAfter(resp)
		e.Code = purge.RateLimited
		e.Message = "Cloudflare is limiting the rate of purges (a token bucket per account)"
		if known {
			e.Message += "; try again in " + seconds(after)
			e.Err = fmt.Errorf("%w: %w", &purge.RateLimit{After: after}, detail)
		} else {
			e.Message += "; try again in a minute"
		}
	case status == http.StatusForbidden:
		e.Code = purge.PermissionDenied
		e.Message = fmt.Sprintf("Cloudflare refused the purge on zone %s: its API token lacks the permission %s "+
			"on the zone; ask a Cloudflare administrator to grant it", p.zoneID, purgePermission)
	case status == http.StatusUnauthorized || hasAny(codes, unauthenticatedCodes):
		e.Code = purge.Unauthenticated
		e.Message = fmt.Sprintf("Cloudflare did not accept the API token for zone %s (missing, malformed, expired "+
			"or revoked); check the variable the target's token_env names: the token needs %s", p.zoneID, purgePermission)
	case status == http.StatusNotFound || hasAny(codes, noZoneCodes):
		e.Code = purge.NotFound
		e.Message = fmt.Sprintf("Cloudflare has no zone %s that its API token can see; check the target's zone ID", p.zoneID)
	case status >= 500:
		e.Code = purge.Unavailable
		e.Message = fmt.Sprintf("Cloudflare answered with a server error (HTTP %d); try again in a moment", status)
	case status >= 400 && msg != "":
		e.Code = purge.Invalid
		e.Message = "Cloudflare refused the purge: " + msg
	case status >= 400:
		e.Code = purge.Invalid
		e.Message = fmt.Sprintf("Cloudflare refused the purge as invalid (HTTP %d)", status)
	}
	return e
}

// noAnswer classifies an error that came with no answer from Cloudflare.
func (p *Provider) noAnswer(err, detail error) *purge.Error {
	// awserr.Reason reads only net and DNS errors, nothing of AWS: a
	// failed dial proves nothing was sent, whatever the service.
	if reason := awserr.Reason(err); reason != "" {
		check := "check cdnpurge's network access to Cloudflare"
		if p.endpoint.configured {
			check = "check CDNPURGE_CLOUDFLARE_ENDPOINT and the network"
		}
		return &purge.Error{
			Code: purge.Unavailable,
			Message: fmt.Sprintf("Cloudflare could not be reached at %s (%s): nothing was purged; %s",
				p.endpoint.base, reason, check),
			Err: fmt.Errorf("%w: %w", purge.ErrUnreachable, detail),
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &purge.Error{Code: purge.Unavailable, Err: detail,
			Message: "Cloudflare did not answer in time; the purge may have been made all the same, try again to be sure"}
	}
	return &purge.Error{Code: purge.Internal, Message: "internal error", Err: detail}
}

// redacted is an error of the SDK with the API token taken out of its
// text: the SDK's error quotes Cloudflare's raw answer, which may echo
// what was sent. errors.Is and errors.As still see the error itself.
type redacted struct {
	err   error
	token string
}

func (r redacted) Error() string { return redact(r.err.Error(), r.token) }
func (r redacted) Unwrap() error { return r.err }

// redact replaces token in s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// cloudflareSaid returns the codes of apiErr's errors and a message made
// of theirs, fit for a chat user: "message (code N)", the token redacted,
// control characters dropped, at most maxMessage bytes.
func (p *Provider) cloudflareSaid(apiErr *cache.Error) ([]int64, string) {
	if apiErr == nil {
		return nil, ""
	}
	var codes []int64
	var parts []string
	for _, e := range apiErr.Errors {
		codes = append(codes, e.Code)
		if m := strings.TrimSpace(e.Message); m != "" {
			parts = append(parts, fmt.Sprintf("%s (code %d)", m, e.Code))
		}
	}
	msg := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, redact(strings.Join(parts, "; "), p.token))
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return codes, msg
}

// maxMessage bounds what of Cloudflare's message reaches a chat user.
const maxMessage = 300

func hasAny(codes, want []int64) bool {
	return slices.ContainsFunc(codes, func(c int64) bool { return slices.Contains(want, c) })
}

// retryAfter reads resp's Retry-After: whole seconds, as Cloudflare sends
// it, or an HTTP date (RFC 9110). It reports false when there is none or
// it does not parse.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// maxRetryAfter caps a Retry-After: Cloudflare's global limit blocks for
// five minutes at most; a larger value is a mistake not to wait for.
const maxRetryAfter = time.Hour

// parseRetryAfter parses a Retry-After value at now. The SDK parses it
// too, but only inside its own retry loop, which is off (see New).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		if d := time.Duration(n) * time.Second; n > 0 && d <= maxRetryAfter {
			return d, true
		}
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 || d > maxRetryAfter {
		return 0, false
	}
	return d, true
}

// seconds words d for a chat user: "1 second", "30 seconds".
func seconds(d time.Duration) string {
	n := int((d + time.Second - 1) / time.Second)
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}
