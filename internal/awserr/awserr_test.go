package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

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
		{"net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, NoAnswer},
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
