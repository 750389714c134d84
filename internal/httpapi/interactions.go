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

// repeatWindow tells a repeated approval from a first one: CloudFront returns
// the existing invalidation for a repeated CallerReference, with the time it
// was first created. Anything created longer ago than this before the click
// was approved by an earlier click.
const repeatWindow = 20 * time.Second

// askApproval answers a purge that needs a click with the approval request.
func (h *Handler) askApproval(form slack.Form, t *access.Target, cmd purge.Command, token, why string, rec *record) *slackapi.WebhookMessage {
	p := slack.Pending{
		Target: t.Name, DistributionID: t.DistributionID, Paths: cmd.Paths, Requested: cmd.Requested,
		UserID: form.UserID, ChannelID: form.ChannelID, Token: token,
		Expires: h.opts.Now().Add(h.opts.ConfirmTTL).Unix(),
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
		if err := h.opts.Poster.Post(r.Context(), cb.ResponseURL, reply); err != nil {
			h.log.ErrorContext(r.Context(), "answer to a click not delivered", "action", rec.action, "invalidation", rec.invalidation, "text", reply.Text, "error", err)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// click acts on Approve or Cancel and returns the message for response_url.
func (h *Handler) click(ctx context.Context, cb *slackapi.InteractionCallback, action *slackapi.BlockAction, rec *record) *slackapi.WebhookMessage {
	// Everything below, Slack's user-group look-ups included, shares the
	// reply budget.
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReplyBudget)
	defer cancel()
	rec.action = action.ActionID
	p, err := slack.OpenPending(action.Value, h.opts.SigningSecret, h.opts.Now())
	switch {
	case errors.Is(err, slack.ErrPendingExpired):
		rec.err = purge.Errorf(purge.Invalid, "approval request expired")
		return slack.ClosedMessage(p, ":hourglass: This approval request has expired.")
	case err != nil:
		rec.err = &purge.Error{Code: purge.Unauthenticated, Message: "approval request not valid", Err: err}
		return ephemeralAnswer(":x: This button is not valid. Nothing was purged.")
	}
	rec.paths = p.Paths
	rec.target = p.Target
	// The click is checked again, as the command was: the target must still
	// exist with the same distribution, the click must come from the
	// request's channel, and the approver must be someone who may purge the
	// target.
	t := h.opts.Targets.Named(p.Target)
	if p.Target == "" {
		t = h.opts.Targets.Default()
	}
	who := access.Who{UserID: cb.User.ID, ChannelID: cb.Channel.ID, ChannelName: cb.Channel.Name}
	if t == nil || t.DistributionID != p.DistributionID || cb.Channel.ID != p.ChannelID || h.policy.CheckChannel(ctx, t, who) != nil {
		rec.err = purge.Errorf(purge.PermissionDenied, "click from another channel or for another target")
		return ephemeralAnswer(":no_entry: This approval request does not belong here. Nothing was purged.")
	}
	if action.ActionID == slack.ActionCancel {
		return slack.ClosedMessage(p, ":no_entry_sign: Cancelled by <@"+cb.User.ID+">.")
	}
	if t.Confirm.ApproverMustDiffer && cb.User.ID == p.UserID {
		rec.err = purge.Errorf(purge.PermissionDenied, "requester may not approve")
		return ephemeralAnswer(":raised_hand: You asked for this purge: someone else in the channel must approve it.")
	}
	if err := h.policy.CheckPerson(ctx, t, who); err != nil {
		rec.err = err
		return ephemeralAnswer(":no_entry: You may not approve this purge: " + purge.ErrorMessage(err))
	}
	clicked := h.opts.Now()
	purged, err := h.purge(ctx, t, p.UserID, p.ChannelID, p.Token, p.Paths, p.Requested, cb.ResponseURL, rec)
	if err != nil {
		msg := slack.ErrorMessage(err)
		msg.ReplaceOriginal = false
		return msg
	}
	if clicked.Sub(purged.Invalidation.CreateTime) > repeatWindow {
		// A stale or repeated click: the invalidation exists already and its
		// message was replaced by the first click.
		rec.action = "approve_repeat"
		return ephemeralAnswer(":information_source: Already approved: invalidation `" + purged.Invalidation.ID + "` (" + string(purged.Invalidation.Status) + "). Nothing new was purged.")
	}
	purged.ApprovedBy = cb.User.ID
	msg := slack.StartedMessage(purged)
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
