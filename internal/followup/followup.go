// Package followup follows an invalidation after the reply has gone out and
// tells the channel how it ended: it polls CloudFront until the invalidation
// is Completed, then replaces the original Slack message through
// response_url.
//
// A Request holds everything a follow-up needs, so any copy of the service
// can carry it out: `serve` runs it in a bounded pool (Pool), and the Lambda
// sends it to itself as an asynchronous invocation. Slack accepts at most 5
// posts to a response_url within 30 minutes; a follow-up makes one.
package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// MaxWatch is how long after the command a follow-up may still post: Slack
// honours a response_url for 30 minutes.
const MaxWatch = 29 * time.Minute

// Request is one invalidation to follow. It travels as JSON (the Lambda's
// self-invocation payload); ResponseURL is a secret and is never logged.
type Request struct {
	// Target names the target purged, for the message; empty for the
	// unnamed single target.
	Target         string    `json:"target,omitempty"`
	DistributionID string    `json:"distribution_id"`
	InvalidationID string    `json:"invalidation_id"`
	ResponseURL    string    `json:"response_url"`
	UserID         string    `json:"user_id,omitempty"`
	ChannelID      string    `json:"channel_id,omitempty"`
	Requested      int       `json:"requested,omitempty"`
	Started        time.Time `json:"started"`
	// Deadline is when the follow-up gives up and says the invalidation is
	// still running; zero means Started+MaxWatch.
	Deadline time.Time `json:"deadline"`
}

// Key identifies the follow-up, for deduplicating repeated deliveries.
func (r Request) Key() string { return r.DistributionID + "/" + r.InvalidationID }

// Validate checks that a request can be carried out.
func (r Request) Validate() error {
	switch {
	case r.DistributionID == "" || r.InvalidationID == "":
		return errors.New("follow-up: no distribution or invalidation ID")
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

// Scheduler starts follow-ups after the reply: a Pool in `serve`, a
// self-invocation in Lambda.
type Scheduler interface {
	Schedule(ctx context.Context, req Request) error
}

// Follower carries out follow-ups.
type Follower struct {
	Invalidator purge.Invalidator
	Poster      *slack.Poster
	Logger      *slog.Logger
	// FirstDelay and MaxDelay shape the polling (see purge.WatchOptions).
	FirstDelay, MaxDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Outcome is how a follow-up ended.
type Outcome string

// The outcomes of Follow.
const (
	Completed  Outcome = "completed"  // the invalidation completed; the message says so
	GaveUp     Outcome = "gave_up"    // the request's deadline passed; the message says it is still running
	Unfinished Outcome = "unfinished" // ctx ended first; nothing was posted, the request can be resumed
	Failed     Outcome = "failed"     // CloudFront or Slack failed
)

// Follow polls the invalidation until it completes, the request's deadline
// passes, or ctx ends. On completion or at the deadline it replaces the
// original message; when ctx ends first (a Lambda invocation's time is up, a
// server is stopping) it posts nothing and returns Unfinished, so that the
// caller can hand the request on or tell the channel.
func (f *Follower) Follow(ctx context.Context, req Request) (Outcome, error) {
	if err := req.Validate(); err != nil {
		return Failed, err
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

// Abandon tells the channel that nobody follows the invalidation any more
// (a server stopping with follow-ups in flight), with the ID to check later.
func (f *Follower) Abandon(ctx context.Context, req Request) error {
	inv := &purge.Invalidation{ID: req.InvalidationID, DistributionID: req.DistributionID, Status: purge.StatusInProgress, CreateTime: req.Started}
	if got, err := f.Invalidator.GetInvalidation(ctx, req.DistributionID, req.InvalidationID); err == nil {
		inv = got
	}
	return f.post(ctx, req, inv)
}

func (f *Follower) post(ctx context.Context, req Request, inv *purge.Invalidation) error {
	if inv.CreateTime.IsZero() {
		inv.CreateTime = req.Started
	}
	msg := slack.CompletedMessage(slack.Purge{Invalidation: inv, Target: req.Target, UserID: req.UserID, ChannelID: req.ChannelID, Requested: req.Requested}, f.now())
	if err := f.Poster.Post(ctx, req.ResponseURL, msg); err != nil {
		f.logger().Error("follow-up: Slack did not take the update", "invalidation", inv.ID, "status", inv.Status, "text", msg.Text, "error", err)
		return fmt.Errorf("follow-up %s: %w", inv.ID, err)
	}
	f.logger().Info("follow-up posted", "invalidation", inv.ID, "status", inv.Status, "after_seconds", f.now().Sub(req.Started).Round(time.Millisecond).Seconds())
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
