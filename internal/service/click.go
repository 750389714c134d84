package service

import (
	"context"
	"errors"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// clockAllowance widens the look for a request's invalidation back from
// when the request was made, for a CloudFront clock behind this machine's.
const clockAllowance = 5 * time.Minute

// askApproval answers a purge that needs a click with the approval request.
func (s *Service) askApproval(c Command, t *access.Target, cmd purge.Command, why string) (slack.Reply, error) {
	p := slack.Pending{
		Target: t.Name, DistributionID: t.DistributionID, Paths: s.jobPaths(t, cmd), Requested: cmd.Requested,
		UserID: c.UserID, ChannelID: c.ChannelID, Token: c.Token,
		Sealed: s.opts.Now().Unix(), Expires: s.opts.Now().Add(s.opts.ConfirmTTL).Unix(),
	}
	sealed, err := slack.SealPending(p, s.opts.SealSecret)
	if err != nil {
		return nil, err
	}
	return slack.ApprovalAsked{
		Pending: p, Sealed: sealed, Why: why,
		ApproverMustDiffer: t.Confirm.ApproverMustDiffer, ApproversLimited: len(t.Users)+len(t.UserGroups) > 0,
	}, nil
}

// Click acts on a click on an approval request's button, Approve or
// Cancel, and logs the request's record. Slack ignores the body of a
// click's answer, so the answer goes to c.ResponseURL, posted in the
// background after Click returns, so that a slow response_url cannot hold
// the click past Slack's 3 seconds; the transport acknowledges with an
// empty body. Click returns the answer posted, as data, nil for a click it
// ignores (not one of the two buttons).
//
// Before it acts, it asks CloudFront whether the request was already
// purged (purge.FindRequest, by the CallerReference's requester and token):
// a second Approve, at any time after the first, is told who approved and
// when, and creates and posts nothing; a Cancel after an Approve is told the
// purge already runs. Clicks on one request in this process are taken one
// at a time, so that two at the same moment here cannot both purge (on two
// replicas or Lambda environments they can: README, Known limits).
func (s *Service) Click(ctx context.Context, c Click) slack.Reply {
	start := time.Now()
	rec := &record{kind: KindClick, team: c.TeamID, user: c.UserID, channelID: c.ChannelID, channelName: c.ChannelName, outcome: outcome{action: "ignored"}}
	defer s.logRecord(ctx, start, rec)
	if c.ActionID != slack.ActionApprove && c.ActionID != slack.ActionCancel {
		return nil
	}
	res, err := s.click(ctx, c)
	rec.outcome, rec.err = res.outcome, err
	reply := res.reply
	if reply == nil {
		reply = slack.Failed{Err: err}
	}
	// On Lambda the acknowledgement is the invocation's return, which waits
	// for this post at most lambdaBackgroundWait.
	action, invalidation := res.action, res.invalidation
	s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.AuditTimeout)
		defer cancel()
		msg := slack.Render(reply)
		if err := s.opts.Poster.Post(ctx, c.ResponseURL, msg); err != nil {
			s.log.Error("answer to a click not delivered", "action", action, "invalidation", invalidation, "text", msg.Text, "error", err)
		}
	}, "action", action)
	return reply
}

