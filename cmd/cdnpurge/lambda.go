package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cdnpurge/cdnpurge/internal/lambdaurl"
)

// lambdaBackgroundWait bounds how long an invocation waits, after its reply
// is ready, for background deliveries (the audit post): Lambda freezes the
// environment once the handler returns, so work left running may never
// finish. It is small so that the reply stays well inside Slack's 3 seconds.
const lambdaBackgroundWait = 700 * time.Millisecond

// runLambda serves Function URL events: the binary run as the Lambda's
// bootstrap, with AWS_LAMBDA_RUNTIME_API set and no arguments.
func runLambda(ctx context.Context, e env) error {
	_, a, err := appFromEnv(ctx, e)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(a.lambdaHandler(), lambda.WithContext(ctx))
	return nil
}

// lambdaHandler answers one Function URL event through the same handler as
// `serve`, then drains background deliveries within lambdaBackgroundWait.
func (a *app) lambdaHandler() lambdaurl.Handler {
	serve := lambdaurl.Wrap(a.handler)
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		resp, err := serve(ctx, ev)
		wctx, cancel := context.WithTimeout(ctx, lambdaBackgroundWait)
		defer cancel()
		if werr := a.handler.Wait(wctx); werr != nil {
			a.log.Warn("background delivery still running when the invocation ended", "error", werr)
		}
		return resp, err
	}
}
