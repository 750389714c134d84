// Package lambdainvoke is the followup.Scheduler for AWS Lambda. A Lambda's
// execution environment freezes once the reply has gone out, so a follow-up
// cannot run there in the background; instead the function hands the
// followup.Request to a new asynchronous invocation of itself
// (InvocationType Event), whose payload is followup.MarshalEvent(req, hop).
// Lambda queues the event and answers 202 at once; the handler that receives
// it follows the invalidation and, when its own time runs out, schedules the
// next hop the same way.
//
// The client is set up as cloudfrontcdn's is (internal/awsclient): transient
// failures (5xx, throttling, connection errors) are retried by the SDK's
// standard retryer with jittered backoff, and the caller's context bounds the
// whole call, retries included. Every error is a *purge.Error whose Code
// says what happened. The payload carries the Slack response_url, a bearer
// secret: it never appears in an error, even when the server quotes the
// payload back.
package lambdainvoke

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/cdnpurge/cdnpurge/internal/awsclient"
	"github.com/cdnpurge/cdnpurge/internal/followup"
)

// Retry settings: three attempts with at most 200 ms between them fit the
// second or so a caller has after its reply.
const (
	maxAttempts = 3
	maxBackoff  = 200 * time.Millisecond
)

// DefaultTimeout bounds a call whose context has no deadline, so that a
// Lambda API that never answers cannot hold the invocation until it times
// out. Callers normally pass a shorter deadline of their own.
const DefaultTimeout = 2 * time.Second

// Options configures a Scheduler. The zero value talks to AWS.
type Options struct {
	// Endpoint is the base URL of a Lambda-compatible API (a local stand-in,
	// an emulator). Empty means AWS itself.
	Endpoint string
	// HTTPClient, when set, sends the requests instead of the SDK's default
	// client.
	HTTPClient aws.HTTPClient
}

// Scheduler starts each follow-up as an asynchronous invocation of one Lambda
// function, normally the running function itself. It is safe for concurrent
// use.
type Scheduler struct {
	client       *lambda.Client
	functionName string
}

var _ followup.Scheduler = (*Scheduler)(nil)

// New returns a Scheduler that invokes functionName (a name or an ARN; in
// Lambda, the value of AWS_LAMBDA_FUNCTION_NAME) with a client built from cfg
// (credentials, region, logging) and opts. The retry settings are the
// Scheduler's own and take precedence over those of cfg.
func New(cfg aws.Config, functionName string, opts Options) *Scheduler {
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
		o.HTTPClient = awsclient.PlainBodyClient(o.HTTPClient)
		o.RetryMaxAttempts = 0 // our retryer is final (see awsclient.Retryer)
		o.Retryer = awsclient.Retryer(maxAttempts, maxBackoff)
	})
	return &Scheduler{client: client, functionName: functionName}
}

// Schedule starts the first hop of req's follow-up.
func (s *Scheduler) Schedule(ctx context.Context, req followup.Request) error {
	return s.ScheduleHop(ctx, req, 0)
}

// ScheduleHop queues an asynchronous invocation of the function with the
// follow-up event of req and hop. It returns nil once Lambda has accepted the
// event (HTTP 202); Lambda may still deliver it more than once.
func (s *Scheduler) ScheduleHop(ctx context.Context, req followup.Request, hop int) error {
	c := call{function: s.functionName, invalidationID: req.InvalidationID, hop: hop, responseURL: req.ResponseURL}
	switch {
	case s.functionName == "":
		return c.internal("no Lambda function name (AWS_LAMBDA_FUNCTION_NAME) to invoke")
	case hop < 0:
		return c.invalid(fmt.Sprintf("follow-up hop %d is negative", hop))
	}
	if err := req.Validate(); err != nil {
		return c.invalid(err.Error())
	}
	payload, err := followup.MarshalEvent(req, hop)
	if err != nil {
		return c.internal("encode the follow-up event: " + err.Error())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	out, err := s.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.functionName),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return c.classify(err)
	}
	if out.StatusCode != http.StatusAccepted {
		return c.internal(fmt.Sprintf("Lambda answered the asynchronous invocation with status %d, want 202", out.StatusCode))
	}
	return nil
}
