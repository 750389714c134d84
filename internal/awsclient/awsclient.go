// Package awsclient is the set-up every AWS service client of cdnpurge
// shares (cloudfrontcdn's CloudFront client, lambdainvoke's Lambda client):
// the retryer and the HTTP client wrapper. How their errors are sorted and
// redacted is internal/awserr's.
package awsclient

import (
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retryer returns the SDK's standard retryer, with jittered backoff, making
// at most maxAttempts attempts per call (the first included) and waiting at
// most maxBackoff between two. It has no client-side retry quota: a burst of
// server errors (CloudFront's 503s at a peak) would otherwise drain the
// shared token bucket and fail later calls at once with "retry quota
// exceeded"; maxAttempts and the caller's deadline bound the retries
// instead.
//
// A client given this retryer should also set its RetryMaxAttempts option to
// 0, so that AWS_MAX_ATTEMPTS and the like do not wrap it.
func Retryer(maxAttempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.MaxBackoff = maxBackoff
		so.RateLimiter = ratelimit.None
	})
}

// PlainBodyClient wraps an SDK HTTP client (nil means http.DefaultClient) so
// that request bodies show no interface but io.ReadCloser. It works around a
// race in smithy-go v1.28.9 (the newest release): once the SDK has the
// response headers it closes the request body, and a closed body's WriteTo
// returns io.EOF; if net/http's write loop is still draining the body
// (io.Copy prefers WriteTo), it takes that io.EOF for a write failure and
// closes the connection while the SDK reads the response ("use of closed
// network connection", or a cut body). Against a fast server on loopback
// the race is frequent. Upstream smithy-go's WriteTo returns nil after
// Close; drop this when a release has that fix.
func PlainBodyClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = http.DefaultClient
	}
	return plainBodyClient{c}
}

type plainBodyClient struct{ c aws.HTTPClient }

func (p plainBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return p.c.Do(req)
}
