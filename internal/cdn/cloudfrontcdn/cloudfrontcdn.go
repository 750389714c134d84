// Package cloudfrontcdn is the purge.Invalidator for Amazon CloudFront, built
// on aws-sdk-go-v2. It also talks to any CloudFront-compatible API, such as
// cdnpurge's own emulator or moto_server, when Options.Endpoint is set.
//
// Wherever it takes a distribution ID, a distribution tenant ID (dt_..., see
// purge.IsTenantID) may stand instead: the calls then go to the tenant's twin
// operations, CreateInvalidationForDistributionTenant,
// GetInvalidationForDistributionTenant and
// ListInvalidationsForDistributionTenant, which take and return the same
// documents.
//
// Transient failures (503 ServiceUnavailable, other 5xx, throttling,
// connection errors) are retried by the SDK's standard retryer with jittered
// backoff; the caller's context deadline bounds the whole call, retries
// included. A request that never reached CloudFront (the connection
// refused, an unknown host, no route) is retried the same way, a few quick
// times, and then reported as purge.ErrUnreachable, naming the endpoint.
// Every error is returned as a *purge.Error whose Code says what
// happened and whose Message is safe to show to a chat user.
package cloudfrontcdn

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cdnpurge/cdnpurge/internal/awsclient"
	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Defaults for Options.
const (
	DefaultMaxAttempts = 3
	DefaultMaxBackoff  = 250 * time.Millisecond
)

// maxIdleConnsPerHost is how many idle connections to CloudFront are kept
// for reuse.
const maxIdleConnsPerHost = 128

// CloudFront is a global service whose API is signed for us-east-1; New uses
// this region when the configuration names none.
const defaultRegion = "us-east-1"

// defaultEndpoint is CloudFront's endpoint, for messages, should the SDK's
// resolver fail to say it.
const defaultEndpoint = "https://cloudfront.amazonaws.com"

// Options configures an Invalidator. The zero value talks to AWS with the
// default retry settings.
type Options struct {
	// Endpoint is the base URL of a CloudFront-compatible API, such as the
	// emulator or moto_server. Empty means AWS itself.
	Endpoint string
	// MaxAttempts is the total number of attempts per call, the first one
	// included. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// MaxBackoff caps the jittered delay between attempts. Zero means
	// DefaultMaxBackoff.
	MaxBackoff time.Duration
	// HTTPClient, when set, sends the requests instead of the SDK's default
	// client.
	HTTPClient aws.HTTPClient
}

// Invalidator creates and reads CloudFront invalidations. It is safe for
// concurrent use.
type Invalidator struct {
	client   *cloudfront.Client
	creds    *credentialsProvider // nil for anonymous requests
	endpoint endpoint             // where the requests go, for messages
}

// endpoint is where an Invalidator sends its requests.
type endpoint struct {
	base       string // scheme://host[:port] of the endpoint URL, nothing else: safe to show
	configured bool   // set by Options.Endpoint or the AWS configuration, not the SDK's default
}

var _ purge.Invalidator = (*Invalidator)(nil)

// New returns an Invalidator whose CloudFront client is built from cfg
// (credentials, region, logging) and opts. The retry settings of opts take
// precedence over those of cfg.
func New(cfg aws.Config, opts Options) *Invalidator {
	maxAttempts := opts.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	maxBackoff := opts.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	var creds *credentialsProvider
	client := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if o.Region == "" {
			o.Region = defaultRegion
		}
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		} else if bc, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			// The SDK keeps 10 idle connections per host. A busy server calls
			// CloudFront from many requests at once; with 10, the rest open a
			// new TLS connection each time and leave sockets in TIME_WAIT.
			o.HTTPClient = bc.WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = maxIdleConnsPerHost })
		}
		o.HTTPClient = reachClient{awsclient.PlainBodyClient(o.HTTPClient)}
		if creds = wrapCredentials(o.Credentials); creds != nil {
			o.Credentials = creds
		}
		o.RetryMaxAttempts = 0 // our retryer is final (see awsclient.Retryer)
		o.Retryer = awsclient.Retryer(maxAttempts, maxBackoff)
	})
	return &Invalidator{client: client, creds: creds, endpoint: endpointOf(client.Options())}
}

