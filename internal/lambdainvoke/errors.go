package lambdainvoke

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// call describes one invocation, for the context of its errors.
type call struct {
	function       string
	invalidationID string
	hop            int
	responseURL    string // a secret: only ever used to blot it out
}

// wrap adds the call's context to err, for the operator's log.
func (c call) wrap(err error) error {
	return fmt.Errorf("invoke Lambda function %q for the follow-up of invalidation %q, hop %d: %w",
		c.function, c.invalidationID, c.hop, err)
}

func (c call) invalid(detail string) *purge.Error {
	return &purge.Error{Code: purge.Invalid, Message: detail, Err: c.wrap(c.detail(errors.New(detail)))}
}

func (c call) internal(detail string) *purge.Error {
	return &purge.Error{Code: purge.Internal, Message: "internal error", Err: c.wrap(c.detail(errors.New(detail)))}
}

// classify turns an error of the SDK into a *purge.Error whose Code says what
// happened and whose Message is safe to show to a chat user. Err keeps the
// SDK's error for errors.As, with the response_url blotted out of its text.
func (c call) classify(err error) *purge.Error {
	code, msg, quiet := c.code(err)
	d := c.detail(err)
	if quiet {
		d = c.withoutServerMessage(err)
	}
	return &purge.Error{Code: code, Message: msg, Err: c.wrap(d)}
}

// code classifies err. quiet is set when the server's message must not be
// kept: a signature error can quote the canonical request, credentials
// included.
func (c call) code(err error) (code purge.Code, msg string, quiet bool) {
	var (
		notFound  *types.ResourceNotFoundException
		tooMany   *types.TooManyRequestsException
		recursive *types.RecursiveInvocationException
	)
	// What the server said, by the SDK's types first,
	switch {
	case errors.As(err, &notFound):
		return c.notFound()
	case errors.As(err, &tooMany):
		return c.throttled()
	case errors.As(err, &recursive):
		return purge.Internal, "AWS Lambda stopped the follow-up as a recursive loop; " +
			"the function's recursive loop detection must allow self-invocation", false
	}

	// then by its own codes,
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); code {
		case "ResourceNotFoundException":
			return c.notFound()
		case "ResourceNotReadyException", "ResourceConflictException":
			// The function is being created, updated or woken up.
			return c.unavailable()
		}
	}

	// and then as any AWS service's error.
	switch awserr.Of(err) {
	case awserr.PermissionDenied:
		return purge.PermissionDenied, fmt.Sprintf("cdnpurge's IAM role lacks lambda:InvokeFunction on "+
			"its own function %s, so the invalidation cannot be followed; ask an AWS administrator to allow it",
			c.function), false
	case awserr.Unauthenticated:
		return purge.Unauthenticated, awserr.CredentialsMessage, true
	case awserr.Throttled:
		return c.throttled()
	case awserr.ServerError, awserr.NoAnswer, awserr.Unreachable:
		return c.unavailable()
	}
	return purge.Internal, "internal error", false
}

func (c call) notFound() (purge.Code, string, bool) {
	return purge.NotFound, fmt.Sprintf("AWS Lambda has no function %s to hand the follow-up to; "+
		"check the function name", c.function), false
}

func (c call) throttled() (purge.Code, string, bool) {
	return purge.RateLimited, "AWS Lambda is limiting the rate of invocations; the follow-up was not started", false
}

func (c call) unavailable() (purge.Code, string, bool) {
	return purge.Unavailable, "AWS Lambda did not answer in time; the follow-up may not have started", false
}

// detail returns err with the response_url blotted out of its text. It still
// unwraps to err, so errors.As and errors.Is see through it.
func (c call) detail(err error) error {
	text := err.Error()
	if clean := redact(text, c.responseURL); clean != text {
		return awserr.WithText(err, clean)
	}
	return err
}

// withoutServerMessage describes err by its code, HTTP status and request ID
// only.
func (c call) withoutServerMessage(err error) error {
	var (
		apiErr  smithy.APIError
		respErr *awshttp.ResponseError
	)
	text := "Lambda Invoke failed"
	if errors.As(err, &apiErr) {
		text += ": " + apiErr.ErrorCode() + " (the server's message is withheld: it may quote the credentials)"
	}
	if errors.As(err, &respErr) {
		text += fmt.Sprintf(", HTTP %d, request ID %s", respErr.HTTPStatusCode(), respErr.ServiceRequestID())
	}
	return awserr.WithText(err, redact(text, c.responseURL))
}

// redact returns text with the response URL blotted out: the URL from its
// origin on (a server quoting the payload may cut it anywhere, or escape its
// slashes as JSON may), and the last segment of its path, the token, wherever
// it appears (percent-encoded, say).
func redact(text, responseURL string) string {
	if len(responseURL) < 4 {
		return text
	}
	u, err := url.Parse(responseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.ReplaceAll(text, responseURL, awserr.Redacted)
	}
	origin := strings.ReplaceAll(regexp.QuoteMeta(u.Scheme+"://"+u.Host), "/", `\\?/`)
	re, err := regexp.Compile(`(?i:` + origin + `)(?:\\/|[^\s"'<>\\])*`)
	if err != nil { // cannot happen: the pattern is quoted
		return awserr.Redacted
	}
	text = re.ReplaceAllLiteralString(text, awserr.Redacted)
	if token := path.Base(u.Path); len(token) >= 8 {
		text = strings.ReplaceAll(text, token, awserr.Redacted)
	}
	return text
}
