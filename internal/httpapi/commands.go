package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/access"
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
	// Everything below, Slack's user-group look-ups included, shares the
	// reply budget.
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReplyBudget)
	defer cancel()
	who := access.Who{UserID: form.UserID, ChannelID: form.ChannelID, ChannelName: form.ChannelName}
	cmd, err := purge.ParseCommand(slack.PlainText(form.Text))
	if err == nil && cmd.Action == purge.ActionHelp {
		rec.action = "help"
		return slack.HelpMessage(form.Command.Command, h.summaries(h.policy.Here(ctx, who)), h.opts.Targets.Default().Name != "", h.channels)
	}
	rec.action = actionName(cmd.Action)
	if !h.channels.Allows(form.ChannelID, form.ChannelName) {
		rec.err = &purge.Error{Code: purge.PermissionDenied, Message: "channel not allowed", Err: &access.Refusal{Rule: access.RuleChannels}}
		return slack.RefusedChannelMessage(h.channels)
	}
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	switch cmd.Action {
	case purge.ActionTargets:
		here := h.policy.Here(ctx, who)
		return slack.TargetsMessage(h.summaries(here), len(h.opts.Targets.All())-len(here))
	case purge.ActionUsage:
		return h.usage(ctx, who, rec)
	}
	t, err := h.policy.Resolve(ctx, who, cmd)
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	rec.target = t.Name
	switch cmd.Action {
	case purge.ActionStatus, purge.ActionList:
		if err := h.policy.CheckChannel(ctx, t, who); err != nil {
			rec.err = err
			return slack.ErrorMessage(err)
		}
		if cmd.Action == purge.ActionStatus {
			return h.status(ctx, t, cmd.ID, rec)
		}
		return h.list(ctx, t, rec)
	}
	rec.paths = cmd.Paths
	if err := h.policy.CheckPurge(ctx, t, who, cmd.Paths); err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	token := requestToken(form.TriggerID, timestamp, body)
	if needed, why := t.Confirm.Needed(cmd.Paths); needed {
		rec.action = "confirm"
		return h.askApproval(form, t, cmd, token, why, rec)
	}
	p, err := h.purge(ctx, t, form.UserID, form.ChannelID, token, cmd.Paths, cmd.Requested, form.ResponseURL, rec)
	if err != nil {
		return slack.ErrorMessage(err)
	}
	return slack.StartedMessage(p)
}

// inFlightBudget bounds the look at what is in progress before a purge, so
// that a slow answer leaves the CreateInvalidation call most of the reply
// budget. When it runs out, the purge goes ahead and CloudFront's own limit
// decides.
const inFlightBudget = 300 * time.Millisecond

// purge creates the invalidation on t, starts its audit post and its
// follow-up, and returns what the started message shows. Before it submits,
// it checks CloudFront's in-progress limits, so that a purge that would
// exceed them is refused with what is in flight instead of CloudFront's bare
// error.
func (h *Handler) purge(ctx context.Context, t *access.Target, userID, channelID, token string, paths []string, requested int, responseURL string, rec *record) (slack.Purge, error) {
	batch := purge.Batch{
		DistributionID:  t.DistributionID,
		CallerReference: purge.SlackCallerReference(userID, token),
		Paths:           paths,
	}
	if err := h.checkInFlight(ctx, batch); err != nil {
		rec.err = err
		return slack.Purge{}, err
	}
	inv, err := h.opts.Invalidator.CreateInvalidation(ctx, batch)
	if err != nil && purge.ErrorCode(err) == purge.RateLimited {
		// The look before found room, or could not finish, and CloudFront
		// refused: say what is in flight if that is why.
		if limit := h.checkInFlight(ctx, batch); limit != nil {
			err = limit
		}
	}
	if err != nil {
		rec.err = err
		return slack.Purge{}, err
	}
	rec.invalidation = inv.ID
	p := slack.Purge{Invalidation: inv, Target: t.Name, UserID: userID, ChannelID: channelID, Requested: requested}
	h.audit(p)
	if !inv.Done() {
		p.Following, p.NotFollowing = h.follow(ctx, followup.Request{
			Target: t.Name, DistributionID: inv.DistributionID, InvalidationID: inv.ID, ResponseURL: responseURL,
			UserID: userID, ChannelID: channelID, Requested: requested, Started: h.opts.Now(),
		})
	}
	return p, nil
}

// checkInFlight refuses a batch that would exceed CloudFront's in-progress
// limits on its distribution. A failed or slow look lets it go ahead, and so
// does a repeat of a batch already in progress (a second click, a repeated
// delivery), which CloudFront answers with the existing invalidation.
func (h *Handler) checkInFlight(ctx context.Context, batch purge.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, inFlightBudget)
	defer cancel()
	load, err := purge.InFlight(ctx, h.opts.Invalidator, batch.DistributionID)
	if err != nil {
		h.log.WarnContext(ctx, "in-progress limits not checked", "distribution", batch.DistributionID, "error", err)
		return nil
	}
	if load.Includes(batch.CallerReference) {
		return nil
	}
	return load.Check(batch.Paths)
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

// status answers `/cdn-purge status [TARGET] [ID]`: one invalidation, or
// the latest.
func (h *Handler) status(ctx context.Context, t *access.Target, id string, rec *record) *slackapi.WebhookMessage {
	if id == "" {
		page, err := h.opts.Invalidator.ListInvalidations(ctx, t.DistributionID, purge.ListOptions{MaxItems: 1})
		if err != nil {
			rec.err = err
			return slack.ErrorMessage(err)
		}
		if len(page.Items) == 0 {
			return slack.ListMessage(t.Name, t.DistributionID, nil, h.opts.Now())
		}
		id = page.Items[0].ID
	}
	inv, err := h.opts.Invalidator.GetInvalidation(ctx, t.DistributionID, id)
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	rec.invalidation = inv.ID
	return slack.StatusMessage(t.Name, inv, h.opts.Now())
}

// list answers `/cdn-purge list [TARGET]`: recent invalidations, newest
// first.
func (h *Handler) list(ctx context.Context, t *access.Target, rec *record) *slackapi.WebhookMessage {
	page, err := h.opts.Invalidator.ListInvalidations(ctx, t.DistributionID, purge.ListOptions{MaxItems: listSize})
	if err != nil {
		rec.err = err
		return slack.ErrorMessage(err)
	}
	items := page.Items
	if len(items) > listSize {
		items = items[:listSize]
	}
	return slack.ListMessage(t.Name, t.DistributionID, items, h.opts.Now())
}

// summaries describes targets for the help and targets messages.
func (h *Handler) summaries(ts []*access.Target) []slack.TargetSummary {
	out := make([]slack.TargetSummary, len(ts))
	for i, t := range ts {
		out[i] = slack.TargetSummary{
			Name: t.Name, DistributionID: t.DistributionID, Default: t == h.opts.Targets.Default(),
			Domains: t.Domains, Channels: t.Channels, Paths: t.Paths, Confirm: t.Confirm.Mode,
		}
	}
	return out
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
	case purge.ActionTargets:
		return "targets"
	case purge.ActionUsage:
		return "usage"
	}
	return "purge"
}