// click acts on Approve or Cancel and returns the message for response_url
// (nil for the error's message, which leaves the original in place). The
// error is the click's outcome for the log.
func (s *Service) click(ctx context.Context, c Click) (result, error) {
	// Everything below, Slack's user-group look-ups included, shares the
	// reply budget.
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReplyBudget)
	defer cancel()
	res := result{outcome: outcome{action: c.ActionID}}
	p, err := slack.OpenPending(c.Value, s.opts.SealSecret, s.opts.Now())
	expired := errors.Is(err, slack.ErrPendingExpired)
	if err != nil && !expired {
		res.reply = slack.ClickRefused{Reason: slack.ClickInvalid}
		return res, &purge.Error{Code: purge.Unauthenticated, Message: "approval request not valid", Err: err}
	}
	res.paths = p.Paths
	res.target = p.Target
	// The click is checked again, as the command was: the target must still
	// exist with the same distribution, the click must come from the
	// request's channel, and whoever approves or cancels must be someone
	// who may purge the target.
	t := s.opts.Targets.Named(p.Target)
	if p.Target == "" {
		t = s.opts.Targets.Default()
	}
	who := access.Who{UserID: c.UserID, ChannelID: c.ChannelID, ChannelName: c.ChannelName}
	if t == nil || t.DistributionID != p.DistributionID || c.ChannelID != p.ChannelID || s.policy.CheckChannel(ctx, t, who) != nil {
		res.reply = slack.ClickRefused{Reason: slack.ClickElsewhere}
		return res, purge.Errorf(purge.PermissionDenied, "click from another channel or for another target")
	}
	if err := s.policy.CheckPerson(ctx, t, who); err != nil {
		res.reply = slack.ClickRefused{Reason: slack.ClickNotAllowed, Cancel: c.ActionID == slack.ActionCancel, Err: err}
		return res, err
	}

	unlock, err := s.requests.lock(ctx, p.DistributionID+"/"+purge.SlackCallerReference(p.UserID, p.Token))
	if err != nil {
		res.reply = slack.ClickRefused{Reason: slack.ClickBusy}
		return res, purge.Errorf(purge.Unavailable, "another click on this request is being handled")
	}
	defer unlock()
	since := time.Unix(p.Sealed, 0)
	if p.Sealed == 0 {
		since = time.Unix(p.Expires, 0).Add(-s.opts.ConfirmTTL)
	}
	// The look has at most half the reply budget, so that a busy
	// distribution cannot leave the purge none.
	var prior *purge.Invalidation
	if s.provider(t).Capabilities().History {
		lctx, lcancel := context.WithTimeout(ctx, s.opts.ReplyBudget/2)
		prior, err = purge.FindRequest(lctx, s.opts.Invalidator, t.DistributionID, since.Add(-clockAllowance), func(ref string) bool {
			return purge.SameRequest(ref, p.UserID, p.Token)
		})
		lcancel()
	}
	// A provider with no history cannot say whether another copy of the
	// service approved this request: in this process the lock above and
	// the purge's claim keep a second Approve from purging again.
	if err != nil {
		res.reply = slack.ClickRefused{Reason: slack.ClickUnchecked, Err: err}
		return res, err
	}
	switch {
	case prior != nil && c.ActionID == slack.ActionCancel:
		res.action, res.invalidation = "cancel_too_late", prior.ID
		res.reply = slack.TooLateToCancel{Target: t.Name, Invalidation: prior, Now: s.opts.Now()}
		return res, nil
	case prior != nil:
		res.action, res.invalidation = "approve_repeat", prior.ID
		res.reply = slack.AlreadyApproved{Target: t.Name, Invalidation: prior, Now: s.opts.Now()}
		return res, nil
	case expired:
		res.reply = slack.Closed{Pending: p}
		return res, purge.Errorf(purge.Invalid, "approval request expired")
	case c.ActionID == slack.ActionCancel:
		res.reply = slack.Closed{Pending: p, CancelledBy: c.UserID}
		return res, nil
	case t.Confirm.ApproverMustDiffer && c.UserID == p.UserID:
		res.reply = slack.ClickRefused{Reason: slack.ClickOwnRequest}
		return res, purge.Errorf(purge.PermissionDenied, "requester may not approve")
	}
	job := purgeJob{
		target: t, userID: p.UserID, approvedBy: c.UserID, channelID: p.ChannelID, token: p.Token,
		paths: p.Paths, items: itemsOf(p.Paths), requested: p.Requested, responseURL: c.ResponseURL,
	}
	if caps := s.provider(t).Capabilities(); !caps.History {
		// No record to ask whether someone approved it already: in this
		// process the request is claimed by its requester and token, so
		// that a second approver purges nothing again.
		key := "target " + t.Name + "/" + purge.SlackCallerReference(p.UserID, p.Token)
		if !s.announced.Claim(key) {
			res.action = "approve_repeat"
			res.reply = slack.AlreadyApproved{Target: t.Name, Now: s.opts.Now(), Provider: caps.Provider, Synchronous: true,
				Invalidation: &purge.Invalidation{Status: purge.StatusCompleted}}
			return res, nil
		}
		res, err := s.purgeAndReply(ctx, job, res)
		if err != nil && !errors.Is(err, purge.ErrPartial) {
			s.announced.Release(key)
		}
		return res, err
	}
	return s.purgeAndReply(ctx, job, res)
}