// endpointOf returns the endpoint the client with options o sends its
// requests to, as the SDK resolves it: the configured one or CloudFront's.
func endpointOf(o cloudfront.Options) endpoint {
	ep := endpoint{base: defaultEndpoint, configured: o.BaseEndpoint != nil}
	u, err := url.Parse(aws.ToString(o.BaseEndpoint))
	if o.EndpointResolverV2 != nil {
		if r, rerr := o.EndpointResolverV2.ResolveEndpoint(context.Background(), cloudfront.EndpointParameters{
			Region:       aws.String(o.Region),
			Endpoint:     o.BaseEndpoint,
			UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
		}); rerr == nil {
			u, err = &r.URI, nil
		}
	}
	if err == nil && u.Scheme != "" && u.Host != "" {
		// The scheme and host only: a path, a query or user info may hold
		// a secret.
		ep.base = u.Scheme + "://" + u.Host
	} else if ep.configured {
		ep.base = "the configured endpoint"
	}
	return ep
}

// CreateInvalidation asks CloudFront to invalidate batch.Paths on
// batch.DistributionID, a distribution or a distribution tenant.
// batch.CallerReference is passed through unchanged, so a repeat of the same
// batch returns the invalidation the first call created.
func (i *Invalidator) CreateInvalidation(ctx context.Context, batch purge.Batch) (*purge.Invalidation, error) {
	c := call{op: opName(opCreate, batch.DistributionID), distributionID: batch.DistributionID, callerReference: batch.CallerReference}
	switch {
	case batch.DistributionID == "":
		return nil, c.invalid("no CloudFront distribution ID was given")
	case batch.CallerReference == "":
		return nil, c.invalid("no caller reference was given for the invalidation")
	case len(batch.Paths) == 0:
		return nil, c.invalid("no paths were given to invalidate")
	}
	ctx, sent := track(ctx)
	created, answered, err := i.create(ctx, batch.DistributionID, &types.InvalidationBatch{
		CallerReference: aws.String(batch.CallerReference),
		Paths: &types.Paths{
			Quantity: aws.Int32(int32(len(batch.Paths))),
			Items:    batch.Paths,
		},
	})
	if err != nil {
		return nil, i.classify(c, sent, err)
	}
	if created == nil {
		return nil, c.internal("CloudFront answered without an invalidation")
	}
	inv := invalidation(batch.DistributionID, created)
	inv.New = isNew(inv, answered)
	return inv, nil
}

// GetInvalidation returns the invalidation id of distributionID, a
// distribution or a distribution tenant, with its current status.
func (i *Invalidator) GetInvalidation(ctx context.Context, distributionID, id string) (*purge.Invalidation, error) {
	c := call{op: opName(opGet, distributionID), distributionID: distributionID, invalidationID: id}
	switch {
	case distributionID == "":
		return nil, c.invalid("no CloudFront distribution ID was given")
	case id == "":
		return nil, c.invalid("no invalidation ID was given")
	}
	ctx, sent := track(ctx)
	inv, err := i.get(ctx, distributionID, id)
	if err != nil {
		return nil, i.classify(c, sent, err)
	}
	if inv == nil {
		return nil, c.internal("CloudFront answered without an invalidation")
	}
	return invalidation(distributionID, inv), nil
}

// ListInvalidations returns one page of the invalidations of distributionID,
// a distribution or a distribution tenant, newest first.
func (i *Invalidator) ListInvalidations(ctx context.Context, distributionID string, opts purge.ListOptions) (*purge.Page, error) {
	c := call{op: opName(opList, distributionID), distributionID: distributionID}
	if distributionID == "" {
		return nil, c.invalid("no CloudFront distribution ID was given")
	}
	var marker *string
	var maxItems *int32
	if opts.Marker != "" {
		marker = aws.String(opts.Marker)
	}
	if opts.MaxItems > 0 {
		maxItems = aws.Int32(int32(min(opts.MaxItems, 1<<31-1)))
	}
	ctx, sent := track(ctx)
	l, err := i.list(ctx, distributionID, marker, maxItems)
	if err != nil {
		return nil, i.classify(c, sent, err)
	}
	page := &purge.Page{}
	if l != nil {
		page.Items = make([]purge.Summary, 0, len(l.Items))
		for _, s := range l.Items {
			page.Items = append(page.Items, purge.Summary{
				ID:         aws.ToString(s.Id),
				Status:     status(s.Status),
				CreateTime: aws.ToTime(s.CreateTime),
			})
		}
		if aws.ToBool(l.IsTruncated) {
			page.NextMarker = aws.ToString(l.NextMarker)
		}
	}
	return page, nil
}

