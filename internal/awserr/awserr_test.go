package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestOf(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	status := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("x")}
	}
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"signature", api("SignatureDoesNotMatch"), Unauthenticated},
		{"expired token", api("ExpiredToken"), Unauthenticated},
		{"access denied", api("AccessDeniedException"), PermissionDenied},
		{"throttling", api("Throttling"), Throttled},
		{"too many requests", api("TooManyRequestsException"), Throttled},
		{"503 code", api("ServiceUnavailable"), ServerError},
		{"internal error", api("InternalError"), ServerError},
		{"unknown code", api("SomethingNew"), Unknown},
		{"HTTP 429", status(429), Throttled},
		{"HTTP 502", status(502), ServerError},
		{"HTTP 400", status(400), Unknown},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), NoAnswer},
		{"canceled", context.Canceled, NoAnswer},
		{"send failed", &smithyhttp.RequestSendError{Err: errors.New("refused")}, NoAnswer},
		{"net error", &net.OpError{Op: "read", Err: errors.New("reset")}, NoAnswer},
		{"dial error", &net.OpError{Op: "dial", Err: errors.New("refused")}, Unreachable},
		{"other", errors.New("x"), Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// sdkChain wraps a transport error as the SDK returns it from an operation:
// OperationError, the retryer's MaxAttemptsError, RequestSendError and
// net/http's *url.Error.
func sdkChain(err error) error {
	return &smithy.OperationError{ServiceID: "CloudFront", OperationName: "CreateInvalidation",
		Err: &retry.MaxAttemptsError{Attempt: 3, Err: &smithyhttp.RequestSendError{
			Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:9/2020-05-31/distribution/E1/invalidation", Err: err},
		}}}
}

func TestReason(t *testing.T) {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	connect := func(errno syscall.Errno) error { return dial(os.NewSyscallError("connect", errno)) }
	tests := []struct {
		name string
		err  error
		want string // "" when the request may have reached the service
		kind Kind
	}{
		{"refused", sdkChain(connect(syscall.ECONNREFUSED)), "connection refused", Unreachable},
		{"unknown host", sdkChain(dial(&net.DNSError{Err: "no such host", Name: "cloudfront.invalid", IsNotFound: true})), "unknown host", Unreachable},
		{"DNS timeout", sdkChain(dial(&net.DNSError{Err: "i/o timeout", Name: "cloudfront.invalid", IsTimeout: true})), "host name lookup failed", Unreachable},
		{"no route", sdkChain(connect(syscall.EHOSTUNREACH)), "no route to host", Unreachable},
		{"network unreachable", sdkChain(connect(syscall.ENETUNREACH)), "network unreachable", Unreachable},
		{"dial timeout", sdkChain(dial(os.ErrDeadlineExceeded)), "connection timed out", Unreachable},
		{"dial cut by the deadline", sdkChain(dial(fmt.Errorf("i/o timeout: %w", context.DeadlineExceeded))), "could not connect", Unreachable},
		// Once connected, the request may have been sent.
		{"no route once connected", sdkChain(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.EHOSTUNREACH)}), "", NoAnswer},
		{"reset", sdkChain(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), "", NoAnswer},
		{"read timeout", sdkChain(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), "", NoAnswer},
		// The deadline alone does not say where the call was.
		{"deadline", sdkChain(context.DeadlineExceeded), "", NoAnswer},
		{"send failed", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}, "", NoAnswer},
		{"other", errors.New("connection refused"), "", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reason(tt.err); got != tt.want {
				t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if got := Of(tt.err); got != tt.kind {
				t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.kind)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	const (
		key    = "AKIAFAKEKEYID0123456"
		secret = "AWSSECRETKEYNEVERSHOWN/abcdefghijklmnopqrstuvwxyz"
	)
	cause := &smithy.GenericAPIError{Code: "SignatureDoesNotMatch", Message: "canonical request: " + key + " " + secret + " abc"}
	tests := []struct {
		name    string
		secrets []string
		want    string
		same    bool // Redact returns err itself
	}{
		{"both", []string{key, secret}, "api error SignatureDoesNotMatch: canonical request: [REDACTED] [REDACTED] abc", false},
		{"absent", []string{"not-in-the-text"}, cause.Error(), true},
		{"too short to blot", []string{"abc", ""}, cause.Error(), true},
		{"none", nil, cause.Error(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(cause, tt.secrets...)
			if got.Error() != tt.want {
				t.Errorf("Redact = %q, want %q", got, tt.want)
			}
			if (got == error(cause)) != tt.same {
				t.Errorf("Redact returned err itself: %v, want %v", got == error(cause), tt.same)
			}
			var apiErr smithy.APIError
			if !errors.As(got, &apiErr) || apiErr.ErrorCode() != "SignatureDoesNotMatch" {
				t.Errorf("errors.As does not see through Redact: %v", got)
			}
			if Of(got) != Unauthenticated {
				t.Errorf("Of(Redact(...)) = %d, want Unauthenticated", Of(got))
			}
		})
	}
}

func TestWithText(t *testing.T) {
	got := WithText(context.DeadlineExceeded, "the call timed out")
	if got.Error() != "the call timed out" || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("WithText = %q, errors.Is deadline: %v", got, errors.Is(got, context.DeadlineExceeded))
	}
}
