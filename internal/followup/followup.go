// Package followup carries a purge on after the reply has gone out and tells
// the channel how it ended. When CloudFront took the purge in time, it polls
// until the invalidation is Completed, then replaces the original Slack
// message through response_url. When CloudFront did not take it in time
// (no answer inside the reply budget, server errors or throttling after the
// retries), it first keeps creating it, with the same CallerReference so
// that it is never made twice, with backoff for up to CreateWithin.
//
// A Request holds everything a follow-up needs, so any copy of the service
// can carry it out: `serve` runs it in a bounded pool (Pool), and the Lambda
// sends it to itself as an asynchronous invocation. Slack accepts at most 5
// posts to a response_url within 30 minutes; a follow-up makes one, or two
// when it created the invalidation itself (started, then done).
package followup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// MaxWatch is how long after the command a follow-up may still post: Slack
// honours a response_url for 30 minutes.
const MaxWatch = 29 * time.Minute

// CreateWithin is how long after the command a follow-up keeps trying to
// create an invalidation CloudFront did not take in time.
const CreateWithin = 15 * time.Minute

// Backoff between create attempts: doubling from createFirstDelay up to
// createMaxDelay, each with up to half of it again as jitter, so that many
// follow-ups retrying after the same outage do not come back in step.
const (
	createFirstDelay = time.Second
	createMaxDelay   = time.Minute
)

// Request is one purge to carry on. It travels as JSON (the Lambda's
// self-invocation payload); ResponseURL is a secret and is never logged.
type Request struct {
	// Target names the target purged, for the message; empty for the
	// unnamed single target.
	Target         string `json:"target,omitempty"`
	DistributionID string `json:"distribution_id"`
	// InvalidationID is the invalidation to follow; empty while it is still
	// to be created from CallerReference and Paths.
	InvalidationID string `json:"invalidation_id"`
	// CallerReference and Paths are the batch to create when
	// InvalidationID is empty: the very batch the command sent, so that a
	// create CloudFront did take after all is returned, not made again.
	CallerReference string   `json:"caller_reference,omitempty"`
	Paths           []string `json:"paths,omitempty"`
	// MayExist says the command's own create got no answer: CloudFront may
	// have made the invalidation, and then nobody announced it, so the
	// follow-up announces what it finds made even when CloudFront's answer
	// shows it older than the follow-up's call.
	MayExist    bool   `json:"may_exist,omitempty"`
	ResponseURL string `json:"response_url"`
	UserID      string `json:"user_id,omitempty"`
	// ApprovedBy is who approved the purge with a click; empty when it
	// needed no approval.
	ApprovedBy string    `json:"approved_by,omitempty"`
	ChannelID  string    `json:"channel_id,omitempty"`
	Requested  int       `json:"requested,omitempty"`
	Started    time.Time `json:"started"`
	// Deadline is when the follow-up gives up and says the invalidation is
	// still running; zero means Started+MaxWatch.
	Deadline time.Time `json:"deadline"`
}

// Key identifies the follow-up, for deduplicating repeated deliveries: the
// invalidation, or while it is to be created, its CallerReference.
func (r Request) Key() string {
	if r.InvalidationID == "" {
		return r.DistributionID + "/ref:" + r.CallerReference
	}
	return r.DistributionID + "/" + r.InvalidationID
}

// Validate checks that a request can be carried out.
func (r Request) Validate() error {
	switch {
	case r.DistributionID == "":
		return errors.New("follow-up: no distribution ID")
	case r.InvalidationID == "" && (r.CallerReference == "" || len(r.Paths) == 0):
		return errors.New("follow-up: no invalidation ID, and no caller reference and paths to create it")
	case r.ResponseURL == "":
		return errors.New("follow-up: no response_url")
	case r.Started.IsZero():
		return errors.New("follow-up: no start time")
	}
	return nil
}

func (r Request) deadline() time.Time {
	if r.Deadline.IsZero() {
		return r.Started.Add(MaxWatch)
	}
	return r.Deadline
}

func (r Request) purge(inv *purge.Invalidation) slack.Purge {
	return slack.Purge{Invalidation: inv, Target: r.Target, UserID: r.UserID, ApprovedBy: r.ApprovedBy, ChannelID: r.ChannelID, Requested: r.Requested}
}

// Scheduler starts follow-ups after the reply: a Pool in `serve`, a
// self-invocation in Lambda.
type Scheduler interface {
	Schedule(ctx context.Context, req Request) error
}

