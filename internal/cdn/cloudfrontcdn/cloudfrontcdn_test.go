package cloudfrontcdn_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cdntest"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The fake credentials of testutil; the tests check that none of them leaks
// into an error.
const (
	testAccessKeyID  = testutil.AWSAccessKeyID
	testSecretKey    = testutil.AWSSecretKey
	testSessionToken = testutil.AWSSessionToken
)

func TestMain(m *testing.M) {
	// Nothing in these tests may reach the EC2 instance metadata service.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// testConfig is an AWS configuration with static fake credentials and no
// lookups of the environment.
func testConfig() aws.Config { return testutil.AWSConfig() }

// testTenantID is a distribution tenant ID shaped like CloudFront's.
const testTenantID = "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"

func TestConformanceEmulator(t *testing.T) {
	const distributionID = "EDFDVBD6EXAMPLE"
	srv := httptest.NewServer(emulator.New(emulator.Options{
		Distributions: []string{distributionID},
		Tenants:       []string{testTenantID},
		CompleteAfter: 200 * time.Millisecond,
	}))
	t.Cleanup(srv.Close)
	cdntest.RunConformance(t, cdntest.Harness{
		Invalidator:    cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: srv.URL}),
		DistributionID: distributionID,
		TenantID:       testTenantID,
		CompleteWithin: 10 * time.Second,
	})
}

func TestConformanceMoto(t *testing.T) {
	endpoint := testutil.MustStartMoto(t)
	cfg := testConfig()
	distributionID := MustCreateDistribution(t, cfg, endpoint)
	cdntest.RunConformance(t, cdntest.Harness{
		Invalidator:    cloudfrontcdn.New(cfg, cloudfrontcdn.Options{Endpoint: endpoint}),
		DistributionID: distributionID,
		// moto_server reports every invalidation COMPLETED at once, keeps
		// no CallerReference index, its ListInvalidations is a stub, and it
		// knows no distribution tenants.
		CompletesAtOnce:        true,
		CompleteWithin:         10 * time.Second,
		IgnoresCallerReference: true,
		LaxList:                true,
		NoTenants:              true,
	})
}

// MustCreateDistribution creates a minimal distribution against endpoint
// (moto_server) and returns its ID.
func MustCreateDistribution(tb testing.TB, cfg aws.Config, endpoint string) string {
	tb.Helper()
	id, err := testutil.CreateDistribution(tb.Context(), cfg, endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// fakeCloudFront is a loopback server that answers like CloudFront, as
// scripted by answer, and records what it was sent.
type fakeCloudFront struct {
	*httptest.Server
	answer func(n int, w http.ResponseWriter, r *http.Request) // n counts requests from 1

	mu      sync.Mutex
	batches []invalidationBatch // the CreateInvalidation bodies received
}

func (f *fakeCloudFront) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.batches)
}

