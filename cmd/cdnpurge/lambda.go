package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/lambdaurl"
)

const (
	// lambdaBackgroundWait bounds how long an invocation waits, after its
	// reply is ready, for background deliveries (the audit post, the answer
	// to a click): Lambda
	// freezes the environment once the handler returns, so work left running
	// may never finish. It is small so that the reply stays well inside
	// Slack's 3 seconds.
	lambdaBackgroundWait = 700 * time.Millisecond
	// handOnMargin is the time a follow-up invocation keeps, before its
	// deadline, to hand the follow-up on to a new invocation.
	handOnMargin = 5 * time.Second
	// maxHops caps a follow-up's chain of invocations; with the stack's
	// 300 s timeout, 29 minutes take about 6.
	maxHops = 12
)

// runLambda serves Lambda invocations: the binary run as the Lambda's
// bootstrap, with AWS_LAMBDA_RUNTIME_API set and no arguments.
func runLambda(ctx context.Context, e env) error {
	_, a, err := appFromEnv(ctx, e, modeLambda)
	if err != nil {
		return err
	}
	// What each invocation moved goes to stdout as CloudWatch EMF, which
	// Lambda sends to CloudWatch Logs with the JSON logs.
	a.emfOut = e.stdout
	lambda.StartWithOptions(a.lambdaHandler(), lambda.WithContext(ctx))
	return nil
}

// lambdaHandler answers the two kinds of invocation the function receives:
// Function URL events (Slack's requests) and its own asynchronous follow-up
// events.
func (a *app) lambdaHandler() func(context.Context, json.RawMessage) (any, error) {
	serve := lambdaurl.Wrap(a.handler)
	seen := &followup.Claims{Max: 1024}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		defer a.writeEMF()
		ev, isFollowup, err := followup.ParseEvent(raw)
		switch {
		case err != nil:
			// A broken follow-up cannot be repaired by a retry.
			a.log.Error("follow-up event refused", "error", err)
			return nil, nil
		case isFollowup:
			a.followupInvocation(ctx, ev, seen)
			return nil, nil
		}
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("not a Function URL event: %w", err)
		}
		resp, err := serve(ctx, req)
		wctx, cancel := context.WithTimeout(ctx, lambdaBackgroundWait)
		defer cancel()
		if werr := a.handler.Wait(wctx); werr != nil {
			a.log.Warn("background delivery still running when the invocation ended", "error", werr)
		}
		return resp, err
	}
}

// writeEMF writes, at the end of an invocation, what it counted (the EMF
// sink's figures) as CloudWatch EMF: one line, or none if nothing moved.
func (a *app) writeEMF() {
	if a.emf == nil || a.emfOut == nil {
		return
	}
	if err := a.emf.Write(a.emfOut); err != nil {
		a.log.Warn("metrics not written", "error", err)
	}
}

// followupInvocation carries out one hop of a follow-up: it polls until the
// invalidation completes or the invocation's time is nearly up, then hands
// the follow-up on to a new invocation, or tells the channel to check later
// when it may not.
func (a *app) followupInvocation(ctx context.Context, ev followup.Event, seen *followup.Claims) {
	req := *ev.Followup
	log := a.log.With("invalidation", req.InvalidationID, "hop", ev.Hop)
	// Asynchronous events may be delivered more than once. A repeat that
	// reaches this environment is dropped here; the stack sets no retries,
	// which is where most repeats come from.
	if !seen.Claim(fmt.Sprintf("%s#%d", req.Key(), ev.Hop)) {
		log.Info("follow-up event already handled here: duplicate delivery dropped")
		return
	}
	fctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, deadline.Add(-handOnMargin))
		defer cancel()
	}
	outcome, err := a.follower.Follow(fctx, &req)
	if outcome != followup.Unfinished {
		log.Info("follow-up ended", "outcome", outcome, "error", err)
		return
	}
	if ev.Hop+1 < maxHops && a.scheduler != nil {
		herr := a.scheduler.ScheduleHop(ctx, req, ev.Hop+1)
		if herr == nil {
			log.Info("follow-up handed on", "next_hop", ev.Hop+1)
			return
		}
		log.Error("follow-up could not be handed on", "error", herr)
	}
	if err := a.follower.Abandon(ctx, req); err != nil {
		log.Error("follow-up abandoned without telling the channel", "error", err)
	}
}
