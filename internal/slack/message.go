package slack

import (
	"errors"
	"fmt"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// maxListedPaths is how many paths a message lists before it summarizes the
// rest, however short they are; longer paths stop the list sooner (see
// pathList).
const maxListedPaths = 20

// Every message is a *slackapi.WebhookMessage: the same JSON serves as the
// synchronous reply to a command, a response_url post and a webhook post
// (slackapi.Msg would add an empty "metadata" object Slack does not expect).

// Purge is what the messages about one invalidation show.
type Purge struct {
	Invalidation *purge.Invalidation
	// Target is the name of the target purged; empty for the single target
	// configured from the environment, which messages name by its
	// distribution.
	Target string
	// UserID is the Slack user who asked; empty when unknown.
	UserID string
	// ChannelID is where it was asked.
	ChannelID string
	// Requested is how many items the user typed, before duplicates and
	// covered paths were dropped.
	Requested int
	// ApprovedBy is the user who approved the purge, when one had to.
	ApprovedBy string
	// Following says the message will be replaced when the invalidation
	// completes; NotFollowing says why it will not (empty: say nothing).
	Following    bool
	NotFollowing string
	// Provider names the CDN as users read it ("Cloudflare"); Synchronous
	// says its purges are done when it answers, with no status to follow
	// (Capabilities.Status false): the messages then say purged, not
	// purging, and name the provider instead of an invalidation.
	Provider    string
	Synchronous bool
	// Soft says the provider marks objects stale rather than evicting them
	// (Capabilities.Soft).
	Soft bool
}

// StartedMessage is the in_channel reply to a purge: the invalidation ID,
// the distribution, the paths and who asked.
func StartedMessage(p Purge) *slackapi.WebhookMessage {
	if p.Synchronous {
		return purgedMessage(p)
	}
	inv := p.Invalidation
	// Concatenation, not fmt.Sprintf: this is every purge's reply.
	head := capMrkdwn(":broom: Purging "+pathCount(len(inv.Paths))+" on "+TargetRef(p.Target, inv.DistributionID), maxHead)
	text := head + " (invalidation " + escapeWithin(inv.ID, maxRef) + ")"
	return &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeInChannel,
		Text:         text,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, inv.Paths)),
			slackapi.NewContextBlock("", contextElements(p, statusLine(inv, time.Time{}))...),
		}},
	}
}

// purgedMessage is the in_channel reply to a purge a provider made at once
// (Purge.Synchronous): what was purged, where, through how many requests,
// and who asked.
func purgedMessage(p Purge) *slackapi.WebhookMessage {
	inv := p.Invalidation
	head := capMrkdwn(":white_check_mark: Purged "+itemCount(len(inv.Paths))+" on "+providerRef(p), maxHead)
	parts := []string{escapeWithin(p.Provider, maxRef) + " purged it at once"}
	if inv.ID != "" && !strings.Contains(inv.ID, ",") {
		parts[0] += " (purge `" + escapeWithin(inv.ID, maxRef) + "`)"
	}
	if inv.Requests > 1 {
		parts = append(parts, fmt.Sprintf("in %d requests", inv.Requests))
	}
	if p.UserID != "" {
		parts = append(parts, "requested by <@"+Escape(p.UserID)+">")
	}
	if p.ApprovedBy != "" {
		parts = append(parts, "approved by <@"+Escape(p.ApprovedBy)+">")
	}
	if dropped := p.Requested - len(inv.Paths); dropped > 0 {
		parts = append(parts, itemCount(dropped)+" dropped as duplicate")
	}
	return &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeInChannel,
		Text:         head,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, inv.Paths)),
			slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, capMrkdwn(strings.Join(parts, " · "), MaxContextText), false, false)),
		}},
	}
}