// Follower carries out follow-ups.
type Follower struct {
	Invalidator purge.Invalidator
	Poster      *slack.Poster
	// Auditor posts the audit record of an invalidation the follow-up
	// created itself; nil for none.
	Auditor *slack.Auditor
	// Announced, when set, is shared with the Handler of the same process:
	// an invalidation is announced (audited) once (see Claims).
	Announced *Claims
	Logger    *slog.Logger
	// FirstDelay and MaxDelay shape the polling (see purge.WatchOptions).
	FirstDelay, MaxDelay time.Duration
	// CreateFirstDelay and CreateMaxDelay shape the create retries; zero
	// means 1 s and 1 minute.
	CreateFirstDelay, CreateMaxDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Outcome is how a follow-up ended.
type Outcome string

// The outcomes of Follow.
const (
	Completed  Outcome = "completed"  // the invalidation completed; the message says so
	GaveUp     Outcome = "gave_up"    // the request's deadline passed; the message says it is still running, or was never taken
	Unfinished Outcome = "unfinished" // ctx ended first; nothing more was posted, the request can be resumed
	Failed     Outcome = "failed"     // CloudFront refused or failed, or Slack did
)

// Follow carries req on until its invalidation completes, the request's
// deadline passes, or ctx ends. An invalidation still to be created is
// created first (see CreateWithin); once it is, req.InvalidationID is set,
// the audit post made and the message replaced with the started one, so
// that a caller handing the request on hands on the invalidation. On
// completion or at the deadline it replaces the message; when ctx ends
// first (a Lambda invocation's time is up, a server is stopping) it posts
// nothing more and returns Unfinished, so that the caller can hand the
// request on or tell the channel.
func (f *Follower) Follow(ctx context.Context, req *Request) (Outcome, error) {
	if err := req.Validate(); err != nil {
		return Failed, err
	}
	if req.InvalidationID == "" {
		if out, err := f.create(ctx, req); out != "" {
			return out, err
		}
	}
	now := f.now()
	wctx, cancel := context.WithDeadline(ctx, req.deadline())
	defer cancel()
	inv, err := purge.Watch(wctx, f.Invalidator, req.DistributionID, req.InvalidationID, purge.WatchOptions{
		FirstDelay: f.FirstDelay, MaxDelay: f.MaxDelay,
	})
	switch {
	case err == nil:
		return Completed, f.post(ctx, req, inv)
	case ctx.Err() != nil:
		return Unfinished, nil
	case errors.Is(err, context.DeadlineExceeded):
		if inv == nil {
			inv = &purge.Invalidation{ID: req.InvalidationID, DistributionID: req.DistributionID, Status: purge.StatusInProgress, CreateTime: req.Started}
		}
		return GaveUp, f.post(ctx, req, inv)
	default:
		f.logger().Error("follow-up: reading the invalidation failed", "invalidation", req.InvalidationID, "error", err, "watched_seconds", f.now().Sub(now).Seconds())
		return Failed, err
	}
}

// create makes the invalidation CloudFront did not take in time, retrying
// with backoff until it does, refuses for good, or CreateWithin has passed
// since the command. It returns "" once the invalidation exists (req then
// names it) and the outcome otherwise.
func (f *Follower) create(ctx context.Context, req *Request) (Outcome, error) {
	batch := purge.Batch{DistributionID: req.DistributionID, CallerReference: req.CallerReference, Paths: req.Paths}
	give := req.Started.Add(CreateWithin)
	delay := cmp.Or(f.CreateFirstDelay, createFirstDelay)
	maxDelay := cmp.Or(f.CreateMaxDelay, createMaxDelay)
	log := f.logger().With("distribution", req.DistributionID, "target", req.Target)
	var last error
	for attempt := 1; ; attempt++ {
		// A pause before every try, the first included: CloudFront has just
		// failed the command's own, and the answer to the command or click
		// ("not taken yet") goes out before this one's "started".
		wait := delay + rand.N(delay/2+1)
		if f.now().Add(wait).After(give) {
			log.Error("follow-up: CloudFront did not take the purge in time", "attempts", attempt-1, "within_seconds", CreateWithin.Seconds(), "error", last)
			return GaveUp, f.notTaken(ctx, req, cmp.Or(last, errNotTaken), slack.NotTakenGaveUp)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Unfinished, nil
		case <-t.C:
		}
		delay = min(2*delay, maxDelay)

		inv, err := f.Invalidator.CreateInvalidation(ctx, batch)
		switch {
		case err == nil:
			req.InvalidationID = inv.ID
			log.Info("follow-up: invalidation created after retries", "invalidation", inv.ID, "attempts", attempt, "new", inv.New)
			if (inv.New || req.MayExist) && f.Announced.Claim(req.DistributionID+"/"+inv.CallerReference) && f.Auditor != nil {
				f.Auditor.Audit(ctx, req.purge(inv))
			}
			if inv.Done() {
				return Completed, f.post(ctx, req, inv)
			}
			p := req.purge(inv)
			p.Following = true
			msg := slack.StartedMessage(p)
			msg.ReplaceOriginal = true
			// A started message Slack did not take is logged; the completion
			// replaces the message all the same.
			f.postMessage(ctx, req, msg)
			return "", nil
		case ctx.Err() != nil:
			return Unfinished, nil
		case purge.Unreachable(err) && req.MayExist:
			// A try got no answer before: the purge may exist, so one that
			// cannot reach CloudFront now is no reason to stop asking.
		case !retryable(err):
			log.Error("follow-up: CloudFront refused the purge", "attempts", attempt, "error", err)
			return Failed, f.notTaken(ctx, req, err, slack.NotTakenRefused)
		}
		if purge.ErrorCode(err) == purge.Unavailable && !purge.Unreachable(err) {
			// No answer (or server errors, which cannot be told from it
			// here): CloudFront may have made it, and then this is the
			// follow-up that must announce it.
			req.MayExist = true
		}
		last = err
		log.Warn("follow-up: CloudFront did not take the purge yet; trying again", "attempt", attempt, "error", err)
	}
}

// errNotTaken is why a purge was not made when no try of the follow-up's
// got an answer to quote.
var errNotTaken error = purge.Errorf(purge.Unavailable, "CloudFront did not take it")

// Retryable reports whether a create that failed with err is worth making
// again with the same CallerReference: CloudFront did not answer, answered
// with server errors, or throttled. A request that never reached CloudFront
// (purge.Unreachable: the endpoint is wrong or down) and a refusal are final.
func Retryable(err error) bool { return retryable(err) }

func retryable(err error) bool {
	if purge.Unreachable(err) {
		return false
	}
	return purge.ErrorCode(err) == purge.Unavailable || purge.ErrorCode(err) == purge.RateLimited && !purge.InProgressLimit(err)
}

// Abandon tells the channel that nobody carries the purge on any more (a
// server stopping with follow-ups in flight), with what to check later.
func (f *Follower) Abandon(ctx context.Context, req Request) error {
	if req.InvalidationID == "" {
		return f.notTaken(ctx, &req, errStopped, slack.NotTakenStopped)
	}
	inv := &purge.Invalidation{ID: req.InvalidationID, DistributionID: req.DistributionID, Status: purge.StatusInProgress, CreateTime: req.Started}
	if got, err := f.Invalidator.GetInvalidation(ctx, req.DistributionID, req.InvalidationID); err == nil {
		inv = got
	}
	return f.post(ctx, &req, inv)
}

// errStopped is why an abandoned create was not made.
var errStopped = purge.Errorf(purge.Unavailable, "it was still being retried")

func (f *Follower) post(ctx context.Context, req *Request, inv *purge.Invalidation) error {
	if inv.CreateTime.IsZero() {
		inv.CreateTime = req.Started
	}
	if err := f.postMessage(ctx, req, slack.CompletedMessage(req.purge(inv), f.now())); err != nil {
		return err
	}
	f.logger().Info("follow-up posted", "invalidation", inv.ID, "status", inv.Status, "after_seconds", f.now().Sub(req.Started).Round(time.Millisecond).Seconds())
	return nil
}

// notTaken replaces the message of a purge CloudFront did not take with
// how it ended.
func (f *Follower) notTaken(ctx context.Context, req *Request, err error, end slack.NotTaken) error {
	return f.postMessage(ctx, req, slack.NotTakenMessage(req.Target, req.DistributionID, req.Paths, err, end, req.MayExist))
}

func (f *Follower) postMessage(ctx context.Context, req *Request, msg *slackapi.WebhookMessage) error {
	if err := f.Poster.Post(ctx, req.ResponseURL, msg); err != nil {
		f.logger().Error("follow-up: Slack did not take the update", "invalidation", req.InvalidationID, "text", msg.Text, "error", err)
		return fmt.Errorf("follow-up %s: %w", req.Key(), err)
	}
	return nil
}

func (f *Follower) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Follower) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.DiscardHandler)
}
