package fastlycdn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// call is one purge request, for the request and the context of its
// errors.
type call struct {
	what  string // what it purges, for messages: "URL www.example.com/a", "everything on service X"
	path  string // the API path, after the endpoint
	body  []byte // nil for none
	scope string // the token scope it needs: purge_select or purge_all
	soft  bool
}

// wrap adds the call's context to err, for the operator's log.
func (c call) wrap(err error) error {
	return fmt.Errorf("fastly POST %s: %w", c.path, err)
}

// status classifies a non-2xx answer. The message names what the user
// gave and, for a 400, Fastly's own words; never the token, which is cut
// from anything Fastly said in case it was echoed.
func (c call) status(code int, h http.Header, body []byte, now time.Time, token string) *purge.Error {
	fe := parseError(body)
	said := redact(fe.String(), token)
	detail := c.wrap(fmt.Errorf("HTTP %d: %s", code, said))
	e := &purge.Error{Err: detail}
	switch {
	case code == http.StatusUnauthorized:
		e.Code = purge.Unauthenticated
		e.Message = "Fastly did not accept the API token (missing, invalid or expired); " +
			"check the variable the target's token_env names"
	case code == http.StatusForbidden:
		e.Code = purge.PermissionDenied
		e.Message = fmt.Sprintf("the Fastly API token may not purge %s: it needs the %s scope on the service; "+
			"ask a Fastly administrator for a token that has it", c.what, c.scope)
	case code == http.StatusNotFound:
		e.Code = purge.NotFound
		if strings.HasPrefix(c.path, "/purge/") {
			e.Message = fmt.Sprintf("Fastly knows no service for %s; check the target's domains", c.what)
		} else {
			e.Message = fmt.Sprintf("Fastly has no service %s; check the target's service ID", serviceOf(c.path))
		}
	case code == http.StatusBadRequest:
		e.Code = purge.Invalid
		e.Message = fmt.Sprintf("Fastly refused the purge of %s as invalid", c.what)
		if said != "" {
			e.Message += ": " + said
		}
	case code == http.StatusTooManyRequests:
		e.Code = purge.RateLimited
		e.Message = "Fastly is limiting the rate of requests; try again later"
		if after, ok := retryAfter(h, now); ok {
			e.Message = "Fastly is limiting the rate of requests; try again in " + after.String()
			e.Err = fmt.Errorf("%w: %w", &purge.RateLimit{After: after}, detail)
		}
	case code >= 500:
		e.Code = purge.Unavailable
		e.Message = fmt.Sprintf("Fastly is unavailable right now (HTTP %d) and may not have purged %s; try again in a moment", code, c.what)
	default:
		e.Code = purge.Internal
		e.Message = "internal error"
	}
	return e
}

// serviceOf returns the service ID of a /service/{id}/... path.
func serviceOf(path string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(path, "/service/"), "/")
	return id
}

// transport classifies a request that got no answer: never sent (the
// connection refused, an unknown host: purge.ErrUnreachable, naming base),
// or sent with no answer in time, when Fastly may have purged.
func (c call) transport(base string, err error) *purge.Error {
	// awserr.Reason reads net's dial and DNS errors, whatever the service.
	if reason := awserr.Reason(err); reason != "" {
		return &purge.Error{
			Code: purge.Unavailable,
			Message: fmt.Sprintf("Fastly could not be reached at %s (%s): %s was not purged; "+
				"check the network and CDNPURGE_FASTLY_ENDPOINT", base, reason, c.what),
			Err: c.wrap(fmt.Errorf("%w: %w", purge.ErrUnreachable, err)),
		}
	}
	msg := fmt.Sprintf("Fastly did not answer in time; %s may have been purged all the same "+
		"(a repeated purge is harmless)", c.what)
	if errors.Is(err, context.Canceled) {
		msg = fmt.Sprintf("the purge of %s was stopped before Fastly answered; it may have been made", c.what)
	}
	return &purge.Error{Code: purge.Unavailable, Message: msg, Err: c.wrap(err)}
}

// invalid is for a request that could not be built.
func (c call) invalid(err error) *purge.Error {
	return &purge.Error{Code: purge.Invalid, Message: fmt.Sprintf("cdnpurge could not make a Fastly request for %s", c.what), Err: c.wrap(err)}
}

// unexpected is for a 2xx answer cdnpurge cannot read.
func (c call) unexpected(body []byte, err error) *purge.Error {
	if err == nil {
		err = errors.New("status is not ok")
	}
	return &purge.Error{
		Code:    purge.Internal,
		Message: fmt.Sprintf("Fastly answered the purge of %s in a form cdnpurge does not know; it may have been made", c.what),
		Err:     c.wrap(fmt.Errorf("answer %q: %w", clip(string(body), 200), err)),
	}
}

// fastlyError is the body of Fastly's API errors: {"msg":"...","detail":"..."}
// (detail may be absent).
type fastlyError struct {
	Msg    string `json:"msg"`
	Detail string `json:"detail"`
}

// String returns msg and detail as one line fit for a message, or "".
func (fe fastlyError) String() string {
	s := strings.TrimSpace(fe.Msg)
	if d := strings.TrimSpace(fe.Detail); d != "" {
		if s != "" {
			s += ": "
		}
		s += d
	}
	return clip(s, 300)
}

// parseError reads Fastly's JSON error; anything else gives an empty one.
func parseError(body []byte) fastlyError {
	var fe fastlyError
	if json.Unmarshal(body, &fe) != nil {
		return fastlyError{}
	}
	return fe
}

// clip returns s on one line, without control characters, cut to at most
// n runes.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// redact cuts token out of s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// retryAfter returns how long a 429 asks to wait: its Retry-After (seconds
// or an HTTP date), else Fastly's Fastly-RateLimit-Reset (the end of the
// rate-limit window, in Unix seconds).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return seconds(s)
		}
		if t, err := http.ParseTime(v); err == nil {
			return positive(t.Sub(now))
		}
	}
	if v := strings.TrimSpace(h.Get("Fastly-RateLimit-Reset")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 && s < 1<<40 {
			return positive(time.Unix(s, 0).Sub(now))
		}
	}
	return 0, false
}

// seconds returns s seconds, if s is positive and at most a day.
func seconds(s int64) (time.Duration, bool) {
	if s <= 0 || s > 86400 {
		return 0, false
	}
	return time.Duration(s) * time.Second, true
}

// positive returns d rounded up to the second, if it is positive and at
// most a day.
func positive(d time.Duration) (time.Duration, bool) {
	if d <= 0 || d > 24*time.Hour {
		return 0, false
	}
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d, true
}
