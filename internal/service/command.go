package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// listSize is how many invalidations `/cdn-purge list` shows.
const listSize = 10

// Command answers a verified slash command: the reply to send back, as
// data (slack.Render words it). It logs the request's record.
func (s *Service) Command(ctx context.Context, c Command) slack.Reply {
	start := time.Now()
	res, err := s.command(ctx, c)
	reply := res.reply
	if reply == nil {
		reply = slack.Failed{Err: err}
	}
	s.logRecord(ctx, start, &record{kind: KindCommand, team: c.TeamID, user: c.UserID, channelID: c.ChannelID, channelName: c.ChannelName, outcome: res.outcome, err: err})
	return reply
}

// Unreadable answers a verified request its transport could not decode
// (a body that is no form, a payload that is no JSON): it logs the
// request's record with err, and returns the reply a command gets.
func (s *Service) Unreadable(ctx context.Context, kind Kind, err error) slack.Reply {
	action := ""
	if kind == KindClick {
		action = "ignored"
	}
	s.logRecord(ctx, time.Now(), &record{kind: kind, outcome: outcome{action: action}, err: err})
	return slack.Failed{Err: err}
}

// result is what the flow made of a request: the reply (nil for the error
// message of the error returned with it) and, for the log record, what was
// done.
type result struct {
	reply slack.Reply
	outcome
}

// command turns a verified slash command into its reply. The error is the
// request's outcome for the log; a reply that is not nil goes out all the
// same (a purge retried after CloudFront's error, usage partly counted).
func (s *Service) command(ctx context.Context, c Command) (result, error) {
	// Everything below, Slack's user-group look-ups included, shares the
	// reply budget.
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReplyBudget)
	defer cancel()
	who := access.Who{UserID: c.UserID, ChannelID: c.ChannelID, ChannelName: c.ChannelName}
	cmd, err := purge.ParseCommand(slack.PlainText(c.Text))
	if err == nil && cmd.Action == purge.ActionHelp {
		help := slack.Help{Command: c.Command, Here: s.summaries(s.policy.Here(ctx, who)), Named: s.opts.Targets.Default().Name != "", Everywhere: s.channels}
		return result{reply: help, outcome: outcome{action: "help"}}, nil
	}
	res := result{outcome: outcome{action: cmd.Action.String()}}
	if !s.channels.Allows(c.ChannelID, c.ChannelName) {
		res.reply = slack.ChannelRefused{Allowed: s.channels}
		return res, &purge.Error{Code: purge.PermissionDenied, Message: "channel not allowed", Err: &access.Refusal{Rule: access.RuleChannels}}
	}
	if err != nil {
		return res, err
	}
	switch cmd.Action {
	case purge.ActionTargets:
		here := s.policy.Here(ctx, who)
		res.reply = slack.TargetList{Here: s.summaries(here), Others: len(s.opts.Targets.All()) - len(here)}
		return res, nil
	case purge.ActionUsage:
		res.reply, err = s.usage(ctx, who)
		return res, err
	}
	if cmd.Action == purge.ActionPurge && len(cmd.Targets) > 1 {
		return s.purgeMany(ctx, c, who, cmd, res)
	}
	t, err := s.policy.Resolve(ctx, who, cmd)
	if err != nil {
		return res, err
	}
	res.target = t.Name
	switch cmd.Action {
	case purge.ActionStatus, purge.ActionList:
		if err := s.policy.CheckChannel(ctx, t, who); err != nil {
			return res, err
		}
		if cmd.Action == purge.ActionStatus {
			res.reply, res.invalidation, err = s.status(ctx, t, cmd.ID)
			return res, err
		}
		res.reply, err = s.list(ctx, t)
		return res, err
	}
	res.paths = cmd.Paths
	if err := s.checkPurge(ctx, t, who, cmd); err != nil {
		return res, err
	}
	if needed, why := t.Confirm.Needed(cmd.Paths); needed {
		res.action = "confirm"
		res.reply, err = s.askApproval(c, t, cmd, why)
		return res, err
	}
	job := purgeJob{
		target: t, userID: c.UserID, channelID: c.ChannelID, token: c.Token,
		paths: s.jobPaths(t, cmd), items: cmd.Items, requested: cmd.Requested, responseURL: c.ResponseURL,
	}
	return s.purgeAndReply(ctx, job, res)
}

