package slack

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// userMessage is what the chat user reads of err, in mrkdwn: a refusal of
// access's rules (or a bare word that is no path) worded here, else err's
// user-safe message (purge.ErrorMessage), never its detail.
func userMessage(err error) string {
	var r *access.Refusal
	if errors.As(err, &r) && r.Kind != 0 {
		return refusalText(r)
	}
	var np *access.NotAPath
	if errors.As(err, &np) {
		w := Escape(np.Word)
		return fmt.Sprintf("`%s` is not a path: paths must start with / (did you mean `/%s`?).", w, w)
	}
	return purge.ErrorMessage(err)
}

// refusalText says which rule refused, and what it would allow.
func refusalText(r *access.Refusal) string {
	const nothing = " Nothing was purged."
	switch r.Kind {
	case access.RefusedUnknownTarget:
		msg := fmt.Sprintf("There is no target named `%s` (rule: target).", Escape(r.Item))
		if len(r.Here) > 0 {
			msg += " You may purge here: " + labels(r.Here) + "."
		}
		return msg + " Paths must start with /." + nothing
	case access.RefusedTwoTargets:
		return fmt.Sprintf("These URLs are on hosts of different targets (%s and %s): purge one target per command.", label(r.Target), label(r.Other)) + nothing
	case access.RefusedOthersHost:
		return fmt.Sprintf("`%s` belongs to target %s, not %s (rule: domains).", Escape(r.Item), label(r.Other), label(r.Target)) + nothing
	case access.RefusedNotAHost:
		return fmt.Sprintf("`%s` is not a host of %s (rule: domains): its URLs must be on %s.", Escape(r.Item), label(r.Target), CodeList(r.Domains)) + nothing
	case access.RefusedChannel:
		where := "this channel"
		if r.Where != "" {
			where = "#" + Escape(r.Where)
		}
		msg := fmt.Sprintf("%s may not be purged from %s (rule: channels); it may be from %s.", label(r.Target), where, ChannelList(r.Channels))
		if len(r.Here) > 0 {
			msg += " Here you may purge: " + labels(r.Here) + "."
		}
		return msg + nothing
	case access.RefusedPerson:
		var who []string
		for _, u := range r.Users {
			who = append(who, "<@"+Escape(u)+">")
		}
		for _, g := range r.UserGroups {
			who = append(who, "members of <!subteam^"+Escape(g)+">")
		}
		return fmt.Sprintf("Only %s may purge %s (rule: users/usergroups).", orList(who), label(r.Target)) + nothing
	case access.RefusedTag:
		return fmt.Sprintf("`%s` is a cache tag, and %s may purge only paths under %s (rule: paths): a tag can reach any path.", Escape(r.Item), label(r.Target), CodeList(r.Paths)) + nothing
	case access.RefusedDotSegment:
		return fmt.Sprintf("`%s` has a . or .. segment, and %s may purge only paths under %s (rule: paths).", Escape(r.Item), label(r.Target), CodeList(r.Paths)) + nothing
	case access.RefusedOutsidePaths:
		return fmt.Sprintf("`%s` is outside what %s may purge (rule: paths): %s.", Escape(r.Item), label(r.Target), CodeList(r.Paths)) + nothing
	}
	return "This was refused (rule: " + Escape(r.Rule) + ")." + nothing
}

// label names a target in a message: `www`, or the distribution ID of the
// unnamed single target.
func label(t *access.Target) string { return TargetRef(t.Name, t.DistributionID) }

func labels(ts []*access.Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = label(t)
	}
	return strings.Join(s, ", ")
}

// orList joins "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
