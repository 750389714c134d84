package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Slack's limits on a message, and the budgets cdnpurge keeps under them.
// Slack counts characters as Unicode code points, so these count runes, not
// bytes. Every message builder in this package stays within them by
// construction: user-supplied pieces are shortened before they are escaped
// (escapeWithin), lists stop at a budget and say how many were left out
// (joinWithin, pathList), and each text block is capped last (capMrkdwn)
// without cutting a character, an entity or a mention in half.
const (
	// MaxSectionText is the longest text of a section block (Block Kit
	// reference, section block: "Maximum length for the text in this field
	// is 3000 characters").
	MaxSectionText = 3000
	// MaxBlocks is how many blocks a message may hold (Block Kit reference:
	// "up to 50 blocks in each message").
	MaxBlocks = 50
	// MaxContextElements is how many elements a context block may hold
	// (Block Kit reference, context block: "Maximum number of items is 10").
	MaxContextElements = 10
	// MaxContextText is the longest text of one context element: a text
	// object, limited to 3,000 characters like a section's text.
	MaxContextText = 3000
	// MaxBlocksText is the budget for all the text of a message's blocks
	// together. Slack refuses longer blocks with msg_blocks_too_long, an
	// undocumented limit observed at about 13,200 characters
	// (slackapi/bolt-js issue 2509: "12,000 text characters with a buffer for
	// block containers"); 12,000 keeps clear of it.
	MaxBlocksText = 12000
	// MaxMessageText is the budget for a message's top-level text, its
	// notification fallback. Slack truncates it at 40,000 characters; a
	// fallback should be far shorter.
	MaxMessageText = 4000
)

// Budgets of the parts of a message, within the limits above.
const (
	// maxHead is the longest head line of a message (what happened, on
	// which target), leaving the rest of a section for its list.
	maxHead = 1000
	// maxRef is the longest target name or ID shown.
	maxRef = 100
	// maxShownPath is the longest one path is shown: a 4,000-character
	// path is shortened to its start.
	maxShownPath = 500
	// maxInlineList is the longest inline list (channels, domains, paths of
	// a rule) in a sentence.
	maxInlineList = 1000
	// maxWhy is the longest reason or note shown for an approval, a watch,
	// an error.
	maxWhy = 500
	// maxCommand is the longest command name shown: the help repeats it on
	// every line.
	maxCommand = 40
)

// runeCount is the length of s as Slack counts it.
func runeCount(s string) int { return utf8.RuneCountInString(s) }

// escapedWidth is the length of Escape(s) in runes.
func escapedWidth(r rune) int {
	switch r {
	case '&':
		return len("&amp;")
	case '<', '>':
		return len("&lt;")
	}
	return 1
}

// escapeWithin returns Escape(s) in at most max runes: when it is longer, s
// is cut on a rune boundary before escaping, so that neither a character nor
// an entity is cut in half, and "…" marks the cut.
func escapeWithin(s string, max int) string {
	if len(s) <= max && !strings.ContainsAny(s, "&<>") {
		return s // bytes bound runes
	}
	w := 0
	for _, r := range s {
		w += escapedWidth(r)
	}
	if w <= max {
		return Escape(s)
	}
	w = 0
	for i, r := range s {
		if w+escapedWidth(r) > max-1 {
			return Escape(s[:i]) + "…"
		}
		w += escapedWidth(r)
	}
	return Escape(s) // not reached
}

// capMrkdwn returns the mrkdwn text s in at most max runes (max ≥ 5). A
// longer text is cut on a rune boundary, before any mention, link or entity
// the cut would split (<@U…>, <#C…>, <https://…>, &amp;), and ends in "…"
// and, when the cut leaves a code block open, the fence that closes it.
func capMrkdwn(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := runeCount(s)
	if n <= max {
		return s
	}
	// Room for "…" and a closing "```".
	keep, i := max-4, 0
	for j := range s {
		if keep == 0 {
			i = j
			break
		}
		keep--
	}
	t := s[:i]
	if lt := strings.LastIndexByte(t, '<'); lt > strings.LastIndexByte(t, '>') {
		t = t[:lt]
	}
	if amp := strings.LastIndexByte(t, '&'); amp >= 0 && strings.IndexByte(t[amp:], ';') < 0 {
		t = t[:amp]
	}
	t = strings.TrimRight(t, "`")
	if strings.Count(t, "```")%2 == 1 {
		return t + "…```"
	}
	return t + "…"
}

// andMore is the note that ends a shortened list: "…and 2,981 more", and
// what they are when what is not empty ("…and 3 more targets").
func andMore(n int, what string) string {
	s := "…and " + purge.Thousands(n) + " more"
	if what != "" {
		s += " " + what
	}
	return s
}

// andMoreFixed is the width of andMore's words: "…and " and " more".
const andMoreFixed = 10

// andMoreWidth is runeCount(andMore(n, what)), without building it.
func andMoreWidth(n int, what string) int {
	w := andMoreFixed + digits(n)
	if what != "" {
		w += 1 + runeCount(what)
	}
	return w
}

// digits is len(purge.Thousands(n)) for n ≥ 0.
func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d + (d-1)/3
}

// fitting returns how many of items, in order and joined by sep, fit in max
// runes together with, when some of all are left out, sep and
// andMore(left, what). all is the length of the whole list, of which items
// are the first.
func fitting(items []string, all int, sep string, max int, what string) int {
	sw := runeCount(sep)
	if all == len(items) {
		// Most lists fit whole: one pass to see.
		total := 0
		for i, it := range items {
			if i > 0 {
				total += sw
			}
			total += runeCount(it)
		}
		if total <= max {
			return len(items)
		}
	}
	w := 0
	for k, it := range items {
		nw := w + runeCount(it)
		if k > 0 {
			nw += sw
		}
		// The note for the rest follows, after sep.
		left := all - k - 1
		if left == 0 && nw > max || left > 0 && nw+sw+andMoreWidth(left, what) > max {
			return k
		}
		w = nw
	}
	return len(items)
}

// joinWithin joins items, already rendered, with sep in at most max runes:
// as many as fit, in order, and then a note of how many were left out
// ("#a, #b, …and 3 more"). An item is never cut.
func joinWithin(items []string, sep string, max int, what string) string {
	k := fitting(items, len(items), sep, max, what)
	if k == len(items) {
		return strings.Join(items, sep)
	}
	if k == 0 {
		return andMore(len(items), what)
	}
	return strings.Join(items[:k], sep) + sep + andMore(len(items)-k, what)
}