// purgeMany answers a purge that names several targets ("/cdn-purge www
// shop /index.html"): each target is resolved and checked on its own
// rules and by its provider, and all must pass or nothing is purged; then
// they are purged at once, and one reply has a line per target. A target
// whose rules want an approval for this purge is refused: an approval
// request holds one target. No follow-up replaces the reply, which speaks
// for several purges; `status` follows each.
func (s *Service) purgeMany(ctx context.Context, c Command, who access.Who, cmd purge.Command, res result) (result, error) {
	res.paths = cmd.Paths
	// A later word that names no target is a path missing its slash, and
	// says so before anything else is looked at: "/cdn-purge www blog /a"
	// said that of blog before targets could be several.
	for _, name := range cmd.Targets[1:] {
		if s.opts.Targets.Named(name) == nil {
			if err := cmd.NotATarget(name); err != nil {
				return res, err
			}
		}
	}
	ts := make([]*access.Target, 0, len(cmd.Targets))
	for _, name := range cmd.Targets {
		one := cmd
		one.Target, one.Targets = name, []string{name}
		t, err := s.policy.Resolve(ctx, who, one)
		if err != nil {
			return res, err
		}
		if err := s.checkPurge(ctx, t, who, cmd); err != nil {
			return res, err
		}
		if needed, _ := t.Confirm.Needed(cmd.Paths); needed {
			return res, purge.Errorf(purge.Invalid, "`%s` asks for an approval of this purge, and an approval request holds one target: purge `%s` on its own, then the others", t.Name, t.Name)
		}
		ts = append(ts, t)
	}
	names := make([]string, len(ts))
	results := make([]slack.TargetPurge, len(ts))
	// Targets on one distribution share its cache, and a purge of it: the
	// first purges, the others say so (a second invalidation would be
	// billed for nothing).
	first := map[string]string{}
	var wg sync.WaitGroup
	for i, t := range ts {
		names[i] = t.Name
		if t.DistributionID != "" {
			if name, ok := first[t.DistributionID]; ok {
				results[i] = slack.TargetPurge{Purge: slack.Purge{Target: t.Name, Provider: s.provider(t).Capabilities().Provider,
					Invalidation: &purge.Invalidation{DistributionID: t.DistributionID}}, SameAs: name}
				continue
			}
			first[t.DistributionID] = t.Name
		}
		wg.Go(func() {
			p, err := s.purge(ctx, purgeJob{
				target: t, userID: c.UserID, channelID: c.ChannelID, token: c.Token,
				paths: s.jobPaths(t, cmd), items: cmd.Items, requested: cmd.Requested,
			})
			results[i] = slack.TargetPurge{Purge: p.Purge, Repeat: p.state == stateRepeat, Err: err}
		})
	}
	wg.Wait()
	res.target = strings.Join(names, ",")
	res.reply = slack.ManyPurged{Results: results, UserID: c.UserID}
	var errs []error
	for i, r := range results {
		if r.SameAs != "" {
			continue
		}
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("target %q: %w", names[i], r.Err))
		} else if res.invalidation == "" {
			res.invalidation = r.Purge.Invalidation.ID
		}
	}
	return res, errors.Join(errs...)
}

// checkPurge checks a purge of cmd on t: the target's rules, then what its
// provider can purge, so that a request it cannot do is refused before
// anything is sent or an approval asked for.
func (s *Service) checkPurge(ctx context.Context, t *access.Target, who access.Who, cmd purge.Command) error {
	if err := s.policy.CheckPurge(ctx, t, who, cmd.Paths); err != nil {
		return err
	}
	prov := s.provider(t)
	if err := prov.Capabilities().Check(cmd.Items); err != nil {
		return err
	}
	if c, ok := prov.(purge.ItemChecker); ok {
		return c.CheckItems(cmd.Items)
	}
	return nil
}

// provider returns t's purge.Provider, made in New: its own, or
// CloudFront's through Options.Invalidator. Every target the flow sees is
// one of Options.Targets.
func (s *Service) provider(t *access.Target) purge.Provider { return s.providers[t] }

