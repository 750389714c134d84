package slack

import (
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// The replies are what internal/service answers, as data: what happened,
// never how it reads. Render words each as its Slack message, so that every
// transport (Request URLs, Socket Mode) answers with the same bytes:
// encode(slack.Render(svc.Command(ctx, cmd))).
//
// They are defined here, beside their words, rather than in the service:
// the service imports this package anyway, to deliver (Poster, Auditor) and
// to seal approval requests (Pending), so this package cannot import the
// service; a reply type of the service's would leave Render no way to see
// it. They hold only data (this package's Purge, Pending, TargetSummary and
// the domain's types), so defining them here ties the flow to nothing of
// Slack's wire format.

// Reply is what the service answers to a request: one of the types of this
// file.
type Reply interface{ reply() }

// Help answers `/cdn-purge help`: Command is the command as invoked, Here
// the targets the person may purge from here, Named whether targets have
// names, Everywhere the channels any target may be purged from.
type Help struct {
	Command    string
	Here       []TargetSummary
	Named      bool
	Everywhere []string
}

// TargetList answers `/cdn-purge targets`: the targets the person may purge
// from here, and how many others there are.
type TargetList struct {
	Here   []TargetSummary
	Others int
}

// Started is a purge this delivery created.
type Started struct {
	Purge Purge
	// ReplaceOriginal is set for the answer to an approval click: it
	// replaces the approval request.
	ReplaceOriginal bool
}

// Repeat answers a delivery of a command whose purge an earlier delivery
// made.
type Repeat struct {
	Target       string
	Invalidation *purge.Invalidation
	Now          time.Time
	// Provider and Synchronous are the Purge's: a purge made at once has
	// no record to tell of, only that this delivery was taken.
	Provider    string
	Synchronous bool
}

// ManyPurged is a purge of several targets at once: what became of each,
// and who asked.
type ManyPurged struct {
	Results []TargetPurge
	UserID  string
}

// TargetPurge is one target's part of a ManyPurged: its purge, made, made
// before (Repeat), or not made (Err).
type TargetPurge struct {
	Purge  Purge
	Repeat bool
	Err    error
	// SameAs names the target before it on the same distribution, whose
	// purge was this one's too.
	SameAs string
}

// NoHistory answers `status` and `list` on a target whose provider keeps no
// record of purges (Capabilities.History false).
type NoHistory struct {
	Target, Provider string
}

// Retrying is a purge CloudFront did not take inside the reply budget,
// which a follow-up keeps creating; Err is why CloudFront did not take it.
type Retrying struct {
	Purge           Purge
	Paths           []string
	Err             error
	ReplaceOriginal bool
}

// Status answers `/cdn-purge status`: one invalidation.
type Status struct {
	Target       string
	Invalidation *purge.Invalidation
	Now          time.Time
}

// List answers `/cdn-purge list` (and a status on a target with no
// invalidations yet): recent invalidations, newest first.
type List struct {
	Target, DistributionID string
	Items                  []purge.Summary
	Now                    time.Time
}

// Usage answers `/cdn-purge usage`: Month's billed paths per account.
type Usage struct {
	Month    string
	Accounts []UsageAccount
	// NotBilled are the targets here whose provider bills no purge, as
	// "name (Provider)".
	NotBilled []string
}

// ApprovalAsked is a purge waiting for an approval click: the request,
// sealed for the buttons, why it waits, and who may approve.
type ApprovalAsked struct {
	Pending            Pending
	Sealed             string
	Why                string
	ApproverMustDiffer bool
	// ApproversLimited says only the people the target's rules allow may
	// approve.
	ApproversLimited bool
}

// ChannelRefused answers a command from a channel no target may be purged
// from; Allowed are the channels that may.
type ChannelRefused struct{ Allowed []string }

// Failed is a request that failed: Err's user-safe message is shown, never
// its detail.
type Failed struct{ Err error }

// AlreadyApproved answers an Approve click on a request approved before.
type AlreadyApproved struct {
	Target       string
	Invalidation *purge.Invalidation
	Now          time.Time
	// Provider and Synchronous are the target's: a purge made at once
	// leaves no record of who approved it or when.
	Provider    string
	Synchronous bool
}

// TooLateToCancel answers a Cancel click on a request already approved.
type TooLateToCancel struct {
	Target       string
	Invalidation *purge.Invalidation
	Now          time.Time
}

// Closed replaces an approval request that ended without a purge:
// cancelled by CancelledBy, or, when that is empty, expired.
type Closed struct {
	Pending     Pending
	CancelledBy string
}

// ClickRefused answers a click that did nothing, only to the clicker.
type ClickRefused struct {
	Reason ClickReason
	// Cancel says the click was on Cancel (else Approve), for
	// ClickNotAllowed's words.
	Cancel bool
	// Err is why, for ClickNotAllowed and ClickUnchecked.
	Err error
}

// ClickReason says why a click did nothing.
type ClickReason int

// The reasons a click does nothing.
const (
	// ClickInvalid: the button's value is not a request cdnpurge sealed.
	ClickInvalid ClickReason = iota
	// ClickElsewhere: the request is for another channel or target.
	ClickElsewhere
	// ClickNotAllowed: the clicker may not purge the target.
	ClickNotAllowed
	// ClickBusy: another click on the request is being handled.
	ClickBusy
	// ClickUnchecked: CloudFront could not be asked whether the request was
	// already approved.
	ClickUnchecked
	// ClickOwnRequest: the requester clicked Approve on a target whose
	// approver must be someone else.
	ClickOwnRequest
)

func (Help) reply()            {}
func (TargetList) reply()      {}
func (Started) reply()         {}
func (Repeat) reply()          {}
func (NoHistory) reply()       {}
func (ManyPurged) reply()      {}
func (Retrying) reply()        {}
func (Status) reply()          {}
func (List) reply()            {}
func (Usage) reply()           {}
func (ApprovalAsked) reply()   {}
func (ChannelRefused) reply()  {}
func (Failed) reply()          {}
func (AlreadyApproved) reply() {}
func (TooLateToCancel) reply() {}
func (Closed) reply()          {}
func (ClickRefused) reply()    {}

// Render words r as its Slack message; nil for a nil r.
func Render(r Reply) *slackapi.WebhookMessage {
	switch r := r.(type) {
	case Help:
		return HelpMessage(r.Command, r.Here, r.Named, r.Everywhere)
	case TargetList:
		return TargetsMessage(r.Here, r.Others)
	case Started:
		m := StartedMessage(r.Purge)
		m.ReplaceOriginal = r.ReplaceOriginal
		return m
	case Repeat:
		if r.Synchronous {
			return EphemeralMessage(":information_source: This command was already taken: " + TargetRef(r.Target, "") + " (" + escapeWithin(r.Provider, maxRef) +
				") was purged then. Nothing new was purged.")
		}
		return RepeatMessage(r.Target, r.Invalidation, r.Now)
	case ManyPurged:
		return ManyPurgedMessage(r)
	case NoHistory:
		return EphemeralMessage(":information_source: " + TargetRef(r.Target, "") + " is on " + escapeWithin(r.Provider, maxRef) +
			", which keeps no record of purges to show: a purge there is done when cdnpurge's reply says so.")
	case Retrying:
		m := RetryingMessage(r.Purge, r.Paths, r.Err)
		m.ReplaceOriginal = r.ReplaceOriginal
		return m
	case Status:
		return StatusMessage(r.Target, r.Invalidation, r.Now)
	case List:
		return ListMessage(r.Target, r.DistributionID, r.Items, r.Now)
	case Usage:
		return UsageMessage(r.Month, r.Accounts, r.NotBilled...)
	case ApprovalAsked:
		return ConfirmMessage(r)
	case ChannelRefused:
		return RefusedChannelMessage(r.Allowed)
	case Failed:
		return ErrorMessage(r.Err)
	case AlreadyApproved:
		if r.Synchronous {
			m := EphemeralMessage(":information_source: This request was already approved: " + TargetRef(r.Target, "") + " (" +
				escapeWithin(r.Provider, maxRef) + ") was purged then. Nothing new was purged.")
			m.ReplaceOriginal = false
			return m
		}
		return AlreadyApprovedMessage(r.Target, r.Invalidation, r.Now)
	case TooLateToCancel:
		return TooLateToCancelMessage(r.Target, r.Invalidation, r.Now)
	case Closed:
		if r.CancelledBy != "" {
			return ClosedMessage(r.Pending, ":no_entry_sign: Cancelled by <@"+Escape(r.CancelledBy)+">.")
		}
		return ClosedMessage(r.Pending, ":hourglass: This approval request has expired.")
	case ClickRefused:
		return EphemeralMessage(clickRefusedText(r))
	}
	return nil
}

// clickRefusedText says why a click did nothing.
func clickRefusedText(r ClickRefused) string {
	switch r.Reason {
	case ClickElsewhere:
		return ":no_entry: This approval request does not belong here. Nothing was purged."
	case ClickNotAllowed:
		verb := "approve"
		if r.Cancel {
			verb = "cancel"
		}
		return ":no_entry: You may not " + verb + " this purge: " + userMessage(r.Err)
	case ClickBusy:
		return ":hourglass: Another click on this request is being handled. Nothing was done; click again in a moment."
	case ClickUnchecked:
		return ":warning: cdnpurge could not ask CloudFront whether this request was already approved (" +
			purge.ErrorMessage(r.Err) + "). Nothing was done; click again in a moment."
	case ClickOwnRequest:
		return ":raised_hand: You asked for this purge: someone else in the channel must approve it."
	}
	return ":x: This button is not valid. Nothing was purged."
}
