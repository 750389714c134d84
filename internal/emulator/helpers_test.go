package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cdnpurge/cdnpurge/internal/awsclient"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// testDistribution is the distribution every test emulator knows.
const testDistribution = "EDFDVBD6EXAMPLE"

// testTenant is the distribution tenant every test emulator knows, with an
// ID shaped like CloudFront's.
const testTenant = "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"

// newFakeClock returns a clock the tests move by hand.
func newFakeClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
}

// MustStartEmulator serves an emulator with opts on a loopback httptest
// server, closed when the test ends. Without Distributions in opts, it knows
// testDistribution; without Tenants, testTenant.
func MustStartEmulator(tb testing.TB, opts emulator.Options) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	if opts.Distributions == nil {
		opts.Distributions = []string{testDistribution}
	}
	if opts.Tenants == nil {
		opts.Tenants = []string{testTenant}
	}
	e := emulator.New(opts)
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return e, srv
}

// MustSDKClient returns an aws-sdk-go-v2 CloudFront client for srv, with fake
// static credentials and no retries.
func MustSDKClient(tb testing.TB, srv *httptest.Server) *cloudfront.Client {
	tb.Helper()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "fake-secret-key", ""),
		HTTPClient:  awsclient.PlainBodyClient(srv.Client()),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	return cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	})
}

// withBody replaces the request body the SDK built, after signing, so that
// bodies the SDK would never send (empty, unparsable) still go through the
// SDK's error deserializer.
func withBody(body []byte) func(*cloudfront.Options) {
	return func(o *cloudfront.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("testReplaceBody",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					req, ok := in.Request.(*smithyhttp.Request)
					if !ok {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
					}
					req, err := req.SetStream(bytes.NewReader(body))
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("replace body: %w", err)
					}
					req.ContentLength = int64(len(body))
					in.Request = req
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
}

// batch returns a CreateInvalidation input for testDistribution.
func batch(ref string, paths ...string) *cloudfront.CreateInvalidationInput {
	return &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(testDistribution),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
		},
	}
}

// tenantBatch returns a CreateInvalidationForDistributionTenant input for
// testTenant.
func tenantBatch(ref string, paths ...string) *cloudfront.CreateInvalidationForDistributionTenantInput {
	b := batch(ref, paths...)
	return &cloudfront.CreateInvalidationForDistributionTenantInput{Id: aws.String(testTenant), InvalidationBatch: b.InvalidationBatch}
}

// MustCreate creates an invalidation through the SDK and fails the test on
// error.
func MustCreate(tb testing.TB, c *cloudfront.Client, in *cloudfront.CreateInvalidationInput) *cloudfront.CreateInvalidationOutput {
	tb.Helper()
	out, err := c.CreateInvalidation(context.Background(), in)
	if err != nil {
		tb.Fatalf("CreateInvalidation(%q): %v", aws.ToString(in.InvalidationBatch.CallerReference), err)
	}
	return out
}

// apiError returns the error code and HTTP status of an SDK error, as a
// backend would classify it.
func apiError(tb testing.TB, err error) (code string, status int) {
	tb.Helper()
	if err == nil {
		return "", 0
	}
	ae, ok := errors.AsType[smithy.APIError](err)
	if !ok {
		tb.Fatalf("error is not a smithy.APIError: %v", err)
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

// paths returns n distinct paths made with format, which takes one int.
func paths(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}
