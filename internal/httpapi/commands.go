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
	job := purgeJob{
		target: t, userID: form.UserID, channelID: form.ChannelID, token: token,
		paths: cmd.Paths, requested: cmd.Requested, responseURL: form.ResponseURL,
	}
	p, state, err := h.purge(ctx, job, rec)
	switch {
	case err != nil:
		return slack.ErrorMessage(err)
	case state == stateRepeat:
		rec.action = "purge_repeat"
		return slack.RepeatMessage(t.Name, p.Invalidation, h.opts.Now())
	case state == stateRetrying:
		return slack.RetryingMessage(p, job.paths, rec.err)
	}
	return slack.StartedMessage(p)
}

// inFlightBudget bounds the look at what is in progress that explains a
// refusal for CloudFront's in-progress limits.
const inFlightBudget = 300 * time.Millisecond

// followupReserve is the part of the reply budget the CloudFront call leaves
// for scheduling the follow-up (on Lambda, an Invoke call), so that a purge
// CloudFront did not take in time can still be handed on inside the budget.
const followupReserve = 300 * time.Millisecond

// purgeJob is one purge to make: what a command or an approval click asks
// for, on which target, for whom.
type purgeJob struct {
	target *access.Target
	// userID asked for the purge; approvedBy approved it with a click, empty
	// when it needed no approval.
	userID, approvedBy string
	channelID          string
	// token identifies the Slack request (see requestToken): with the users
	// it makes the CallerReference.
	token       string
	paths       []string
	requested   int
	responseURL string
}

func (j purgeJob) callerReference() string {
	if j.approvedBy != "" {
		return purge.ApprovedCallerReference(j.userID, j.approvedBy, j.token)
	}
	return purge.SlackCallerReference(j.userID, j.token)
}

// purgeState is what became of a purge that did not fail.
type purgeState int

const (
	stateStarted  purgeState = iota // this delivery created the invalidation: announced and followed
	stateRepeat                     // an earlier delivery created it: nothing new, nothing announced
	stateRetrying                   // CloudFront did not take it in time: a follow-up keeps creating it
)

// purge makes one CreateInvalidation call for j, the only CloudFront call
// of a purge that goes through. Only the delivery that created the
// invalidation announces it (the audit post) and follows it: a repeated
// delivery, a replay or a second click gets the existing invalidation from
// CloudFront and says so. A refusal for CloudFront's in-progress limits is
// explained with what is in flight, which is looked at only then. A purge
// CloudFront did not take in time (no answer, server errors or throttling
// after the SDK's retries) is handed to the follow-up, which keeps creating
// it with the same CallerReference; when nothing can carry it on (no
// follow-ups, no usable response_url), the error is returned.
func (h *Handler) purge(ctx context.Context, j purgeJob, rec *record) (slack.Purge, purgeState, error) {
	t := j.target
	batch := purge.Batch{DistributionID: t.DistributionID, CallerReference: j.callerReference(), Paths: j.paths}
	p := slack.Purge{
		Invalidation: &purge.Invalidation{DistributionID: t.DistributionID, Paths: j.paths},
		Target:       t.Name, UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested,
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		if time.Until(deadline) <= followupReserve {
			// The checks before took the budget: ask nothing rather than
			// hand on a purge CloudFront was never asked for.
			rec.err = purge.Errorf(purge.Unavailable, "cdnpurge ran out of time before it could ask CloudFront; nothing was purged, try again")
			return p, 0, rec.err
		}
		cctx, cancel = context.WithDeadline(ctx, deadline.Add(-followupReserve))
	}
	inv, err := h.opts.Invalidator.CreateInvalidation(cctx, batch)
	cancel()
	if err != nil {
		rec.err = err
		if purge.InProgressLimit(err) {
			if limit := h.checkInFlight(ctx, batch); limit != nil {
				rec.err = limit
			}
			return p, 0, rec.err
		}
		if followup.Retryable(err) && h.retry(ctx, j, batch, err) {
			rec.action += "_retrying"
			return p, stateRetrying, nil
		}
		return p, 0, err
	}
	rec.invalidation = inv.ID
	p.Invalidation = inv
	if !inv.New || !h.announced.Claim(t.DistributionID+"/"+inv.CallerReference) {
		return p, stateRepeat, nil
	}
	h.audit(p)
	if !inv.Done() {
		p.Following, p.NotFollowing = h.follow(ctx, followup.Request{
			Target: t.Name, DistributionID: inv.DistributionID, InvalidationID: inv.ID, ResponseURL: j.responseURL,
			UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested, Started: h.opts.Now(),
		})
	}
	return p, stateStarted, nil
}

// retry hands a purge CloudFront did not take to the follow-up, which keeps
// creating it with the same batch. It reports whether the follow-up took it.
func (h *Handler) retry(ctx context.Context, j purgeJob, batch purge.Batch, cause error) bool {
	if h.opts.Followups == nil || j.responseURL == "" {
		return false
	}
	if err := slack.CheckURL(j.responseURL, h.opts.Poster.AllowLoopback); err != nil {
		h.log.WarnContext(ctx, "purge not retried: response_url refused", "distribution", batch.DistributionID, "error", err)
		return false
	}
	err := h.opts.Followups.Schedule(ctx, followup.Request{
		Target: j.target.Name, DistributionID: batch.DistributionID, CallerReference: batch.CallerReference, Paths: batch.Paths,
		ResponseURL: j.responseURL, UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested,
		Started: h.opts.Now(), MayExist: purge.ErrorCode(cause) == purge.Unavailable,
	})
	if err != nil {
		h.log.ErrorContext(ctx, "purge not retried: follow-up not scheduled", "distribution", batch.DistributionID, "error", err)
		return false
	}
	return true
}

// checkInFlight explains a refusal for CloudFront's in-progress limits: the
// limit the batch would exceed and what is in flight, or nil when the look
// fails or finds room (the limit cleared meanwhile, or the look could not
// see it all), which leaves CloudFront's own message.
func (h *Handler) checkInFlight(ctx context.Context, batch purge.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, inFlightBudget)
	defer cancel()
	load, err := purge.InFlight(ctx, h.opts.Invalidator, batch.DistributionID)
	if err != nil {
		h.log.WarnContext(ctx, "in-progress limits not explained", "distribution", batch.DistributionID, "error", err)
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
	if h.auditor == nil {
		return
	}
	h.background(func() { h.auditor.Audit(context.Background(), p) }, "invalidation", p.Invalidation.ID)
}

// background runs f after the reply, counted for Wait. After the reply
// nothing recovers a panic but this: without it one bad post would stop the
// server with every request in flight.
func (h *Handler) background(f func(), logAttrs ...any) {
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("panic in a background delivery", append(logAttrs, "panic", v)...)
			}
		}()
		f()
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