// jobPaths is what a purge of cmd on t names, for its messages and its
// approval request: the paths a provider with a history (CloudFront)
// records, pasted URLs reduced to their paths; for the others the items as
// typed, pasted URLs whole, since the host is part of what they purge.
func (s *Service) jobPaths(t *access.Target, cmd purge.Command) []string {
	if s.provider(t).Capabilities().History {
		return cmd.Paths
	}
	return purge.ItemStrings(cmd.Items)
}

// itemsOf turns the paths of an approval request back into items.
func itemsOf(paths []string) []purge.Item {
	out := make([]purge.Item, len(paths))
	for i, p := range paths {
		out[i] = purge.ItemOf(p)
	}
	return out
}

// purgeAndReply makes job's purge and puts its reply in res. The answer to
// an approval click (job.approvedBy set) replaces the approval request, and
// a repeat of it is an approval already made: CloudFront answered with an
// invalidation made before this click, with this approver's
// CallerReference, the same person's click on another copy of the service.
func (s *Service) purgeAndReply(ctx context.Context, job purgeJob, res result) (result, error) {
	click := job.approvedBy != ""
	p, err := s.purge(ctx, job)
	res.invalidation = p.invalidation()
	switch {
	case p.state == stateFailed:
		return res, err
	case p.state == stateRepeat && click:
		res.action = "approve_repeat"
		res.reply = slack.AlreadyApproved{Target: job.target.Name, Invalidation: p.Invalidation, Now: s.opts.Now(), Provider: p.Provider, Synchronous: p.Synchronous}
	case p.state == stateRepeat:
		res.action = "purge_repeat"
		res.reply = slack.Repeat{Target: job.target.Name, Invalidation: p.Invalidation, Now: s.opts.Now(), Provider: p.Provider, Synchronous: p.Synchronous}
	case p.state == stateRetrying:
		res.action += "_retrying"
		res.reply = slack.Retrying{Purge: p.Purge, Paths: job.paths, Err: err, ReplaceOriginal: click}
	default:
		res.reply = slack.Started{Purge: p.Purge, ReplaceOriginal: click}
	}
	return res, err
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
	token string
	// paths are what the messages show (see jobPaths); items what the
	// provider purges.
	paths       []string
	items       []purge.Item
	requested   int
	responseURL string
}

func (j purgeJob) callerReference() string {
	if j.approvedBy != "" {
		return purge.ApprovedCallerReference(j.userID, j.approvedBy, j.token)
	}
	return purge.SlackCallerReference(j.userID, j.token)
}

// purgeState is what became of a purge.
type purgeState int

const (
	stateFailed   purgeState = iota // not made: the error says why
	stateStarted                    // this delivery created the invalidation: announced and followed
	stateRepeat                     // an earlier delivery created it: nothing new, nothing announced
	stateRetrying                   // CloudFront did not take it in time: a follow-up keeps creating it
)

// purged is what the messages show of a purge, and what became of it.
type purged struct {
	slack.Purge
	state purgeState
}

// invalidation is the ID of the invalidation made, or "" when none was.
func (p purged) invalidation() string { return p.Invalidation.ID }

// purge makes one purge for j through the target's provider: for
// CloudFront one CreateInvalidation call, the only call of a purge that
// goes through. Only the delivery that made the purge announces it (the
// audit post) and follows it: a repeated delivery, a replay or a second
// click gets the existing invalidation from an idempotent provider
// (CloudFront) and says so; for a provider that is not idempotent the
// purge is claimed in this process before it is made, so that a repeat
// here purges nothing again. A refusal for CloudFront's in-progress limits
// is explained with what is in flight, which is looked at only then. A
// purge an idempotent provider with a status (CloudFront) did not take in
// time (no answer, server errors or throttling after the SDK's retries) is
// handed to the follow-up, which keeps creating it with the same
// CallerReference: then its state is stateRetrying, and the error is
// CloudFront's. When nothing can carry it on (no follow-ups, no usable
// response_url, a provider that could purge twice), the state is
// stateFailed.
func (s *Service) purge(ctx context.Context, j purgeJob) (purged, error) {
	p, err := s.makePurge(ctx, j)
	l := s.labels[j.target]
	s.metrics.Purge(l[0], l[1], p.outcome(err))
	return p, err
}

