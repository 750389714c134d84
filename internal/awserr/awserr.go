// Package awserr sorts the errors every AWS service client can return into
// a few kinds, by the error codes AWS's front end shares across services and
// by what happened on the way (unreachable, no answer, a server error). Each
// backend (cloudfrontcdn, lambdainvoke) first handles its own service's
// errors, then asks Of for the rest and words the message for its users;
// CredentialsMessage is the one message they share. Redact and WithText keep
// secrets out of an error's text while errors.Is and errors.As still see
// through it.
package awserr

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind is the class of an AWS error that a service has no special meaning
// for.
type Kind int

// The kinds. Unknown is the zero value.
const (
	Unknown          Kind = iota
	Unauthenticated       // credentials missing, invalid or expired
	PermissionDenied      // the credentials may not do this
	Throttled             // too many requests: slow down
	ServerError           // the service answered with a server error: it did not do the work
	NoAnswer              // no answer in time, or the connection failed: it may have done the work
	Unreachable           // the request never reached the service (refused, unknown host, no route): it did not do the work
)

// Error codes AWS's front end returns for any service.
var (
	unauthenticatedCodes = set(
		"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
		"IncompleteSignature", "MissingAuthenticationToken", "InvalidAccessKeyId",
		"UnrecognizedClientException", "InvalidSignatureException",
	)
	permissionCodes = set("AccessDenied", "AccessDeniedException")
	throttlingCodes = set(
		"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
		"TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
	)
	serverErrorCodes = set(
		"ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalFailure",
		"ServiceException", "RequestTimeout", "RequestTimeoutException",
	)
)

func set(cs ...string) map[string]bool {
	m := make(map[string]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// Of returns the kind of err: by its API error code first, then by what
// happened on the way.
func Of(err error) Kind {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case unauthenticatedCodes[code]:
			return Unauthenticated
		case permissionCodes[code]:
			return PermissionDenied
		case throttlingCodes[code]:
			return Throttled
		case serverErrorCodes[code]:
			return ServerError
		}
	}
	var (
		respErr *smithyhttp.ResponseError
		sendErr *smithyhttp.RequestSendError
		netErr  net.Error
	)
	switch {
	case Reason(err) != "":
		// Before the deadline: a dial that timed out is a
		// context.DeadlineExceeded too, and it never reached the service.
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return NoAnswer
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusTooManyRequests:
		return Throttled
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500:
		return ServerError
	case errors.As(err, &sendErr), errors.As(err, &netErr):
		return NoAnswer
	}
	return Unknown
}

// Reason says why err's request never reached the service, in a few words
// fit for a user message ("connection refused", "unknown host", "no route to
// host", "network unreachable", "connection timed out"), or "" when nothing
// in err's chain proves that it did not: only a failure to connect does, as
// the SDK wraps it (the retryer's "exceeded maximum number of attempts",
// smithy.OperationError, smithyhttp.RequestSendError, *url.Error). A timeout
// or a reset once connected, and a deadline whose chain does not show the
// dial failing, prove nothing: the service may have done the work.
func Reason(err error) string {
	var (
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "unknown host"
	case errors.As(err, &dnsErr):
		return "host name lookup failed"
	case !errors.As(err, &opErr) || opErr.Op != "dial":
		// ECONNREFUSED and the like prove nothing outside a dial: an
		// established connection can fail with EHOSTUNREACH too.
		return ""
	case errors.Is(opErr, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(opErr, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(opErr, syscall.ENETUNREACH):
		return "network unreachable"
	case opErr.Timeout():
		return "connection timed out"
	}
	// Nothing is sent before the connection is made.
	return "could not connect"
}

// CredentialsMessage is the user message for Unauthenticated, whichever
// service refused: the credentials are cdnpurge's own.
const CredentialsMessage = "AWS did not accept cdnpurge's credentials (missing, invalid or expired); " +
	"check the AWS credentials cdnpurge runs with"

// Redacted stands in an error's text for a secret blotted out of it.
const Redacted = "[REDACTED]"

// Redact returns err with each of secrets replaced by Redacted in its text;
// secrets shorter than 4 bytes are left alone (they would blot out ordinary
// words). With nothing to replace it returns err itself.
func Redact(err error, secrets ...string) error {
	text := err.Error()
	clean := text
	for _, s := range secrets {
		if len(s) >= 4 {
			clean = strings.ReplaceAll(clean, s, Redacted)
		}
	}
	if clean == text {
		return err
	}
	return WithText(err, clean)
}

// WithText returns an error whose text is text, err's own with its secrets
// taken out, and which unwraps to err, so that errors.Is and errors.As see
// through it.
func WithText(err error, text string) error { return &redactedError{text: text, err: err} }

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