// ManyPurgedMessage is the reply to a purge of several targets: a line per
// target saying what became of its purge, then the items. It is posted in
// the channel when any purge was made, and only to the requester when none
// was.
func ManyPurgedMessage(r ManyPurged) *slackapi.WebhookMessage {
	made := 0
	lines := make([]string, len(r.Results))
	var items []string
	for i, tp := range r.Results {
		p := tp.Purge
		inv := p.Invalidation
		if items == nil && tp.SameAs == "" {
			items = inv.Paths
		}
		ref := providerRef(p)
		switch {
		case tp.SameAs != "":
			lines[i] = ":link: " + ref + ": the same distribution as " + TargetRef(tp.SameAs, "") + ", purged with it"
		case tp.Err != nil:
			icon := ":x:"
			if purge.Temporary(tp.Err) {
				icon = ":warning:"
			}
			lines[i] = icon + " " + ref + ": not purged: " + whyWithin(tp.Err, maxWhy)
		case tp.Repeat && inv.ID != "":
			lines[i] = ":information_source: " + ref + ": already taken, invalidation `" + escapeWithin(inv.ID, maxRef) + "`; nothing new"
		case tp.Repeat:
			lines[i] = ":information_source: " + ref + ": already taken; nothing new"
		case p.Synchronous:
			made++
			lines[i] = ":white_check_mark: " + ref + ": purged " + itemCount(len(inv.Paths))
			if inv.Requests > 1 {
				lines[i] += fmt.Sprintf(" in %d requests", inv.Requests)
			}
		default:
			made++
			lines[i] = ":broom: " + ref + ": purging " + pathCount(len(inv.Paths)) + ", invalidation `" + escapeWithin(inv.ID, maxRef) + "`: " +
				"check with `/cdn-purge status " + escapeWithin(p.Target, maxRef) + " " + escapeWithin(inv.ID, maxRef) + "`"
		}
	}
	head := fmt.Sprintf(":broom: Purge on %s", count(len(r.Results), "target", "targets"))
	if r.UserID != "" {
		head += ", requested by <@" + Escape(r.UserID) + ">"
	}
	head = capMrkdwn(head, maxHead)
	msg := &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeInChannel,
		Text:         head,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, items)),
			markdownSection(joinWithin(lines, "\n", MaxSectionText, "targets")),
		}},
	}
	if made == 0 {
		msg.ResponseType = slackapi.ResponseTypeEphemeral
	}
	return msg
}

// whyWithin is the user's message of err in at most max runes: a refusal
// as access words it, anything else escaped.
func whyWithin(err error, max int) string {
	var r *access.Refusal
	var np *access.NotAPath
	if errors.As(err, &r) || errors.As(err, &np) {
		return capMrkdwn(userMessage(err), max)
	}
	return escapeWithin(purge.ErrorMessage(err), max)
}

// providerRef names the target of a purge with its provider: `shop`
// (Cloudflare), and says when its purges are soft.
func providerRef(p Purge) string {
	soft := ""
	if p.Soft {
		soft = ", soft: marked stale, not evicted"
	}
	return TargetRef(p.Target, p.Invalidation.DistributionID) + " (" + escapeWithin(p.Provider, maxRef) + soft + ")"
}

func itemCount(n int) string { return count(n, "item", "items") }

// CompletedMessage replaces the reply once the invalidation has completed,
// or says that it is still running when the watch ended first.
func CompletedMessage(p Purge, now time.Time) *slackapi.WebhookMessage {
	inv := p.Invalidation
	var head string
	if inv.Done() {
		head = fmt.Sprintf(":white_check_mark: Purged %s on %s", pathCount(len(inv.Paths)), TargetRef(p.Target, inv.DistributionID))
	} else {
		head = fmt.Sprintf(":hourglass_flowing_sand: Still purging %s on %s", pathCount(len(inv.Paths)), TargetRef(p.Target, inv.DistributionID))
		p.Following = false
		// The command names the target, so that it also works where the
		// target is not the channel's default.
		// Escaped where the context line is written.
		check := "/cdn-purge status " + inv.ID
		if p.Target != "" {
			check = "/cdn-purge status " + p.Target + " " + inv.ID
		}
		p.NotFollowing = "no longer watched: check with `" + check + "`"
	}
	head = capMrkdwn(head, maxHead)
	return &slackapi.WebhookMessage{
		ResponseType:    slackapi.ResponseTypeInChannel,
		ReplaceOriginal: true,
		Text:            head + " (invalidation " + escapeWithin(inv.ID, maxRef) + ")",
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, inv.Paths)),
			slackapi.NewContextBlock("", contextElements(p, statusLine(inv, now))...),
		}},
	}
}

