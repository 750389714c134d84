package purge

import (
	"errors"
	"fmt"
)

// Code classifies an error so that callers can act on it without reading its
// message. Backends translate their own errors into one of these where the
// error enters the program.
type Code string

// The error codes. The zero value is not a valid code; ErrorCode reports
// Internal for any error that carries none.
const (
	Invalid          Code = "invalid"           // the request itself is wrong; retrying will not help
	Unauthenticated  Code = "unauthenticated"   // no or bad credentials
	PermissionDenied Code = "permission_denied" // credentials are fine, the action is not allowed
	NotFound         Code = "not_found"         // the distribution or invalidation does not exist
	Conflict         Code = "conflict"          // the same caller reference was used for other paths
	RateLimited      Code = "rate_limited"      // too many requests, or too many invalidations in progress
	Unavailable      Code = "unavailable"       // a transient failure; a later try may succeed
	Internal         Code = "internal"          // anything unclassified
)

// Error is an error with a code and two messages: Message is safe to show to
// a chat user; the wrapped Err carries the operator's detail and goes only to
// the log.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Errorf returns an *Error with the given code and a user-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error reports the user-safe message followed by the operator detail.
func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	default:
		return e.Message + ": " + e.Err.Error()
	}
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the message of err that is safe to show to a user:
// the Message of the first *Error in its chain, or "internal error" for
// anything unclassified, so that no detail of an unknown failure leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// ErrUnreachable is in the chain of an error (errors.Is) when a request never
// reached the CDN: the connection was refused, the host is unknown, there is no
// route. Nothing was created. Its *Error has Code Unavailable.
var ErrUnreachable = errors.New("the CDN could not be reached")

// Unreachable reports whether err says the request never reached the CDN.
func Unreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// Temporary reports whether a later try of the same request may succeed.
func Temporary(err error) bool {
	switch ErrorCode(err) {
	case RateLimited, Unavailable:
		return true
	}
	return false
}

// ErrInProgressLimit is in the chain of an error (errors.Is) when the CDN
// refused a purge because too much is in progress on the distribution
// (CloudFront's TooManyInvalidationsInProgress). Its *Error has Code
// RateLimited; unlike throttling, it clears only as invalidations complete.
var ErrInProgressLimit = errors.New("too many invalidations in progress")

// InProgressLimit reports whether err is a refusal for the in-progress
// limits (see ErrInProgressLimit).
func InProgressLimit(err error) bool { return errors.Is(err, ErrInProgressLimit) }
