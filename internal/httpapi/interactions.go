package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// clockAllowance widens the look for a request's invalidation back from
// when the request was made, for a CloudFront clock behind this machine's.
const clockAllowance = 5 * time.Minute

// askApproval answers a purge that needs a click with the approval request.
func (h *Handler) askApproval(form slack.Form, t *access.Target, cmd purge.Command, token, why string, rec *record) *slackapi.WebhookMessage {
	p := slack.Pending{
		Target: t.Name, DistributionID: t.DistributionID, Paths: cmd.Paths, Requested: cmd.Requested,
		UserID: form.UserID, ChannelID: form.ChannelID, Token: token,
		Sealed: h.opts.Now().Unix(), Expires: h.opts.Now().Add(h.opts.ConfirmTTL).Unix(),
	}
	sealed, err := slack.SealPending(p, h.opts.SigningSecret)
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	return slack.ConfirmMessage(p, sealed, why, t.Confirm.ApproverMustDiffer, len(t.Users)+len(t.UserGroups) > 0)
}

// interactions serves Block Kit button clicks: Approve and Cancel on an
// approval request. Slack ignores the HTTP body of the answer, so every
// answer goes to the interaction's response_url; the request itself gets an
// empty 200.
func (h *Handler) interactions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readSigned(w, r)
	if !ok {
		return
	}
	rec := &record{start: start, kind: "interaction", action: "ignored"}
	defer h.logRecord(r.Context(), rec)
	var cb *slackapi.InteractionCallback
	err := checkFormType(r.Header.Get("Content-Type"))
	if err == nil {
		cb, err = parseInteraction(body)
	}
	if err != nil {
		rec.err = err
		w.WriteHeader(http.StatusOK)
		return
	}
	rec.user, rec.team, rec.channelID, rec.channelName = cb.User.ID, cb.Team.ID, cb.Channel.ID, cb.Channel.Name
	var action *slackapi.BlockAction
	for _, a := range cb.ActionCallback.BlockActions {
		if a.ActionID == slack.ActionApprove || a.ActionID == slack.ActionCancel {
			action = a
			break
		}
	}
	if cb.Type != slackapi.InteractionTypeBlockActions || action == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	reply := h.click(r.Context(), cb, action, rec)
	if reply != nil {
		// The answer goes out after the acknowledgement, so that a slow
		// response_url cannot hold the click past Slack's 3 seconds. (On
		// Lambda the acknowledgement is the invocation's return, which waits
		// for this post at most lambdaBackgroundWait.)
		action, invalidation := rec.action, rec.invalidation
		h.background(func() {
			ctx, cancel := context.WithTimeout(context.Background(), h.opts.AuditTimeout)
			defer cancel()
			if err := h.opts.Poster.Post(ctx, cb.ResponseURL, reply); err != nil {
				h.log.Error("answer to a click not delivered", "action", action, "invalidation", invalidation, "text", reply.Text, "error", err)
			}
		}, "action", action)
	}
	w.WriteHeader(http.StatusOK)
}