// AuditMessage is the record posted to the audit webhook for a purge: who
// purged what where, and who approved it when someone had to.
func AuditMessage(p Purge) *slackapi.WebhookMessage {
	inv := p.Invalidation
	who := "someone"
	if p.UserID != "" {
		who = "<@" + Escape(p.UserID) + ">"
	}
	where := ""
	if p.ChannelID != "" {
		where = " in <#" + Escape(p.ChannelID) + ">"
	}
	on := "`" + escapeWithin(inv.DistributionID, maxRef) + "`"
	if p.Target != "" {
		on = "`" + escapeWithin(p.Target, maxRef) + "` (" + on + ")"
	}
	text := fmt.Sprintf("%s%s purged %s on %s (invalidation `%s`)", who, where, pathCount(len(inv.Paths)), on, escapeWithin(inv.ID, maxRef))
	if p.Synchronous {
		text = who + where + " purged " + itemCount(len(inv.Paths)) + " on " + providerRef(p)
		if inv.ID != "" {
			// Every ID, one a request: the audit is the record.
			text += ", purge `" + escapeWithin(inv.ID, maxHead/2) + "`"
		}
	}
	if p.ApprovedBy != "" {
		text += ", approved by <@" + Escape(p.ApprovedBy) + ">"
	}
	text = capMrkdwn(text, maxHead)
	return &slackapi.WebhookMessage{
		Text: text,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(text, inv.Paths)),
		}},
	}
}

// ErrorMessage is the ephemeral reply for a request that failed: the
// user-safe message of err (see purge.ErrorMessage), or the words of an
// access refusal, never its detail.
func ErrorMessage(err error) *slackapi.WebhookMessage {
	icon := ":x:"
	switch {
	case purge.Temporary(err):
		icon = ":warning:"
	case purge.ErrorCode(err) == purge.PermissionDenied:
		icon = ":no_entry:"
	}
	// The message is mrkdwn already; room is kept for what follows it.
	msg := capMrkdwn(userMessage(err), MaxSectionText-100)
	if purge.ErrorCode(err) == purge.Invalid {
		msg += "\nNothing was purged. Try `/cdn-purge help`."
	}
	return EphemeralMessage(icon + " " + msg)
}

// RefusedChannelMessage is the ephemeral reply in a channel that may not
// purge; it names the channels that may.
func RefusedChannelMessage(allowed []string) *slackapi.WebhookMessage {
	return EphemeralMessage(":no_entry: This channel may not purge the cache (rule: channels). Nothing was purged.\nAsk in " + ChannelList(allowed) + ".")
}

// EphemeralMessage is a reply only the requester sees. text is mrkdwn; a
// text longer than a section allows is cut (see MaxSectionText), never
// within a character, an entity or a mention.
func EphemeralMessage(text string) *slackapi.WebhookMessage {
	text = capMrkdwn(text, MaxSectionText)
	return &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeEphemeral,
		Text:         text,
		Blocks:       &slackapi.Blocks{BlockSet: []slackapi.Block{markdownSection(text)}},
	}
}

// markdownSection is a section of mrkdwn text, cut to MaxSectionText when
// longer.
func markdownSection(text string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, capMrkdwn(text, MaxSectionText), false, false), nil, nil)
}

// headAndPaths is a section's text: head, at most maxHead long, and on the
// next lines as many of the paths as the rest of the section holds.
func headAndPaths(head string, paths []string) string {
	return head + "\n" + pathList(paths, MaxSectionText-runeCount(head)-1)
}

