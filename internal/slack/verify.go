package slack

import (
	"errors"
	"fmt"
	"net/http"

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
