package slack

import (
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// The messages for what a purge became when it was not simply started: a
// repeat of one already made, a click on a request already approved, a
// purge CloudFront did not take in time. Each says what CloudFront holds,
// never a guess.

// clock renders when something happened for a message: the time of day in
// UTC, and the date when it was not today.
func clock(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05 MST")
	}
	return t.Format("Jan 2 15:04 MST")
}

// whoStarted names who asked for an invalidation and who approved it, from
// its CallerReference: " requested by <@U1>, approved by <@U2>".
func whoStarted(inv *purge.Invalidation) string {
	_, user := purge.Requester(inv.CallerReference)
	out := ""
	if user != "" {
		out = " requested by <@" + Escape(user) + ">"
	}
	if approver := purge.Approver(inv.CallerReference); approver != "" {
		if out != "" {
			out += ","
		}
		out += " approved by <@" + Escape(approver) + ">"
	}
	return out
}

func stateOf(inv *purge.Invalidation) string {
	if inv.Done() {
		return "completed"
	}
	return "in progress"
}

// RepeatMessage answers a delivery of a command whose purge an earlier
// delivery already made (Slack delivering twice, a replay): only the
// requester sees it, and nothing new was purged or announced.
func RepeatMessage(target string, inv *purge.Invalidation, now time.Time) *slackapi.WebhookMessage {
	return EphemeralMessage(":information_source: This command was already taken: invalidation `" + escapeWithin(inv.ID, maxRef) + "` on " +
		TargetRef(target, inv.DistributionID) + " was created at " + clock(inv.CreateTime, now) + whoStarted(inv) +
		" and is " + stateOf(inv) + ". Nothing new was purged.")
}

// AlreadyApprovedMessage answers an Approve click on a request that was
// approved before: who approved it and when, as CloudFront's record says.
func AlreadyApprovedMessage(target string, inv *purge.Invalidation, now time.Time) *slackapi.WebhookMessage {
	who := "It was already approved"
	if approver := purge.Approver(inv.CallerReference); approver != "" {
		who = "<@" + Escape(approver) + "> already approved it"
	}
	msg := EphemeralMessage(":information_source: " + who + " at " + clock(inv.CreateTime, now) + ": invalidation `" + escapeWithin(inv.ID, maxRef) +
		"` on " + TargetRef(target, inv.DistributionID) + " is " + stateOf(inv) + ". Nothing new was purged.")
	msg.ReplaceOriginal = false
	return msg
}

// TooLateToCancelMessage answers a Cancel click on a request that was
// approved: the purge runs, and CloudFront cannot stop an invalidation.
func TooLateToCancelMessage(target string, inv *purge.Invalidation, now time.Time) *slackapi.WebhookMessage {
	who := "it was approved"
	if approver := purge.Approver(inv.CallerReference); approver != "" {
		who = "<@" + Escape(approver) + "> approved it"
	}
	msg := EphemeralMessage(":warning: Too late to cancel: " + who + " at " + clock(inv.CreateTime, now) + " and invalidation `" +
		escapeWithin(inv.ID, maxRef) + "` on " + TargetRef(target, inv.DistributionID) + " is " + stateOf(inv) +
		". The purge already started; CloudFront cannot stop an invalidation.")
	msg.ReplaceOriginal = false
	return msg
}

// RetryingMessage is the reply to a purge CloudFront did not take inside
// the reply budget (no answer, server errors, throttling): cdnpurge keeps
// asking with the same request, so that it is made once, and the message
// is replaced with the outcome. It is posted in the channel, as a started
// purge is.
func RetryingMessage(p Purge, paths []string, err error) *slackapi.WebhookMessage {
	why := "it did not answer in time or answered with server errors"
	if purge.ErrorCode(err) == purge.RateLimited {
		why = "it is limiting the rate of requests"
	}
	head := capMrkdwn(":hourglass_flowing_sand: Purging "+pathCount(len(paths))+" on "+TargetRef(p.Target, p.Invalidation.DistributionID)+
		": CloudFront has not taken it yet ("+why+").", maxHead)
	note := "cdnpurge keeps asking for up to 15 minutes with the same request, so it is made once; this message will update."
	if p.UserID != "" {
		note = "requested by <@" + Escape(p.UserID) + "> · " + note
	}
	if p.ApprovedBy != "" {
		note = "approved by <@" + Escape(p.ApprovedBy) + "> · " + note
	}
	return &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeInChannel,
		Text:         head,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, paths)),
			slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, capMrkdwn(note, MaxContextText), false, false)),
		}},
	}
}

// NotTaken says how a purge CloudFront did not take ended, for
// NotTakenMessage.
type NotTaken int

// The ends of a purge CloudFront did not take.
const (
	// NotTakenRefused: CloudFront refused it for good, and no try went
	// unanswered: nothing was purged.
	NotTakenRefused NotTaken = iota
	// NotTakenGaveUp: still failing after 15 minutes of tries.
	NotTakenGaveUp
	// NotTakenStopped: cdnpurge stopped (a server shutting down, a Lambda
	// hop that could not be handed on) before CloudFront took it.
	NotTakenStopped
)

// NotTakenMessage replaces RetryingMessage when CloudFront did not take the
// purge in the end; err says why. mayExist says a try got no answer, so the
// invalidation may have been made all the same: then the message says to
// check instead of saying nothing was purged.
func NotTakenMessage(target, distributionID string, paths []string, err error, end NotTaken, mayExist bool) *slackapi.WebhookMessage {
	head := ":x: Could not purge " + pathCount(len(paths)) + " on " + TargetRef(target, distributionID) + ": " + escapeWithin(purge.ErrorMessage(err), maxWhy)
	switch end {
	case NotTakenGaveUp:
		head += ". CloudFront did not take it within 15 minutes of trying"
	case NotTakenStopped:
		head += ". cdnpurge stopped before CloudFront took it"
	}
	if mayExist || end != NotTakenRefused {
		head += "; a try that got no answer may have made it all the same: check `/cdn-purge list` before you purge again."
	} else {
		head += ". Nothing was purged."
	}
	head = capMrkdwn(head, maxHead)
	return &slackapi.WebhookMessage{
		ResponseType:    slackapi.ResponseTypeInChannel,
		ReplaceOriginal: true,
		Text:            head,
		Blocks:          &slackapi.Blocks{BlockSet: []slackapi.Block{markdownSection(headAndPaths(head, paths))}},
	}
}