func contextElements(p Purge, status string) []slackapi.MixedElement {
	parts := []string{"Invalidation `" + escapeWithin(p.Invalidation.ID, maxRef) + "`", status, billedPaths(len(p.Invalidation.Paths))}
	if p.UserID != "" {
		parts = append(parts, "requested by <@"+Escape(p.UserID)+">")
	}
	if p.ApprovedBy != "" {
		parts = append(parts, "approved by <@"+Escape(p.ApprovedBy)+">")
	}
	if dropped := p.Requested - len(p.Invalidation.Paths); dropped > 0 {
		parts = append(parts, fmt.Sprintf("%s dropped as duplicate or already covered", pathCount(dropped)))
	}
	if !p.Invalidation.Done() {
		switch {
		case p.Following:
			parts = append(parts, "this message will update when CloudFront is done")
		case p.NotFollowing != "":
			parts = append(parts, escapeWithin(p.NotFollowing, maxWhy))
		}
	}
	return []slackapi.MixedElement{slackapi.NewTextBlockObject(slackapi.MarkdownType, capMrkdwn(strings.Join(parts, " · "), MaxContextText), false, false)}
}

func statusLine(inv *purge.Invalidation, now time.Time) string {
	if inv.Done() {
		if !now.IsZero() && !inv.CreateTime.IsZero() {
			return fmt.Sprintf("Completed in %s", now.Sub(inv.CreateTime).Round(time.Second))
		}
		return "Completed"
	}
	if !now.IsZero() && !inv.CreateTime.IsZero() {
		return fmt.Sprintf("In progress for %s", now.Sub(inv.CreateTime).Round(time.Second))
	}
	return "In progress"
}

// pathList renders paths as a code block, one a line, in at most max runes
// (max ≥ 2×maxShownPath): at most maxListedPaths of them, each shortened to
// maxShownPath, as many as fit, and then how many were left out
// ("…and 2,981 more").
func pathList(paths []string, max int) string {
	shown := paths
	if len(shown) > maxListedPaths {
		shown = shown[:maxListedPaths]
	}
	// An array, not make: it stays on the stack of every reply.
	var buf [maxListedPaths]string
	lines := buf[:len(shown)]
	for i, p := range shown {
		lines[i] = escapeWithin(p, maxShownPath)
	}
	// The fences take 6 of max.
	k := fitting(lines, len(paths), "\n", max-len("``````"), "")
	var b strings.Builder
	b.WriteString("```")
	for i, l := range lines[:k] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	b.WriteString("```")
	if rest := len(paths) - k; rest > 0 {
		b.WriteString("\n" + andMore(rest, ""))
	}
	return b.String()
}

// billedPaths says what a purge costs in CloudFront's unit: each path, wildcard
// or cache tag sent is one billed path.
func billedPaths(n int) string { return count(n, "billed path", "billed paths") }

// TargetRef names what a message is about: the target by name, or, for the
// unnamed single target, its distribution ID.
func TargetRef(target, distributionID string) string {
	if target != "" {
		return "`" + escapeWithin(target, maxRef) + "`"
	}
	return "`" + escapeWithin(distributionID, maxRef) + "`"
}

func pathCount(n int) string { return count(n, "path", "paths") }

// channelRef renders an allowed channel: a mention for an ID, #name for a
// name.
func channelRef(c string) string {
	if access.IsChannelID(c) {
		return "<#" + c + ">"
	}
	return "#" + escapeWithin(strings.TrimPrefix(c, "#"), maxRef)
}

// Escape applies Slack's three mrkdwn escapes (Unescape undoes them);
// slack-go has no helper for it. The replacer is built once, not per call.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return mrkdwnEscaper.Replace(s)
}

// mrkdwnEscaper is safe for concurrent use and builds its table on first use.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Action IDs of the approval buttons.
const (
	ActionApprove = "cdnpurge_approve"
	ActionCancel  = "cdnpurge_cancel"
)