// outcome is the outcome label of a purge that became p with err.
func (p purged) outcome(err error) string {
	switch {
	case p.state == stateStarted:
		return "ok"
	case p.state == stateRepeat:
		return "repeat"
	case p.state == stateRetrying:
		return "retrying"
	case errors.Is(err, purge.ErrPartial):
		return "partial"
	}
	return "failed"
}

// makePurge is purge, uncounted.
func (s *Service) makePurge(ctx context.Context, j purgeJob) (purged, error) {
	t := j.target
	prov := s.provider(t)
	caps := prov.Capabilities()
	ref := j.callerReference()
	p := purged{Purge: slack.Purge{
		Invalidation: &purge.Invalidation{DistributionID: t.DistributionID, Paths: j.paths},
		Target:       t.Name, UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested,
		Provider: caps.Provider, Synchronous: !caps.Status, Soft: caps.Soft,
	}}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		if time.Until(deadline) <= followupReserve {
			// The checks before took the budget: ask nothing rather than
			// hand on a purge the provider was never asked for.
			return p, purge.Errorf(purge.Unavailable, "cdnpurge ran out of time before it could ask %s; nothing was purged, try again", caps.Provider)
		}
		cctx, cancel = context.WithDeadline(ctx, deadline.Add(-followupReserve))
	}
	// The follow-ups claim CloudFront's invalidations by distribution and
	// CallerReference; the purges of other providers are claimed by target.
	key := t.DistributionID + "/" + ref
	if !caps.History {
		key = "target " + t.Name + "/" + ref
	}
	if !caps.Idempotent && !s.announced.Claim(key) {
		cancel()
		p.Invalidation.Status, p.Invalidation.CallerReference = purge.StatusCompleted, ref
		p.state = stateRepeat
		return p, nil
	}
	inv, err := prov.Purge(cctx, purge.Request{Reference: ref, Items: j.items})
	cancel()
	if err != nil && !caps.Idempotent {
		// Not made, or made in part: a retry must be free to purge, and
		// what did go through is announced, as the record it is.
		s.announced.Release(key)
		if errors.Is(err, purge.ErrPartial) && inv != nil {
			if inv.CallerReference == "" {
				inv.CallerReference = ref
			}
			p.Invalidation = inv
			s.audit(p.Purge)
		}
		return p, err
	}
	if err != nil {
		batch := purge.Batch{DistributionID: t.DistributionID, CallerReference: ref, Paths: j.paths}
		if purge.InProgressLimit(err) {
			if limit := s.checkInFlight(ctx, batch); limit != nil {
				return p, limit
			}
			return p, err
		}
		if caps.Idempotent && caps.Status && followup.Retryable(err) && s.retry(ctx, j, batch, err) {
			p.state = stateRetrying
		}
		return p, err
	}
	if inv.CallerReference == "" {
		inv.CallerReference = ref
	}
	p.Invalidation = inv
	if caps.Idempotent && (!inv.New || !s.announced.Claim(key)) {
		p.state = stateRepeat
		return p, nil
	}
	s.audit(p.Purge)
	if !inv.Done() && caps.Status {
		p.Following, p.NotFollowing = s.follow(ctx, followup.Request{
			Target: t.Name, DistributionID: inv.DistributionID, InvalidationID: inv.ID, ResponseURL: j.responseURL,
			UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested, Started: s.opts.Now(),
		})
	}
	p.state = stateStarted
	return p, nil
}

// retry hands a purge CloudFront did not take to the follow-up, which keeps
// creating it with the same batch. It reports whether the follow-up took it.
func (s *Service) retry(ctx context.Context, j purgeJob, batch purge.Batch, cause error) bool {
	if s.opts.Followups == nil || j.responseURL == "" {
		return false
	}
	if err := slack.CheckURL(j.responseURL, s.opts.Poster.AllowLoopback); err != nil {
		s.log.WarnContext(ctx, "purge not retried: response_url refused", "distribution", batch.DistributionID, "error", err)
		return false
	}
	err := s.opts.Followups.Schedule(ctx, followup.Request{
		Target: j.target.Name, DistributionID: batch.DistributionID, CallerReference: batch.CallerReference, Paths: batch.Paths,
		ResponseURL: j.responseURL, UserID: j.userID, ApprovedBy: j.approvedBy, ChannelID: j.channelID, Requested: j.requested,
		Started: s.opts.Now(), MayExist: purge.ErrorCode(cause) == purge.Unavailable,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "purge not retried: follow-up not scheduled", "distribution", batch.DistributionID, "error", err)
		return false
	}
	return true
}

