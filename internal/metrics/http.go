package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
)

// The results of a CDN call (the result label): ok, or the class of its
// failure.
const (
	ResultOK          = "ok"
	ResultRateLimited = "rate_limited" // 429, or the API's throttling
	ResultUnavailable = "unavailable"  // a server error, or no answer in time
	ResultUnreachable = "unreachable"  // never reached the API (refused, unknown host)
	ResultDenied      = "denied"       // 401, 403: credentials missing or not allowed
	ResultInvalid     = "invalid"      // any other 4xx: the request was wrong
	ResultError       = "error"        // anything else
)

// statusResult is the result of an HTTP answer with status code.
func statusResult(code int) string {
	switch {
	case code >= 200 && code < 400:
		return ResultOK
	case code == http.StatusTooManyRequests:
		return ResultRateLimited
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return ResultDenied
	case code >= 500:
		return ResultUnavailable
	case code >= 400:
		return ResultInvalid
	}
	return ResultError
}

// sendResult is the result of a request that got no HTTP answer.
func sendResult(err error) string {
	if awserr.Reason(err) != "" {
		return ResultUnreachable
	}
	// A timeout, a reset, a cancelled context: it may have been received.
	return ResultUnavailable
}

// Transport returns base (http.DefaultTransport if nil) counting each
// request as a call to provider's API, named by operation (the provider
// package's Operation), with its result from the HTTP status. Give it to a
// provider as its http.Client's Transport: every request the client
// sends, each retry included, is counted once.
func (m *Metrics) Transport(base http.RoundTripper, provider string, operation func(*http.Request) string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if m == nil {
		return base
	}
	return &transport{base: base, m: m, provider: provider, operation: operation}
}

type transport struct {
	base      http.RoundTripper
	m         *Metrics
	provider  string
	operation func(*http.Request) string
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	result := sendResult(err)
	if err == nil {
		result = statusResult(resp.StatusCode)
	}
	t.m.CDNCall(t.provider, t.operation(r), result, time.Since(start))
	return resp, err
}

// AWSAPIOption returns the aws-sdk-go-v2 API option that counts each HTTP
// attempt of a client's operations as a call to provider's API, named by
// the SDK's operation name (CreateInvalidation, GetInvalidation, …), with
// its result from the classified error (awserr) or the HTTP status. Add it
// to the aws.Config.APIOptions of that client alone (CloudFront), not of
// STS or Lambda.
//
// It sits at the front of the Deserialize step: after the retry loop (the
// Finalize step), so that each attempt passes once, and around the
// operation's deserializer, so that it sees the API's error code.
func (m *Metrics) AWSAPIOption(provider string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		if m == nil {
			return nil
		}
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("cdnpurge.Metrics", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleDeserialize(ctx, in)
			status := 0
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
				status = resp.StatusCode
			}
			m.CDNCall(provider, awsmiddleware.GetOperationName(ctx), awsResult(err, status), time.Since(start))
			return out, md, err
		}), middleware.Before)
	}
}

// awsResult classifies one attempt of an AWS call: by the error's kind
// (awserr.Of), then by CloudFront's own throttling code, then by the HTTP
// status of the answer, if there was one.
func awsResult(err error, status int) string {
	if err == nil {
		return ResultOK
	}
	switch awserr.Of(err) {
	case awserr.Throttled:
		return ResultRateLimited
	case awserr.ServerError, awserr.NoAnswer:
		return ResultUnavailable
	case awserr.Unreachable:
		return ResultUnreachable
	case awserr.Unauthenticated, awserr.PermissionDenied:
		return ResultDenied
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "TooManyInvalidationsInProgress" {
		// The SDK calls it a client fault; it is CloudFront's limit.
		return ResultRateLimited
	}
	if status != 0 {
		if r := statusResult(status); r != ResultOK {
			return r
		}
	}
	return ResultError
}