// The invalidation operations on a distribution; opName gives their
// distribution-tenant twins.
const (
	opCreate = "CreateInvalidation"
	opGet    = "GetInvalidation"
	opList   = "ListInvalidations"
)

// opName is the CloudFront operation (and IAM action) that does op on id:
// op itself for a distribution, its ForDistributionTenant twin for a
// distribution tenant.
func opName(op, id string) string {
	if purge.IsTenantID(id) {
		return op + "ForDistributionTenant"
	}
	return op
}

// create calls CreateInvalidation, or CreateInvalidationForDistributionTenant
// when id is a tenant's. The two differ only in their input and output
// types; the rest of CreateInvalidation is shared.
//
// It also returns the time CloudFront answered, from the response's Date
// header (see isNew); zero when there was none.
func (i *Invalidator) create(ctx context.Context, id string, batch *types.InvalidationBatch) (*types.Invalidation, time.Time, error) {
	if purge.IsTenantID(id) {
		out, err := i.client.CreateInvalidationForDistributionTenant(ctx, &cloudfront.CreateInvalidationForDistributionTenantInput{
			Id: aws.String(id), InvalidationBatch: batch,
		})
		if err != nil {
			return nil, time.Time{}, err
		}
		answered, _ := awsmiddleware.GetServerTime(out.ResultMetadata)
		return out.Invalidation, answered, nil
	}
	out, err := i.client.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(id), InvalidationBatch: batch,
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	answered, _ := awsmiddleware.GetServerTime(out.ResultMetadata)
	return out.Invalidation, answered, nil
}

// newWithin is how soon after an invalidation's CreateTime CloudFront's
// answer must come for the call to have created it. CloudFront answers a
// repeated CallerReference exactly as it answers the first (201, the same
// document): the one difference is that the invalidation was created before
// the call. Both times come from CloudFront's clock, so no clock difference
// to this machine enters. A call that created the invalidation answers
// within its own duration (the SDK's retries included; the Date header has
// whole seconds), so the window is wide: a repeat taken for new is
// announced twice, a new one taken for a repeat would never be announced.
const newWithin = 5 * time.Second

// isNew reports whether the call answered at answered created inv. With no
// Date header it says yes: an announcement made twice is better than one
// never made.
func isNew(inv *purge.Invalidation, answered time.Time) bool {
	if answered.IsZero() || inv.CreateTime.IsZero() {
		return true
	}
	return answered.Sub(inv.CreateTime) < newWithin
}

// get calls GetInvalidation, or GetInvalidationForDistributionTenant when
// distributionID is a tenant's.
func (i *Invalidator) get(ctx context.Context, distributionID, id string) (*types.Invalidation, error) {
	if purge.IsTenantID(distributionID) {
		out, err := i.client.GetInvalidationForDistributionTenant(ctx, &cloudfront.GetInvalidationForDistributionTenantInput{
			DistributionTenantId: aws.String(distributionID), Id: aws.String(id),
		})
		if err != nil {
			return nil, err
		}
		return out.Invalidation, nil
	}
	out, err := i.client.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{
		DistributionId: aws.String(distributionID), Id: aws.String(id),
	})
	if err != nil {
		return nil, err
	}
	return out.Invalidation, nil
}

// list calls ListInvalidations, or ListInvalidationsForDistributionTenant
// when id is a tenant's.
func (i *Invalidator) list(ctx context.Context, id string, marker *string, maxItems *int32) (*types.InvalidationList, error) {
	if purge.IsTenantID(id) {
		out, err := i.client.ListInvalidationsForDistributionTenant(ctx, &cloudfront.ListInvalidationsForDistributionTenantInput{
			Id: aws.String(id), Marker: marker, MaxItems: maxItems,
		})
		if err != nil {
			return nil, err
		}
		return out.InvalidationList, nil
	}
	out, err := i.client.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{
		DistributionId: aws.String(id), Marker: marker, MaxItems: maxItems,
	})
	if err != nil {
		return nil, err
	}
	return out.InvalidationList, nil
}