// ConfirmMessage asks the channel to approve a purge: in_channel, so that
// someone else can click, with Approve and Cancel buttons carrying the sealed
// request.
// With r.ApproversLimited, only the people the target's rules allow may
// approve, and the message says so.
func ConfirmMessage(r ApprovalAsked) *slackapi.WebhookMessage {
	p, sealed, why, approverMustDiffer, approversLimited := r.Pending, r.Sealed, r.Why, r.ApproverMustDiffer, r.ApproversLimited
	who := "<@" + Escape(p.UserID) + ">"
	head := capMrkdwn(fmt.Sprintf(":raised_hand: %s wants to purge %s on %s: %s.", who, pathCount(len(p.Paths)), TargetRef(p.Target, p.DistributionID), escapeWithin(why, maxWhy)), maxHead)
	anyone := "Anyone in this channel"
	if approversLimited {
		anyone = "Anyone who may purge " + TargetRef(p.Target, p.DistributionID)
	}
	note := anyone + " may approve."
	if approverMustDiffer {
		note = anyone + " other than " + who + " may approve."
	}
	note += fmt.Sprintf(" The request expires %s.", time.Unix(p.Expires, 0).UTC().Format("15:04 MST"))
	approve := slackapi.NewButtonBlockElement(ActionApprove, sealed, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Approve", false, false))
	approve.Style = slackapi.StylePrimary
	cancel := slackapi.NewButtonBlockElement(ActionCancel, sealed, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false))
	cancel.Style = slackapi.StyleDanger
	return &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeInChannel,
		Text:         head,
		Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			markdownSection(headAndPaths(head, p.Paths)),
			slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, capMrkdwn(note, MaxContextText), false, false)),
			slackapi.NewActionBlock("cdnpurge_confirm", approve, cancel),
		}},
	}
}

// ClosedMessage replaces an approval request that ended without a purge
// (cancelled, expired), so that its buttons go away.
func ClosedMessage(p Pending, text string) *slackapi.WebhookMessage {
	head := capMrkdwn(text+fmt.Sprintf(" Nothing was purged (%s on %s).", pathCount(len(p.Paths)), TargetRef(p.Target, p.DistributionID)), maxHead)
	return &slackapi.WebhookMessage{
		ResponseType:    slackapi.ResponseTypeInChannel,
		ReplaceOriginal: true,
		Text:            head,
		Blocks:          &slackapi.Blocks{BlockSet: []slackapi.Block{markdownSection(headAndPaths(head, p.Paths))}},
	}
}

// StatusMessage shows one invalidation, ephemerally: status, age, paths and
// who asked when CloudFront's record says so.
func StatusMessage(target string, inv *purge.Invalidation, now time.Time) *slackapi.WebhookMessage {
	icon, state := ":hourglass_flowing_sand:", "in progress"
	if inv.Done() {
		icon, state = ":white_check_mark:", "completed"
	}
	who := "not cdnpurge (console or another tool)"
	switch source, user := purge.Requester(inv.CallerReference); {
	case user != "":
		who = "<@" + Escape(user) + ">"
	case source == "cli":
		who = "the cdnpurge command line"
	case source == "slack":
		who = "someone in Slack"
	}
	head := capMrkdwn(fmt.Sprintf("%s Invalidation `%s` on %s is %s: created %s ago by %s.",
		icon, escapeWithin(inv.ID, maxRef), TargetRef(target, inv.DistributionID), state, age(now.Sub(inv.CreateTime)), who), maxHead)
	return EphemeralMessage(headAndPaths(head, inv.Paths))
}

// ListMessage shows recent invalidations, newest first, ephemerally.
func ListMessage(target, distributionID string, items []purge.Summary, now time.Time) *slackapi.WebhookMessage {
	if len(items) == 0 {
		return EphemeralMessage(fmt.Sprintf("No invalidations on %s yet.", TargetRef(target, distributionID)))
	}
	head := fmt.Sprintf("Recent invalidations on %s, newest first:", TargetRef(target, distributionID))
	const foot = "Details: `/cdn-purge status ID`."
	lines := make([]string, len(items))
	for i, it := range items {
		icon := ":hourglass_flowing_sand:"
		if it.Status == purge.StatusCompleted {
			icon = ":white_check_mark:"
		}
		lines[i] = fmt.Sprintf("%s `%s` %s, %s ago", icon, escapeWithin(it.ID, maxRef), escapeWithin(string(it.Status), maxRef), age(now.Sub(it.CreateTime)))
	}
	list := joinWithin(lines, "\n", MaxSectionText-runeCount(head)-len(foot)-2, "invalidations")
	return EphemeralMessage(head + "\n" + list + "\n" + foot)
}

// age renders a duration for people: 42s, 3m, 2h5m, 3d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