func newFake(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *fakeCloudFront {
	t.Helper()
	f := &fakeCloudFront{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b invalidationBatch
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 {
			if err := xml.Unmarshal(body, &b); err != nil {
				t.Errorf("request body is not an InvalidationBatch: %v\n%s", err, body)
			}
		}
		f.mu.Lock()
		f.batches = append(f.batches, b)
		n := len(f.batches)
		f.mu.Unlock()
		f.answer(n, w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

type invalidationBatch struct {
	CallerReference string
	Quantity        int      `xml:"Paths>Quantity"`
	Items           []string `xml:"Paths>Items>Path"`
}

// errorResponse answers with a CloudFront error document.
func errorResponse(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amz-Request-Id", "req-1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>`+"\n"+
		`<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>%s</Type>`+
		`<Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`,
		typ, code, xmlEscape(message))
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// createdResponse answers a CreateInvalidation of testBatch with 201.
func createdResponse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Location", "https://cloudfront.amazonaws.com/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation/I2J0I21PCUYOIK")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `<?xml version="1.0"?>`+"\n"+
		`<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id>`+
		`<Status>InProgress</Status><CreateTime>2026-01-02T03:04:05.000Z</CreateTime>`+
		`<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/index.html</Path></Items></Paths>`+
		`<CallerReference>ref-1</CallerReference></InvalidationBatch></Invalidation>`)
}

var testBatch = purge.Batch{
	DistributionID:  "EDFDVBD6EXAMPLE",
	CallerReference: "ref-1",
	Paths:           []string{"/index.html"},
}

// fastOptions retries without waiting long.
func fastOptions(endpoint string) cloudfrontcdn.Options {
	return cloudfrontcdn.Options{Endpoint: endpoint, MaxAttempts: 3, MaxBackoff: time.Millisecond}
}

// The three calls on the example distribution, for tables of error cases.
func create(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
	_, err := i.CreateInvalidation(ctx, testBatch)
	return err
}

func get(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
	_, err := i.GetInvalidation(ctx, "EDFDVBD6EXAMPLE", "I2J0I21PCUYOIK")
	return err
}

func list(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
	_, err := i.ListInvalidations(ctx, "EDFDVBD6EXAMPLE", purge.ListOptions{})
	return err
}

func TestErrorClassification(t *testing.T) {
	// The same calls on a distribution tenant.
	tenantCreate := func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
		b := testBatch
		b.DistributionID = testTenantID
		_, err := i.CreateInvalidation(ctx, b)
		return err
	}
	tenantGet := func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
		_, err := i.GetInvalidation(ctx, testTenantID, "I2J0I21PCUYOIK")
		return err
	}
	tenantList := func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
		_, err := i.ListInvalidations(ctx, testTenantID, purge.ListOptions{})
		return err
	}
	tests := []struct {
		name     string
		call     func(context.Context, *cloudfrontcdn.Invalidator) error
		status   int
		code     string
		want     purge.Code
		wantText string // in the user message, when set
	}{
		{"NoSuchDistribution", create, 404, "NoSuchDistribution", purge.NotFound, "EDFDVBD6EXAMPLE"},
		{"NoSuchDistribution on Get", get, 404, "NoSuchDistribution", purge.NotFound, "EDFDVBD6EXAMPLE"},
		{"NoSuchDistribution on List", list, 404, "NoSuchDistribution", purge.NotFound, "EDFDVBD6EXAMPLE"},
		{"NoSuchInvalidation", get, 404, "NoSuchInvalidation", purge.NotFound, "I2J0I21PCUYOIK"},
		{"AccessDenied", create, 403, "AccessDenied", purge.PermissionDenied, "cloudfront:CreateInvalidation"},
		{"AccessDenied on Get", get, 403, "AccessDenied", purge.PermissionDenied, "cloudfront:GetInvalidation"},
		{"InvalidClientTokenId", create, 403, "InvalidClientTokenId", purge.Unauthenticated, "credentials"},
		{"SignatureDoesNotMatch", create, 403, "SignatureDoesNotMatch", purge.Unauthenticated, "credentials"},
		{"ExpiredToken", create, 400, "ExpiredToken", purge.Unauthenticated, "credentials"},
		{"InvalidArgument", create, 400, "InvalidArgument", purge.Invalid, ""},
		{"InconsistentQuantities", create, 400, "InconsistentQuantities", purge.Invalid, ""},
		{"BatchTooLarge", create, 413, "BatchTooLarge", purge.Invalid, "3,000"},
		{"MissingBody", create, 400, "MissingBody", purge.Invalid, ""},
		{"MalformedInput", create, 400, "MalformedInput", purge.Invalid, ""},
		{"InvalidationBatchAlreadyExists", create, 409, "InvalidationBatchAlreadyExists", purge.Conflict, "ref-1"},
		{"TooManyInvalidationsInProgress", create, 400, "TooManyInvalidationsInProgress", purge.RateLimited, "15 wildcard"},
		{"Throttling", create, 400, "Throttling", purge.RateLimited, ""},
		{"ThrottlingException", create, 400, "ThrottlingException", purge.RateLimited, ""},
		{"RequestLimitExceeded", create, 400, "RequestLimitExceeded", purge.RateLimited, ""},
		{"ServiceUnavailable", create, 503, "ServiceUnavailable", purge.Unavailable, "nothing was created"},
		{"ServiceUnavailable on List", list, 503, "ServiceUnavailable", purge.Unavailable, "try again"},
		{"InternalError", create, 500, "InternalError", purge.Unavailable, ""},
		{"unknown 5xx code", create, 502, "BadGateway", purge.Unavailable, ""},
		{"unknown 4xx code", create, 400, "SomethingNew", purge.Internal, "internal error"},
		// A missing tenant is EntityNotFound: the tenant operations know no
		// NoSuchDistribution.
		{"EntityNotFound on tenant", tenantCreate, 404, "EntityNotFound", purge.NotFound, "no distribution tenant " + testTenantID},
		{"EntityNotFound on tenant Get", tenantGet, 404, "EntityNotFound", purge.NotFound, "no distribution tenant " + testTenantID},
		{"EntityNotFound on tenant List", tenantList, 404, "EntityNotFound", purge.NotFound, "no distribution tenant " + testTenantID},
		{"NoSuchInvalidation on tenant", tenantGet, 404, "NoSuchInvalidation", purge.NotFound, "I2J0I21PCUYOIK on distribution tenant " + testTenantID},
		{"AccessDenied on tenant", tenantCreate, 403, "AccessDenied", purge.PermissionDenied, "cloudfront:CreateInvalidationForDistributionTenant"},
		{"AccessDenied on tenant List", tenantList, 403, "AccessDenied", purge.PermissionDenied, "cloudfront:ListInvalidationsForDistributionTenant"},
		{"InvalidationBatchAlreadyExists on tenant", tenantCreate, 409, "InvalidationBatchAlreadyExists", purge.Conflict, "distribution tenant " + testTenantID},
		{"TooManyInvalidationsInProgress on tenant", tenantCreate, 400, "TooManyInvalidationsInProgress", purge.RateLimited, "distribution tenant " + testTenantID},
		{"InvalidArgument on tenant", tenantCreate, 400, "InvalidArgument", purge.Invalid, "check the paths"},
		{"ServiceUnavailable on tenant", tenantCreate, 503, "ServiceUnavailable", purge.Unavailable, "nothing was created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The server echoes the credentials, as AWS quotes the
			// canonical request in some errors; none may reach a message.
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				errorResponse(w, tt.status, tt.code, "something is wrong; AWSAccessKeyId "+testAccessKeyID+
					", canonical request with x-amz-security-token:"+testSessionToken)
			})
			err := tt.call(t.Context(), cloudfrontcdn.New(testConfig(), fastOptions(f.URL)))
			checkError(t, err, tt.want, tt.wantText)
			var apiErr interface{ ErrorCode() string }
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
				t.Errorf("error does not unwrap to the API error %s: %v", tt.code, err)
			}
		})
	}
}

func TestErrorClassificationWithoutServer(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { createdResponse(w) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	noCreds := testConfig()
	noCreds.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
	}))
	// A target's role that STS refuses to hand out: STS answers AssumeRole
	// with AccessDenied, as it does when the role does not trust the caller.
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(sts.Close)
	roleRefused := testConfig()
	roleRefused.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(
		awssts.NewFromConfig(testConfig(), func(o *awssts.Options) { o.BaseEndpoint = aws.String(sts.URL) }),
		"arn:aws:iam::210987654321:role/cdnpurge-partner"))
	tests := []struct {
		name     string
		cfg      aws.Config
		endpoint string
		batch    purge.Batch
		want     purge.Code
		requests int // that reach f
		text     string
	}{
		{"missing credentials", noCreds, f.URL, testBatch, purge.Unauthenticated, 0, "check the AWS credentials"},
		{"role not assumed", roleRefused, f.URL, testBatch, purge.PermissionDenied, 0, "could not assume the IAM role (role_arn)"},
		{"connection refused", testConfig(), closed.URL, testBatch, purge.Unavailable, 0, ""},
		{"no distribution ID", testConfig(), f.URL, purge.Batch{CallerReference: "r", Paths: []string{"/a"}}, purge.Invalid, 0, ""},
		{"no caller reference", testConfig(), f.URL, purge.Batch{DistributionID: "E1", Paths: []string{"/a"}}, purge.Invalid, 0, ""},
		{"no paths", testConfig(), f.URL, purge.Batch{DistributionID: "E1", CallerReference: "r"}, purge.Invalid, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.requests()
			_, err := cloudfrontcdn.New(tt.cfg, fastOptions(tt.endpoint)).CreateInvalidation(t.Context(), tt.batch)
			checkError(t, err, tt.want, tt.text)
			if n := f.requests() - before; n != tt.requests {
				t.Errorf("server saw %d requests, want %d", n, tt.requests)
			}
		})
	}
}

// checkError checks err's code, and that its user message explains it
// (mentioning wantText, if set) without leaking credentials.
func checkError(t *testing.T, err error, want purge.Code, wantText string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	var perr *purge.Error
	if !errors.As(err, &perr) {
		t.Errorf("error %v (%T) is not a *purge.Error", err, err)
	}
	if got := purge.ErrorCode(err); got != want {
		t.Errorf("code %q, want %q; error: %v", got, want, err)
	}
	msg := purge.ErrorMessage(err)
	if msg == "" {
		t.Error("user message is empty")
	}
	if wantText != "" && !strings.Contains(msg, wantText) {
		t.Errorf("user message %q does not mention %q", msg, wantText)
	}
	for _, secret := range []string{testAccessKeyID, testSecretKey, testSessionToken} {
		if strings.Contains(msg, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks a credential: %v", err)
		}
	}
	t.Logf("user message: %s", msg)
}

func TestRetriesServiceUnavailable(t *testing.T) {
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			errorResponse(w, http.StatusServiceUnavailable, "ServiceUnavailable", "CloudFront is busy")
			return
		}
		createdResponse(w)
	})
	inv, err := cloudfrontcdn.New(testConfig(), fastOptions(f.URL)).CreateInvalidation(t.Context(), testBatch)
	if err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	if inv.ID != "I2J0I21PCUYOIK" || inv.Status != purge.StatusInProgress || inv.CallerReference != "ref-1" {
		t.Errorf("CreateInvalidation = %+v", inv)
	}
	if n := f.requests(); n != 3 {
		t.Fatalf("server saw %d requests, want 3", n)
	}
	for i, b := range f.batches {
		if b.CallerReference != testBatch.CallerReference {
			t.Errorf("request %d: CallerReference %q, want %q", i+1, b.CallerReference, testBatch.CallerReference)
		}
		if b.Quantity != len(b.Items) || len(b.Items) != len(testBatch.Paths) {
			t.Errorf("request %d: Quantity %d with Items %q, want %d paths", i+1, b.Quantity, b.Items, len(testBatch.Paths))
		}
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	for _, attempts := range []int{1, 4} {
		t.Run(fmt.Sprint(attempts), func(t *testing.T) {
			f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				errorResponse(w, http.StatusServiceUnavailable, "ServiceUnavailable", "CloudFront is busy")
			})
			opts := fastOptions(f.URL)
			opts.MaxAttempts = attempts
			_, err := cloudfrontcdn.New(testConfig(), opts).CreateInvalidation(t.Context(), testBatch)
			checkError(t, err, purge.Unavailable, "try again")
			if n := f.requests(); n != attempts {
				t.Errorf("server saw %d requests, want %d", n, attempts)
			}
		})
	}
}

func TestDefaultMaxAttempts(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		errorResponse(w, http.StatusServiceUnavailable, "ServiceUnavailable", "CloudFront is busy")
	})
	_, err := cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: f.URL}).CreateInvalidation(t.Context(), testBatch)
	checkError(t, err, purge.Unavailable, "")
	if n := f.requests(); n != cloudfrontcdn.DefaultMaxAttempts {
		t.Errorf("server saw %d requests, want %d", n, cloudfrontcdn.DefaultMaxAttempts)
	}
}

func TestNoRetryOfTooManyInvalidationsInProgress(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		errorResponse(w, http.StatusBadRequest, "TooManyInvalidationsInProgress",
			"Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.")
	})
	_, err := cloudfrontcdn.New(testConfig(), fastOptions(f.URL)).CreateInvalidation(t.Context(), testBatch)
	checkError(t, err, purge.RateLimited, "try again when")
	if n := f.requests(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestContextDeadlineStopsRetries(t *testing.T) {
	hang := func(t *testing.T) *fakeCloudFront {
		release := make(chan struct{})
		f := newFake(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		t.Cleanup(func() { close(release) }) // runs before f.Close
		return f
	}
	unavailable := func(t *testing.T) *fakeCloudFront {
		return newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			errorResponse(w, http.StatusServiceUnavailable, "ServiceUnavailable", "CloudFront is busy")
		})
	}
	tests := []struct {
		name   string
		server func(*testing.T) *fakeCloudFront
	}{
		{"server hangs", hang},
		{"server keeps answering 503", unavailable},
	}
	const deadline = 300 * time.Millisecond
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.server(t)
			// Far more attempts than fit in the deadline.
			opts := cloudfrontcdn.Options{Endpoint: f.URL, MaxAttempts: 1000, MaxBackoff: 50 * time.Millisecond}
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			_, err := cloudfrontcdn.New(testConfig(), opts).CreateInvalidation(ctx, testBatch)
			if took := time.Since(start); took > deadline+2*time.Second {
				t.Errorf("CreateInvalidation returned after %v, deadline was %v", took, deadline)
			}
			checkError(t, err, purge.Unavailable, "did not answer in time")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error does not wrap context.DeadlineExceeded: %v", err)
			}
			if n := f.requests(); n >= opts.MaxAttempts {
				t.Errorf("server saw %d requests: the deadline did not stop the retries", n)
			}
		})
	}
}

// TestTenantOperations checks that a tenant ID (dt_...) goes to the tenant's
// operations, on their paths, and a distribution ID to the distribution's.
func TestTenantOperations(t *testing.T) {
	const invID = "I2J0I21PCUYOIK"
	tests := []struct {
		name       string
		call       func(context.Context, *cloudfrontcdn.Invalidator) error
		wantMethod string
		wantPath   string
	}{
		{"create on a distribution", func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
			_, err := i.CreateInvalidation(ctx, testBatch)
			return err
		}, http.MethodPost, "/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation"},
		{"create on a tenant", func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
			b := testBatch
			b.DistributionID = testTenantID
			_, err := i.CreateInvalidation(ctx, b)
			return err
		}, http.MethodPost, "/2020-05-31/distribution-tenant/" + testTenantID + "/invalidation"},
		{"get on a tenant", func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
			_, err := i.GetInvalidation(ctx, testTenantID, invID)
			return err
		}, http.MethodGet, "/2020-05-31/distribution-tenant/" + testTenantID + "/invalidation/" + invID},
		{"list on a tenant", func(ctx context.Context, i *cloudfrontcdn.Invalidator) error {
			_, err := i.ListInvalidations(ctx, testTenantID, purge.ListOptions{MaxItems: 2})
			return err
		}, http.MethodGet, "/2020-05-31/distribution-tenant/" + testTenantID + "/invalidation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests := make(chan string, 1) // AccessDenied is not retried
			f := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				requests <- r.Method + " " + r.URL.Path
				errorResponse(w, http.StatusForbidden, "AccessDenied", "no")
			})
			err := tt.call(t.Context(), cloudfrontcdn.New(testConfig(), fastOptions(f.URL)))
			if purge.ErrorCode(err) != purge.PermissionDenied {
				t.Fatalf("got %v, want the fake's AccessDenied", err)
			}
			if got, want := <-requests, tt.wantMethod+" "+tt.wantPath; got != want {
				t.Errorf("request %s, want %s", got, want)
			}
		})
	}
}

func TestListPage(t *testing.T) {
	queries := make(chan string, 1)
	f := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.RawQuery
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<?xml version="1.0"?>`+"\n"+
			`<InvalidationList xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Marker>m1</Marker>`+
			`<NextMarker>I2</NextMarker><MaxItems>1</MaxItems><IsTruncated>true</IsTruncated><Quantity>1</Quantity>`+
			`<Items><InvalidationSummary><Id>I1</Id><CreateTime>2026-01-02T03:04:05Z</CreateTime>`+
			`<Status>Completed</Status></InvalidationSummary></Items></InvalidationList>`)
	})
	page, err := cloudfrontcdn.New(testConfig(), fastOptions(f.URL)).ListInvalidations(t.Context(), "EDFDVBD6EXAMPLE",
		purge.ListOptions{Marker: "m1", MaxItems: 1})
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery := <-queries; !strings.Contains(gotQuery, "Marker=m1") || !strings.Contains(gotQuery, "MaxItems=1") {
		t.Errorf("query %q does not carry Marker=m1 and MaxItems=1", gotQuery)
	}
	want := purge.Summary{ID: "I1", Status: purge.StatusCompleted, CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if len(page.Items) != 1 || page.Items[0] != want || page.NextMarker != "I2" {
		t.Errorf("page = %+v, want one item %+v and NextMarker I2", page, want)
	}
}