func invalidation(distributionID string, in *types.Invalidation) *purge.Invalidation {
	inv := &purge.Invalidation{
		ID:             aws.ToString(in.Id),
		DistributionID: distributionID,
		Status:         status(in.Status),
		CreateTime:     aws.ToTime(in.CreateTime),
	}
	if b := in.InvalidationBatch; b != nil {
		inv.CallerReference = aws.ToString(b.CallerReference)
		if b.Paths != nil {
			inv.Paths = b.Paths.Items
		}
	}
	return inv
}

// status maps CloudFront's status to purge's. CloudFront spells it
// "InProgress" and "Completed"; moto_server says "COMPLETED", so the match
// ignores case. Anything else passes through as is.
func status(s *string) purge.Status {
	v := aws.ToString(s)
	switch {
	case strings.EqualFold(v, string(purge.StatusInProgress)):
		return purge.StatusInProgress
	case strings.EqualFold(v, string(purge.StatusCompleted)):
		return purge.StatusCompleted
	}
	return purge.Status(v)
}

// classify turns err into a *purge.Error (see call.classify), with the
// credentials in use blotted out of its text: AWS echoes parts of a request
// in some errors (SignatureDoesNotMatch can quote the canonical request).
// sent tells whether any attempt of the call may have reached CloudFront.
func (i *Invalidator) classify(c call, sent *attempts, err error) error {
	c.endpoint = i.endpoint
	c.reached = sent.reached.Load()
	if i.creds != nil {
		if creds := i.creds.last.Load(); creds != nil {
			err = awserr.Redact(err, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
		}
	}
	return c.classify(err)
}

// wrapCredentials wraps p so that a failure to get credentials (none
// configured, an expired SSO session, no IMDS role) can be told apart from
// other failures before a request is sent, and so that the credentials in use
// are known to redact. Anonymous and nil providers are left alone: the SDK
// then sends unsigned requests, and the server's answer is classified.
func wrapCredentials(p aws.CredentialsProvider) *credentialsProvider {
	if p == nil || aws.IsCredentialsProvider(p, (*aws.AnonymousCredentials)(nil)) {
		return nil
	}
	return &credentialsProvider{p: p}
}

type credentialsProvider struct {
	p    aws.CredentialsProvider
	last atomic.Pointer[aws.Credentials] // the last credentials retrieved
}

// Retrieve gets credentials from the wrapped provider.
func (c *credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.p.Retrieve(ctx)
	if err != nil {
		return creds, &credentialsError{err: err}
	}
	c.last.Store(&creds)
	return creds, nil
}

// ProviderSources passes through where the credentials came from, which the
// SDK reports in its user agent.
func (c *credentialsProvider) ProviderSources() []aws.CredentialSource {
	if s, ok := c.p.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// credentialsError is a failure to get AWS credentials.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return fmt.Sprintf("get AWS credentials: %v", e.err) }
func (e *credentialsError) Unwrap() error { return e.err }

// RetryableError tells the SDK's retryer not to retry: missing credentials
// stay missing.
func (e *credentialsError) RetryableError() bool { return false }

// attempts records, across the attempts of one call, whether any may have
// reached CloudFront: the retryer returns only the last attempt's error, and
// a refused retry says nothing of an earlier attempt that was sent.
type attempts struct{ reached atomic.Bool }

type attemptsKey struct{}

// track returns ctx carrying a new attempts for reachClient to fill in.
func track(ctx context.Context) (context.Context, *attempts) {
	a := &attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

// reachClient marks the call's attempts reached unless the request failed
// before it could be sent (see awserr.Reason).
type reachClient struct{ c aws.HTTPClient }

func (r reachClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.c.Do(req)
	if a, ok := req.Context().Value(attemptsKey{}).(*attempts); ok && (err == nil || awserr.Reason(err) == "") {
		a.reached.Store(true)
	}
	return resp, err
}
