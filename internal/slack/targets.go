package slack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TargetSummary is what the help, targets and usage messages show of one
// target.
type TargetSummary struct {
	// Name is empty for the unnamed single target.
	Name           string
	DistributionID string
	// Provider names the target's CDN; a target with no DistributionID is
	// shown by it.
	Provider string
	Default  bool
	Domains  []string
	// Channels are where it may be purged from.
	Channels []string
	// Paths are the only paths it may purge; none means any.
	Paths []string
	// Confirm says when a purge waits for approval; "" or "never" for never.
	Confirm purge.ConfirmMode
}

func (t TargetSummary) ref() string { return TargetRef(t.Name, t.DistributionID) }

// maxTargetLine is the longest line of one target in a list; each of its
// three lists (channels, domains, paths) takes at most a third of it.
const maxTargetLine = 1200

// line renders a target for a list: name, what it is, and its limits, in at
// most maxTargetLine runes.
func (t TargetSummary) line() string {
	const sub = maxTargetLine / 3
	parts := []string{t.ref()}
	if t.Name != "" && t.DistributionID == "" {
		parts[0] += " (" + escapeWithin(t.Provider, maxRef)
		if t.Default {
			parts[0] += ", the default"
		}
		parts[0] += ")"
	} else if t.Name != "" {
		kind := "distribution"
		if purge.IsTenantID(t.DistributionID) {
			kind = "tenant"
		}
		parts[0] += " (" + kind + " `" + escapeWithin(t.DistributionID, maxRef) + "`"
		if t.Default {
			parts[0] += ", the default"
		}
		parts[0] += ")"
	}
	if len(t.Channels) > 0 {
		parts = append(parts, "from "+channelList(t.Channels, sub))
	}
	if len(t.Domains) > 0 {
		domains := make([]string, len(t.Domains))
		for i, d := range t.Domains {
			domains[i] = escapeWithin(d, maxRef)
		}
		parts = append(parts, "URLs on "+joinWithin(domains, ", ", sub, ""))
	}
	if len(t.Paths) > 0 {
		parts = append(parts, "only "+codeList(t.Paths, sub))
	}
	switch t.Confirm {
	case purge.ConfirmAlways:
		parts = append(parts, "every purge needs an approval")
	case purge.ConfirmFullPurge:
		parts = append(parts, "`/*` needs an approval")
	}
	return capMrkdwn("• "+strings.Join(parts, " · "), maxTargetLine)
}

// ChannelList renders allowed channels for a message: "#deploys, <#C0…>".
// A long list is shortened to the channels that fit in 1,000 characters and
// how many more there are ("…and 12 more").
func ChannelList(channels []string) string { return channelList(channels, maxInlineList) }

// channelList is ChannelList in at most max runes.
func channelList(channels []string, max int) string {
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = channelRef(c)
	}
	return joinWithin(names, ", ", max, "")
}

// count renders "1 invalidation", "2 invalidations".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// CodeList renders items as code for a message: "`/a`, `/b`". A long list
// is shortened like ChannelList's, and a long item to its start.
func CodeList(items []string) string { return codeList(items, maxInlineList) }

// codeList is CodeList in at most max runes.
func codeList(items []string, max int) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = "`" + escapeWithin(it, maxShownPath) + "`"
	}
	return joinWithin(s, ", ", max, "")
}

// HelpMessage explains the command, ephemerally, with the targets the
// person may purge from here (here), how to name targets when they have
// names, and the channels any target may be purged from (everywhere).
func HelpMessage(command string, here []TargetSummary, named bool, everywhere []string) *slackapi.WebhookMessage {
	if command == "" {
		command = "/cdn-purge"
	}
	command = escapeWithin(command, maxCommand)
	var b strings.Builder
	fmt.Fprintf(&b, "*%[1]s* purges the CloudFront cache.\n"+
		"• `%[1]s` purges everything (`/*`)\n"+
		"• `%[1]s /blog/* /index.html` purges these paths\n"+
		"• `%[1]s https://www.example.com/post?id=1` purges a pasted URL\n"+
		"• `%[1]s #product:tv` purges a cache tag (distributions with cache tags turned on)\n", command)
	if named {
		// The example is one this person could run here: a target they may
		// purge, and a path its paths rule allows.
		example, path, on := "TARGET", "/blog/*", "a target by name"
		if i := slices.IndexFunc(here, func(t TargetSummary) bool { return t.Name != "" }); i >= 0 {
			example = Escape(here[i].Name)
			on = "the target `" + example + "`"
			if len(here[i].Paths) > 0 {
				path = here[i].Paths[0]
			}
		}
		fmt.Fprintf(&b, "• `%[1]s %[2]s %[3]s` purges on %[4]s; a pasted URL picks its target by host\n"+
			"• `%[1]s targets` shows what you may purge here\n", command, example, Escape(path), on)
	}
	target := ""
	if named {
		target = " [TARGET]"
	}
	fmt.Fprintf(&b, "• `%[1]s status%[2]s [ID]` shows the latest invalidation, or one by ID\n"+
		"• `%[1]s list%[2]s` shows recent invalidations\n"+
		"• `%[1]s usage` shows this month's billed paths and their estimated cost\n"+
		"• `%[1]s help` shows this\n"+
		"Paths must start with `/`, are case-sensitive, and may end in `*`. Duplicates and paths already covered by a wildcard are dropped (each path sent is billed).\n", command, target)
	room := MaxSectionText - runeCount(b.String())
	if len(here) == 0 && len(everywhere) > 0 {
		const nothing, allowed = "You may purge nothing from here.", " Purges are allowed in "
		b.WriteString(nothing + allowed + channelList(everywhere, min(maxInlineList, room-len(nothing)-len(allowed)-1)) + ".")
	} else {
		b.WriteString(targetsHere(here, room))
	}
	return EphemeralMessage(b.String())
}

