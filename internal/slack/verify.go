package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// ErrBadSignature is the class of every verification failure: a missing,
// malformed, stale or wrong signature. Callers answer it with 401 and no
// detail; the wrapped cause is for the operator's log.
var ErrBadSignature = errors.New("slack request signature rejected")

// Verify checks Slack's v0 request signature over the raw body: the
// X-Slack-Signature header must equal v0=hex(HMAC-SHA256(secret,
// "v0:"+timestamp+":"+body)), compared in constant time, and the
// X-Slack-Request-Timestamp must lie within five minutes of now in either
// direction. slack-go's SecretsVerifier does all of that; Verify only
// classifies its errors.
func Verify(header http.Header, body []byte, secret string) error {
	sv, err := slackapi.NewSecretsVerifier(header, secret)
	if errors.Is(err, slackapi.ErrExpiredTimestamp) {
		// slack-go calls a timestamp too far ahead "too old" as well.
		err = staleTimestamp(header.Get("X-Slack-Request-Timestamp"), time.Now())
	}
	if err != nil {
		return &purge.Error{Code: purge.Unauthenticated, Err: fmt.Errorf("%w: %w", ErrBadSignature, err)}
	}
	if _, err := sv.Write(body); err != nil {
		return &purge.Error{Code: purge.Unauthenticated, Err: fmt.Errorf("%w: %w", ErrBadSignature, err)}
	}
	if err := sv.Ensure(); err != nil {
		return &purge.Error{Code: purge.Unauthenticated, Err: fmt.Errorf("%w: %w", ErrBadSignature, err)}
	}
	return nil
}

// maxSkew is how far a request's timestamp may be from now, either way.
const maxSkew = 5 * time.Minute

// staleError is a request timestamp more than five minutes off: off is
// how far behind now (positive) or ahead of it (negative).
type staleError struct{ off time.Duration }

func (e *staleError) Error() string {
	if e.off < 0 {
		return fmt.Sprintf("request timestamp is %s in the future (more than %s off; is a clock wrong?)", (-e.off).Round(time.Second), maxSkew)
	}
	return fmt.Sprintf("request timestamp is %s old (more than %s off: a replay, or a clock wrong)", e.off.Round(time.Second), maxSkew)
}

// Unwrap keeps slack-go's class for errors.Is.
func (e *staleError) Unwrap() error { return slackapi.ErrExpiredTimestamp }

// staleTimestamp words a timestamp that slack-go found more than five
// minutes off, saying which way.
func staleTimestamp(ts string, now time.Time) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return slackapi.ErrExpiredTimestamp
	}
	return &staleError{off: now.Sub(time.Unix(sec, 0))}
}