// click acts on Approve or Cancel and returns the message for response_url.
//
// Before it acts, it asks CloudFront whether the request was already
// purged (purge.FindRequest, by the CallerReference's requester and token):
// a second Approve, at any time after the first, is told who approved and
// when, and creates and posts nothing; a Cancel after an Approve is told the
// purge already runs. Clicks on one request in this process are taken one
// at a time, so that two at the same moment here cannot both purge (on two
// replicas or Lambda environments they can: README, Known limits).
func (h *Handler) click(ctx context.Context, cb *slackapi.InteractionCallback, action *slackapi.BlockAction, rec *record) *slackapi.WebhookMessage {
	// Everything below, Slack's user-group look-ups included, shares the
	// reply budget.
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReplyBudget)
	defer cancel()
	rec.action = action.ActionID
	p, err := slack.OpenPending(action.Value, h.opts.SigningSecret, h.opts.Now())
	expired := errors.Is(err, slack.ErrPendingExpired)
	if err != nil && !expired {
		rec.err = &purge.Error{Code: purge.Unauthenticated, Message: "approval request not valid", Err: err}
		return ephemeralAnswer(":x: This button is not valid. Nothing was purged.")
	}
	rec.paths = p.Paths
	rec.target = p.Target
	// The click is checked again, as the command was: the target must still
	// exist with the same distribution, the click must come from the
	// request's channel, and whoever approves or cancels must be someone
	// who may purge the target.
	t := h.opts.Targets.Named(p.Target)
	if p.Target == "" {
		t = h.opts.Targets.Default()
	}
	who := access.Who{UserID: cb.User.ID, ChannelID: cb.Channel.ID, ChannelName: cb.Channel.Name}
	if t == nil || t.DistributionID != p.DistributionID || cb.Channel.ID != p.ChannelID || h.policy.CheckChannel(ctx, t, who) != nil {
		rec.err = purge.Errorf(purge.PermissionDenied, "click from another channel or for another target")
		return ephemeralAnswer(":no_entry: This approval request does not belong here. Nothing was purged.")
	}
	if err := h.policy.CheckPerson(ctx, t, who); err != nil {
		rec.err = err
		verb := "approve"
		if action.ActionID == slack.ActionCancel {
			verb = "cancel"
		}
		return ephemeralAnswer(":no_entry: You may not " + verb + " this purge: " + purge.ErrorMessage(err))
	}

	unlock, err := h.requests.lock(ctx, p.DistributionID+"/"+purge.SlackCallerReference(p.UserID, p.Token))
	if err != nil {
		rec.err = purge.Errorf(purge.Unavailable, "another click on this request is being handled")
		return ephemeralAnswer(":hourglass: Another click on this request is being handled. Nothing was done; click again in a moment.")
	}
	defer unlock()
	since := time.Unix(p.Sealed, 0)
	if p.Sealed == 0 {
		since = time.Unix(p.Expires, 0).Add(-h.opts.ConfirmTTL)
	}
	// The look has at most half the reply budget, so that a busy
	// distribution cannot leave the purge none.
	lctx, lcancel := context.WithTimeout(ctx, h.opts.ReplyBudget/2)
	prior, err := purge.FindRequest(lctx, h.opts.Invalidator, t.DistributionID, since.Add(-clockAllowance), func(ref string) bool {
		return purge.SameRequest(ref, p.UserID, p.Token)
	})
	lcancel()
	if err != nil {
		rec.err = err
		return ephemeralAnswer(":warning: cdnpurge could not ask CloudFront whether this request was already approved (" +
			purge.ErrorMessage(err) + "). Nothing was done; click again in a moment.")
	}
	switch {
	case prior != nil && action.ActionID == slack.ActionCancel:
		rec.action, rec.invalidation = "cancel_too_late", prior.ID
		return slack.TooLateToCancelMessage(t.Name, prior, h.opts.Now())
	case prior != nil:
		rec.action, rec.invalidation = "approve_repeat", prior.ID
		return slack.AlreadyApprovedMessage(t.Name, prior, h.opts.Now())
	case expired:
		rec.err = purge.Errorf(purge.Invalid, "approval request expired")
		return slack.ClosedMessage(p, ":hourglass: This approval request has expired.")
	case action.ActionID == slack.ActionCancel:
		return slack.ClosedMessage(p, ":no_entry_sign: Cancelled by <@"+cb.User.ID+">.")
	case t.Confirm.ApproverMustDiffer && cb.User.ID == p.UserID:
		rec.err = purge.Errorf(purge.PermissionDenied, "requester may not approve")
		return ephemeralAnswer(":raised_hand: You asked for this purge: someone else in the channel must approve it.")
	}
	job := purgeJob{
		target: t, userID: p.UserID, approvedBy: cb.User.ID, channelID: p.ChannelID, token: p.Token,
		paths: p.Paths, requested: p.Requested, responseURL: cb.ResponseURL,
	}
	purged, state, err := h.purge(ctx, job, rec)
	var msg *slackapi.WebhookMessage
	switch {
	case err != nil:
		msg = slack.ErrorMessage(err)
		msg.ReplaceOriginal = false
		return msg
	case state == stateRepeat:
		// CloudFront answered with an invalidation made before this click,
		// with this approver's CallerReference: the same person's click on
		// another copy of the service.
		rec.action = "approve_repeat"
		return slack.AlreadyApprovedMessage(t.Name, purged.Invalidation, h.opts.Now())
	case state == stateRetrying:
		msg = slack.RetryingMessage(purged, job.paths, rec.err)
	default:
		msg = slack.StartedMessage(purged)
	}
	msg.ReplaceOriginal = true
	return msg
}

// ephemeralAnswer is an answer only the clicker sees, leaving the original
// message as it is.
func ephemeralAnswer(text string) *slackapi.WebhookMessage {
	msg := slack.EphemeralMessage(text)
	msg.ReplaceOriginal = false
	return msg
}

// parseInteraction reads the form-encoded body of an interaction: a JSON
// document in the payload field.
func parseInteraction(body []byte) (*slackapi.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, purge.Errorf(purge.Invalid, "interaction form unreadable")
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		return nil, &purge.Error{Code: purge.Invalid, Message: "interaction payload unreadable", Err: err}
	}
	return &cb, nil
}
