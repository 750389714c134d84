package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// listSize is how many invalidations `/cdn-purge list` shows.
const listSize = 10

// commands serves slash commands.
func (h *Handler) commands(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.readSigned(w, r)
	if !ok {
		return
	}
	var form slack.Form
	err := checkFormType(r.Header.Get("Content-Type"))
	if err == nil {
		form, err = slack.ParseForm(body)
	}
	if err == nil && form.SSLCheck {
		w.WriteHeader(http.StatusOK)
		return
	}
	rec := &record{start: start, kind: "slash command"}
	var reply *slackapi.WebhookMessage
	if err != nil {
		rec.err = err
		reply = slack.ErrorMessage(err)
	} else {
		rec.user, rec.team, rec.channelID, rec.channelName = form.UserID, form.TeamID, form.ChannelID, form.ChannelName
		reply = h.command(r.Context(), form, r.Header.Get("X-Slack-Request-Timestamp"), body, rec)
	}
	writeJSON(w, reply)
	h.logRecord(r.Context(), rec)
}

// command turns a verified slash command into its reply.
func (h *Handler) command(ctx context.Context, form slack.Form, timestamp string, body []byte, rec *record) *slackapi.WebhookMessage {
	cmd, err := purge.ParseCommand(slack.PlainText(form.Text))
	if err == nil && cmd.Action == purge.ActionHelp {
		rec.action = "help"
		return slack.HelpMessage(form.Command.Command, h.opts.DistributionID, h.opts.Channels)
	}
	rec.action = actionName(cmd.Action)
	if !h.opts.Channels.Allows(form.ChannelID, form.ChannelName) {
		rec.err = purge.Errorf(purge.PermissionDenied, "channel not allowed")
		return slack.RefusedChannelMessage(h.opts.Channels)
	}
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReplyBudget)
	defer cancel()
	switch cmd.Action {
	case purge.ActionStatus:
		return h.status(ctx, cmd.ID, rec)
	case purge.ActionList:
		return h.list(ctx, rec)
	}
	rec.paths = cmd.Paths
	token := requestToken(form.TriggerID, timestamp, body)
	if needed, why := h.opts.Confirm.Needed(cmd.Paths); needed {
		rec.action = "confirm"
		return h.askApproval(form, cmd, token, why, rec)
	}
	p, err := h.purge(ctx, form.UserID, form.ChannelID, token, cmd.Paths, cmd.Requested, form.ResponseURL, rec)
	if err != nil {
		return slack.ErrorMessage(err)
	}
	return slack.StartedMessage(p)
}

// purge creates the invalidation, starts its audit post and its follow-up,
// and returns what the started message shows.
func (h *Handler) purge(ctx context.Context, userID, channelID, token string, paths []string, requested int, responseURL string, rec *record) (slack.Purge, error) {
	inv, err := h.opts.Invalidator.CreateInvalidation(ctx, purge.Batch{
		DistributionID:  h.opts.DistributionID,
		CallerReference: purge.SlackCallerReference(userID, token),
		Paths:           paths,
	})
	if err != nil {
		rec.err = err
		return slack.Purge{}, err
	}
	rec.invalidation = inv.ID
	p := slack.Purge{Invalidation: inv, UserID: userID, ChannelID: channelID, Requested: requested}
	h.audit(p)
	if !inv.Done() {
		p.Following, p.NotFollowing = h.follow(ctx, followup.Request{
			DistributionID: inv.DistributionID, InvalidationID: inv.ID, ResponseURL: responseURL,
			UserID: userID, ChannelID: channelID, Requested: requested, Started: h.opts.Now(),
		})
	}
	return p, nil
}

// audit posts the audit message in the background, so that it never delays
// or fails the reply. A failed post is logged with its content, so that the
// record is not lost.
func (h *Handler) audit(p slack.Purge) {
	if h.opts.WebhookURL == "" {
		return
	}
	msg := slack.AuditMessage(p)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		// After the reply nothing recovers a panic but this: without it one
		// bad post would stop the server with every request in flight.
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("panic posting the audit message", "invalidation", p.Invalidation.ID, "audit_text", msg.Text, "panic", v)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), h.opts.AuditTimeout)
		defer cancel()
		if err := h.opts.Poster.Post(ctx, h.opts.WebhookURL, msg); err != nil {
			h.log.Error("audit webhook failed", "invalidation", p.Invalidation.ID, "audit_text", msg.Text, "error", err)
		}
	}()
}

// follow schedules the follow-up of an invalidation. It reports whether the
// message will be updated, or why not, for the reply to say.
func (h *Handler) follow(ctx context.Context, req followup.Request) (bool, string) {
	if h.opts.Followups == nil {
		return false, ""
	}
	later := "check later with `/cdn-purge status " + req.InvalidationID + "`"
	if req.ResponseURL == "" {
		return false, later
	}
	if err := slack.CheckURL(req.ResponseURL, h.opts.Poster.AllowLoopback); err != nil {
		h.log.WarnContext(ctx, "not following: response_url refused", "invalidation", req.InvalidationID, "error", err)
		return false, later
	}
	if err := h.opts.Followups.Schedule(ctx, req); err != nil {
		h.log.ErrorContext(ctx, "not following: follow-up not scheduled", "invalidation", req.InvalidationID, "error", err)
		return false, later
	}
	return true, ""
}

// status answers `/cdn-purge status [ID]`: one invalidation, or the latest.
func (h *Handler) status(ctx context.Context, id string, rec *record) *slackapi.WebhookMessage {
	if id == "" {
		page, err := h.opts.Invalidator.ListInvalidations(ctx, h.opts.DistributionID, purge.ListOptions{MaxItems: 1})
		if err != nil {
			rec.err = err
			return slack.ErrorMessage(err)
		}
		if len(page.Items) == 0 {
			return slack.ListMessage(h.opts.DistributionID, nil, h.opts.Now())
		}
		id = page.Items[0].ID
	}
	inv, err := h.opts.Invalidator.GetInvalidation(ctx, h.opts.DistributionID, id)
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	rec.invalidation = inv.ID
	return slack.StatusMessage(inv, h.opts.Now())
}

// list answers `/cdn-purge list`: recent invalidations, newest first.
func (h *Handler) list(ctx context.Context, rec *record) *slackapi.WebhookMessage {
	page, err := h.opts.Invalidator.ListInvalidations(ctx, h.opts.DistributionID, purge.ListOptions{MaxItems: listSize})
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	items := page.Items
	if len(items) > listSize {
		items = items[:listSize]
	}
	return slack.ListMessage(h.opts.DistributionID, items, h.opts.Now())
}

// requestToken identifies a Slack delivery for CloudFront's idempotency key,
// so that a repeated delivery of the same command creates no second
// invalidation: the trigger_id Slack gives every command, or, failing that,
// a hash of the signed timestamp and body.
func requestToken(triggerID, timestamp string, body []byte) string {
	if triggerID != "" {
		return triggerID
	}
	sum := sha256.Sum256(append([]byte(timestamp+":"), body...))
	return hex.EncodeToString(sum[:16])
}

func actionName(a purge.Action) string {
	switch a {
	case purge.ActionHelp:
		return "help"
	case purge.ActionStatus:
		return "status"
	case purge.ActionList:
		return "list"
	}
	return "purge"
}