// TargetsMessage answers `/cdn-purge targets`: what the person may purge
// from here, and how many other targets there are.
func TargetsMessage(here []TargetSummary, others int) *slackapi.WebhookMessage {
	var note string
	if others > 0 {
		note = "\n" + count(others, "other target", "other targets") + " may be purged from other channels or by other people."
	}
	return EphemeralMessage(targetsHere(here, MaxSectionText-runeCount(note)) + note)
}

// targetsHere lists the targets one may purge, in at most max runes.
func targetsHere(here []TargetSummary, max int) string {
	if len(here) == 0 {
		return "You may purge nothing from here."
	}
	const head = "You may purge from here:\n"
	lines := make([]string, len(here))
	for i, t := range here {
		lines[i] = t.line()
	}
	return head + joinWithin(lines, "\n", max-runeCount(head), "targets")
}

// UsageRow is one line of the usage message: the targets of one
// distribution (or tenant) and its billed paths this month.
type UsageRow struct {
	Targets        []string
	DistributionID string
	// Hidden rows count in their account's total but are not named: their
	// targets may not be purged from the channel asking.
	Hidden bool
	Usage  purge.MonthUsage
	// Err is why the row could not be counted; its user-safe message is shown.
	Err error
}

// UsageAccount is the usage of the targets in one AWS account, which
// CloudFront bills together: its first 1,000 paths a month are free.
type UsageAccount struct {
	// Account names the account: "" for the service's own, else the AWS
	// account ID of the targets' role.
	Account string
	Rows    []UsageRow
	// Pricing is the account's price for invalidation paths.
	Pricing purge.Pricing
}

// UsageMessage answers `/cdn-purge usage`: this month's billed paths per
// target and, per AWS account, the estimated cost beyond the free paths.
func UsageMessage(month string, accounts []UsageAccount, notBilled ...string) *slackapi.WebhookMessage {
	head := fmt.Sprintf("*Invalidation paths billed in %s* (every invalidation counts, whoever made it; a wildcard or a cache tag is one path):", escapeWithin(month, maxRef))
	foot := "The free paths and the price are per AWS account; other distributions in the same account share them."
	if len(notBilled) > 0 {
		names := make([]string, len(notBilled))
		for i, n := range notBilled {
			names[i] = escapeWithin(n, maxRef)
		}
		foot += "\nNot billed per purge, so not counted: " + joinWithin(names, ", ", maxInlineList, "targets") + "."
	}
	var lines []string
	for _, acct := range accounts {
		if acct.Account != "" {
			lines = append(lines, "_AWS account "+escapeWithin(acct.Account, maxRef)+"_")
		}
		total, complete := 0, true
		var hidden purge.MonthUsage
		hiddenRows := 0
		for _, r := range acct.Rows {
			if r.Err != nil || !r.Usage.Complete {
				complete = false
			}
			total += r.Usage.Paths
			if r.Hidden {
				hiddenRows++
				hidden.Paths += r.Usage.Paths
				hidden.Invalidations += r.Usage.Invalidations
				continue
			}
			names := make([]string, len(r.Targets))
			for i, n := range r.Targets {
				names[i] = TargetRef(n, r.DistributionID)
			}
			label := joinWithin(names, ", ", maxInlineList/2, "targets")
			if r.Targets[0] != "" {
				label += " (`" + escapeWithin(r.DistributionID, maxRef) + "`)"
			}
			switch {
			case r.Err != nil:
				lines = append(lines, fmt.Sprintf("• %s: not counted: %s", label, capMrkdwn(purge.ErrorMessage(r.Err), maxWhy)))
			case !r.Usage.Complete:
				lines = append(lines, fmt.Sprintf("• %s: at least %s in %s", label, pathCount(r.Usage.Paths), count(r.Usage.Invalidations, "invalidation", "invalidations")))
			default:
				lines = append(lines, fmt.Sprintf("• %s: %s in %s", label, pathCount(r.Usage.Paths), count(r.Usage.Invalidations, "invalidation", "invalidations")))
			}
		}
		if hiddenRows > 0 {
			lines = append(lines, fmt.Sprintf("• %s of this account, purged from other channels: %s in %s", count(hiddenRows, "other distribution", "other distributions"),
				pathCount(hidden.Paths), count(hidden.Invalidations, "invalidation", "invalidations")))
		}
		billable, dollars := acct.Pricing.Estimate(total)
		atLeast := ""
		if !complete {
			atLeast = "at least "
		}
		lines = append(lines, fmt.Sprintf("Total: %s%s; %s%d beyond the %d free, about $%.2f at $%.3f a path.",
			atLeast, pathCount(total), atLeast, billable, acct.Pricing.FreePerMonth, dollars, acct.Pricing.PerItem))
	}
	if len(lines) == 0 {
		return EphemeralMessage(head + "\n" + foot)
	}
	list := joinWithin(lines, "\n", MaxSectionText-runeCount(head)-runeCount(foot)-2, "lines")
	return EphemeralMessage(head + "\n" + list + "\n" + foot)
}