// checkInFlight explains a refusal for CloudFront's in-progress limits: the
// limit the batch would exceed and what is in flight, or nil when the look
// fails or finds room (the limit cleared meanwhile, or the look could not
// see it all), which leaves CloudFront's own message.
func (s *Service) checkInFlight(ctx context.Context, batch purge.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, inFlightBudget)
	defer cancel()
	load, err := cloudfrontcdn.InFlight(ctx, s.opts.Invalidator, batch.DistributionID)
	if err != nil {
		s.log.WarnContext(ctx, "in-progress limits not explained", "distribution", batch.DistributionID, "error", err)
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
func (s *Service) audit(p slack.Purge) {
	if s.auditor == nil {
		return
	}
	s.background(func() { s.auditor.Audit(context.Background(), p) }, "invalidation", p.Invalidation.ID)
}

// follow schedules the follow-up of an invalidation. It reports whether the
// message will be updated, or why not, for the reply to say.
func (s *Service) follow(ctx context.Context, req followup.Request) (bool, string) {
	if s.opts.Followups == nil {
		return false, ""
	}
	later := "check later with `/cdn-purge status " + req.InvalidationID + "`"
	if req.ResponseURL == "" {
		return false, later
	}
	if err := slack.CheckURL(req.ResponseURL, s.opts.Poster.AllowLoopback); err != nil {
		s.log.WarnContext(ctx, "not following: response_url refused", "invalidation", req.InvalidationID, "error", err)
		return false, later
	}
	if err := s.opts.Followups.Schedule(ctx, req); err != nil {
		s.log.ErrorContext(ctx, "not following: follow-up not scheduled", "invalidation", req.InvalidationID, "error", err)
		return false, later
	}
	return true, ""
}

// status answers `/cdn-purge status [TARGET] [ID]`: one invalidation, or
// the latest, and its ID.
func (s *Service) status(ctx context.Context, t *access.Target, id string) (slack.Reply, string, error) {
	if caps := s.provider(t).Capabilities(); !caps.History {
		return slack.NoHistory{Target: t.Name, Provider: caps.Provider}, "", nil
	}
	if id == "" {
		page, err := s.opts.Invalidator.ListInvalidations(ctx, t.DistributionID, purge.ListOptions{MaxItems: 1})
		if err != nil {
			return nil, "", err
		}
		if len(page.Items) == 0 {
			return slack.List{Target: t.Name, DistributionID: t.DistributionID, Now: s.opts.Now()}, "", nil
		}
		id = page.Items[0].ID
	}
	inv, err := s.opts.Invalidator.GetInvalidation(ctx, t.DistributionID, id)
	if err != nil {
		return nil, "", err
	}
	return slack.Status{Target: t.Name, Invalidation: inv, Now: s.opts.Now()}, inv.ID, nil
}

// list answers `/cdn-purge list [TARGET]`: recent invalidations, newest
// first.
func (s *Service) list(ctx context.Context, t *access.Target) (slack.Reply, error) {
	if caps := s.provider(t).Capabilities(); !caps.History {
		return slack.NoHistory{Target: t.Name, Provider: caps.Provider}, nil
	}
	page, err := s.opts.Invalidator.ListInvalidations(ctx, t.DistributionID, purge.ListOptions{MaxItems: listSize})
	if err != nil {
		return nil, err
	}
	items := page.Items
	if len(items) > listSize {
		items = items[:listSize]
	}
	return slack.List{Target: t.Name, DistributionID: t.DistributionID, Items: items, Now: s.opts.Now()}, nil
}

// summaries describes targets for the help and targets messages.
func (s *Service) summaries(ts []*access.Target) []slack.TargetSummary {
	out := make([]slack.TargetSummary, len(ts))
	for i, t := range ts {
		out[i] = slack.TargetSummary{
			Name: t.Name, DistributionID: t.DistributionID, Provider: s.provider(t).Capabilities().Provider, Default: t == s.opts.Targets.Default(),
			Domains: t.Domains, Channels: t.Channels, Paths: t.Paths, Confirm: t.Confirm.Mode,
		}
	}
	return out
}
