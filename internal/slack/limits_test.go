package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// checkLimits fails t unless msg, as json.Marshal encodes it, fits Slack's
// limits: at most MaxBlocks blocks, each section's text at most
// MaxSectionText runes, at most MaxContextElements elements a context block
// and each at most MaxContextText, all block text together (texts and
// button values) at most MaxBlocksText, the top-level text at most
// MaxMessageText, everything valid UTF-8, and no entity or mention cut in
// half. It returns the texts of the message's sections and context
// elements, in order.

// The longest purge CloudFront takes (cloudfrontcdn.MaxFilePaths and
// MaxWildcardPaths): the longest lists a message must fit.
const (
	cloudFrontFiles     = 3000
	cloudFrontWildcards = 15
)

func checkLimits(tb testing.TB, msg *slackapi.WebhookMessage) []string {
	tb.Helper()
	raw, err := json.Marshal(msg)
	if err != nil {
		tb.Fatal(err)
	}
	if !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\ufffd`)) {
		tb.Errorf("the JSON is not valid UTF-8 (or had to be repaired)")
	}
	var wire struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string                 `json:"type"`
			Text     *struct{ Text string } `json:"text"`
			Elements []struct {
				Type  string          `json:"type"`
				Text  json.RawMessage `json:"text"`
				Value string          `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		tb.Fatal(err)
	}
	checkText := func(what, s string, max int) {
		tb.Helper()
		if !utf8.ValidString(s) {
			tb.Errorf("%s is not valid UTF-8", what)
		}
		if n := utf8.RuneCountInString(s); n > max {
			tb.Errorf("%s is %d characters; at most %d", what, n, max)
		}
		if err := wellFormedMrkdwn(s); err != nil {
			tb.Errorf("%s: %v", what, err)
		}
	}
	checkText("text", wire.Text, MaxMessageText)
	if !utf8.ValidString(msg.Text) {
		tb.Errorf("msg.Text is not valid UTF-8")
	}
	if n := len(wire.Blocks); n > MaxBlocks {
		tb.Errorf("%d blocks; at most %d", n, MaxBlocks)
	}
	var texts []string
	total := 0
	for i, b := range wire.Blocks {
		switch b.Type {
		case "section":
			if b.Text == nil {
				continue
			}
			checkText(fmt.Sprintf("section %d", i), b.Text.Text, MaxSectionText)
			texts = append(texts, b.Text.Text)
			total += utf8.RuneCountInString(b.Text.Text)
		case "context":
			if n := len(b.Elements); n > MaxContextElements {
				tb.Errorf("context %d: %d elements; at most %d", i, n, MaxContextElements)
			}
			for j, e := range b.Elements {
				var s string
				json.Unmarshal(e.Text, &s)
				checkText(fmt.Sprintf("context %d element %d", i, j), s, MaxContextText)
				texts = append(texts, s)
				total += utf8.RuneCountInString(s)
			}
		case "actions":
			for _, e := range b.Elements {
				var label struct{ Text string }
				json.Unmarshal(e.Text, &label)
				total += utf8.RuneCountInString(label.Text) + utf8.RuneCountInString(e.Value)
			}
		default:
			tb.Errorf("block %d: unexpected type %q", i, b.Type)
		}
	}
	if total > MaxBlocksText {
		tb.Errorf("the blocks hold %d characters of text; the budget is %d", total, MaxBlocksText)
	}
	return texts
}

// wellFormedMrkdwn reports an entity or a <…> (mention, link) cut in half:
// every "&" starts &amp;, &lt; or &gt;, and every "<" is closed by a ">"
// before any other "<".
func wellFormedMrkdwn(s string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			rest := s[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				return fmt.Errorf("an entity cut in half at %d: %q", i, clip(rest))
			}
		case '<':
			j := strings.IndexAny(s[i+1:], "<>")
			if j < 0 || s[i+1+j] != '>' {
				return fmt.Errorf("a mention or link cut in half at %d: %q", i, clip(s[i:]))
			}
		case '>':
			if strings.LastIndexByte(s[:i], '<') <= strings.LastIndexByte(s[:i], '>') {
				return fmt.Errorf("a stray > at %d", i)
			}
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// andMoreRE finds the notes that end shortened lists.
var andMoreRE = regexp.MustCompile(`…and ([0-9,]+) more(?: ([a-z]+))?`)

// leftOut returns the count of the note that ends a shortened list of what
// ("" for a note that does not say) in s, 0 when there is none.
func leftOut(tb testing.TB, s, what string) int {
	tb.Helper()
	var found []string
	for _, m := range andMoreRE.FindAllStringSubmatch(s, -1) {
		if m[2] == what {
			found = append(found, m[1])
		}
	}
	switch len(found) {
	case 0:
		return 0
	case 1:
	default:
		tb.Fatalf("%d notes of what was left out in %q", len(found), clip(s))
	}
	n, err := strconv.Atoi(strings.ReplaceAll(found[0], ",", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// checkPathList fails t unless text lists paths in a code block, each path
// whole or its start and "…", and says how many were left out: shown plus
// left out is every path.
func checkPathList(tb testing.TB, text string, paths []string) {
	tb.Helper()
	_, rest, ok := strings.Cut(text, "```")
	if !ok {
		tb.Fatalf("no path list in %q", clip(text))
	}
	block, after, ok := strings.Cut(rest, "```")
	if !ok {
		tb.Fatalf("the path list is not closed")
	}
	var shown []string
	if block != "" {
		shown = strings.Split(block, "\n")
	}
	for i, s := range shown {
		want := Escape(paths[i])
		if s != want && !(strings.HasSuffix(s, "…") && strings.HasPrefix(want, strings.TrimSuffix(s, "…"))) {
			tb.Errorf("path %d shown as %q, want %q or its start", i, clip(s), clip(want))
		}
	}
	if got, want := leftOut(tb, after, ""), len(paths)-len(shown); got != want {
		tb.Errorf("%d paths shown, and %d said left out; want %d left out of %d", len(shown), got, want, len(paths))
	}
}

// normalized returns what purge.NormalizePaths makes of items, which it must
// accept.
func normalized(tb testing.TB, items []string) []string {
	tb.Helper()
	paths, err := purge.NormalizePaths(items)
	if err != nil {
		tb.Fatal(err)
	}
	return paths
}

// longest returns n distinct items, each unit repeated after a numbered
// prefix until the normalized path is exactly purge.MaxPathLength long.
func longest(tb testing.TB, n int, unit, encodedUnit string) []string {
	tb.Helper()
	items := make([]string, n)
	for i := range items {
		prefix := fmt.Sprintf("/%04d/", i)
		reps := (purge.MaxPathLength - len(prefix)) / len(encodedUnit)
		pad := purge.MaxPathLength - len(prefix) - reps*len(encodedUnit)
		items[i] = prefix + strings.Repeat("x", pad) + strings.Repeat(unit, reps)
	}
	paths := normalized(tb, items)
	for _, p := range paths {
		if len(p) != purge.MaxPathLength {
			tb.Fatalf("a test path is %d long, want %d", len(p), purge.MaxPathLength)
		}
	}
	return paths
}

// limitPathSets are path lists the parser accepts, at its limits, and some
// it never makes but CloudFront may report (raw UTF-8, from the console).
func limitPathSets(tb testing.TB) map[string][]string {
	tb.Helper()
	emoji := make([]string, cloudFrontFiles)
	for i := range emoji {
		emoji[i] = fmt.Sprintf("/%04d/", i) + strings.Repeat("😀é", purge.MaxPathLength/2)
	}
	wild := make([]string, 0, cloudFrontFiles+cloudFrontWildcards)
	for i := range cloudFrontWildcards {
		wild = append(wild, fmt.Sprintf("/w%02d/*", i))
	}
	for i := range cloudFrontFiles {
		wild = append(wild, fmt.Sprintf("/f%04d.html", i))
	}
	return map[string][]string{
		"one":             normalized(tb, []string{"/index.html"}),
		"ascii":           longest(tb, cloudFrontFiles, "a", "a"),
		"percent-encoded": longest(tb, cloudFrontFiles, "é", "%C3%A9"),
		"already-encoded": longest(tb, cloudFrontFiles, "%C3%A9", "%C3%A9"),
		"ampersands":      longest(tb, cloudFrontFiles, "&", "&"),
		"one-long":        longest(tb, 1, "&", "&"),
		"many-short":      normalized(tb, wild),
		"raw-emoji":       emoji,
	}
}

// longTarget is a target name of the longest length allowed.
var longTarget = strings.Repeat("t", purge.MaxTargetName)

func channelIDs(n int) []string {
	cs := make([]string, n)
	for i := range cs {
		cs[i] = fmt.Sprintf("C%010d", i)
	}
	return cs
}

// synchronous is p as a provider with no status made it: done at once,
// in many requests, with a long list of purge IDs.
func synchronous(p Purge) Purge {
	inv := *p.Invalidation
	inv.ID, inv.Requests = strings.TrimSuffix(strings.Repeat("0123456789abcdef0123456789abcdef,", 40), ","), 40
	p.Invalidation, p.Provider, p.Synchronous = &inv, "Cloudflare <&>", true
	return p
}

// manyPurged is a purge of many targets, each way one can end.
func manyPurged(p, pd Purge) ManyPurged {
	long := errors.New(strings.Repeat("a <long> & detailed failure ", 100))
	var r ManyPurged
	for i := range 40 {
		switch i % 4 {
		case 0:
			r.Results = append(r.Results, TargetPurge{Purge: p})
		case 1:
			r.Results = append(r.Results, TargetPurge{Purge: synchronous(pd)})
		case 2:
			r.Results = append(r.Results, TargetPurge{Purge: p, Repeat: true})
		default:
			r.Results = append(r.Results, TargetPurge{Purge: p, Err: &purge.Error{Code: purge.Invalid, Message: long.Error()}})
		}
	}
	r.UserID = "U2147483697"
	return r
}

func TestMessagesFitSlackLimits(t *testing.T) {
	sets := limitPathSets(t)
	now := time.Unix(1_700_000_000, 0)
	for name, paths := range sets {
		inv := &purge.Invalidation{
			ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
			CreateTime: now.Add(-time.Minute), CallerReference: "cdnpurge-slack-U2147483697-1334.73",
			Paths: paths,
		}
		done := *inv
		done.Status = purge.StatusCompleted
		p := Purge{Invalidation: inv, Target: longTarget, UserID: "U2147483697", ChannelID: "C2147483705",
			Requested: len(paths) + 7, ApprovedBy: "U0APPROVER", Following: true}
		pd := p
		pd.Invalidation = &done
		pending := Pending{Target: longTarget, DistributionID: "EDFDVBD6EXAMPLE", Paths: paths, Requested: len(paths),
			UserID: "U2147483697", ChannelID: "C2147483705", Token: "t", Expires: now.Unix()}
		sealed := strings.Repeat("s", maxButtonValue)
		for _, c := range []struct {
			name string
			msg  *slackapi.WebhookMessage
		}{
			{"StartedMessage", StartedMessage(p)},
			{"StartedMessage/synchronous", StartedMessage(synchronous(pd))},
			{"AuditMessage/synchronous", AuditMessage(synchronous(pd))},
			{"ManyPurgedMessage", ManyPurgedMessage(manyPurged(p, pd))},
			{"CompletedMessage", CompletedMessage(pd, now)},
			{"CompletedMessage/still-running", CompletedMessage(p, now)},
			{"AuditMessage", AuditMessage(p)},
			{"ConfirmMessage", ConfirmMessage(ApprovalAsked{Pending: pending, Sealed: sealed, Why: strings.Repeat("a <big> & costly purge ", 200), ApproverMustDiffer: true, ApproversLimited: true})},
			{"ClosedMessage", ClosedMessage(pending, ":no_entry_sign: Cancelled by <@U0CANCEL>.")},
			{"StatusMessage", StatusMessage(longTarget, inv, now)},
			{"StatusMessage/completed", StatusMessage("", &done, now)},
			{"RetryingMessage", RetryingMessage(p, paths, &purge.Error{Code: purge.RateLimited, Message: "slow down"})},
			{"NotTakenMessage", NotTakenMessage(longTarget, "EDFDVBD6EXAMPLE", paths, &purge.Error{Code: purge.Invalid, Message: strings.Repeat("no <way> & ", 500)}, NotTakenRefused, false)},
			{"NotTakenMessage/gave-up", NotTakenMessage("", "EDFDVBD6EXAMPLE", paths, errors.New("boom"), NotTakenGaveUp, true)},
		} {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				texts := checkLimits(t, c.msg)
				if len(texts) == 0 {
					t.Fatal("no text")
				}
				checkPathList(t, texts[0], paths)
			})
		}
	}
}

func TestOtherMessagesFitSlackLimits(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	longPath := normalized(t, []string{"/" + strings.Repeat("&<é>", (purge.MaxPathLength-1)/len("&%3C%C3%A9%3E"))})[0]
	manyChannels := append(channelIDs(500), strings.Repeat("n", 80), "#"+strings.Repeat("é", 80))
	var everything []TargetSummary
	for i := range 300 {
		everything = append(everything, TargetSummary{
			Name: longTarget[:purge.MaxTargetName-4] + fmt.Sprintf("%04d", i), DistributionID: "EDFDVBD6EXAMPLE",
			Default: i == 0, Domains: strings.Split(strings.Repeat("www.example.com,", 200), ",")[:200],
			Channels: manyChannels, Paths: []string{"/blog/*", longPath, "/a&b"}, Confirm: purge.ConfirmAlways,
		})
	}
	items := make([]purge.Summary, 1000)
	for i := range items {
		items[i] = purge.Summary{ID: fmt.Sprintf("I%013d", i), Status: purge.StatusCompleted, CreateTime: now.Add(-time.Hour)}
	}
	var accounts []UsageAccount
	for a := range 20 {
		acct := UsageAccount{Account: fmt.Sprintf("%012d", a), Pricing: purge.Pricing{FreePerMonth: 1000, PerItem: 0.005}}
		for r := range 50 {
			acct.Rows = append(acct.Rows, UsageRow{
				Targets: []string{longTarget, longTarget + "-b", longTarget + "-c"}, DistributionID: "EDFDVBD6EXAMPLE",
				Hidden: r%5 == 4, Usage: purge.MonthUsage{Paths: 12345, Invalidations: 67, Complete: r%3 != 0},
			})
		}
		acct.Rows[1].Err = errors.New("boom")
		accounts = append(accounts, acct)
	}
	// purge.ErrorMessage is mrkdwn: user input in it is escaped.
	errLong := &purge.Error{Code: purge.Invalid, Message: fmt.Sprintf("`%s` has * before the end; ask <@U123> or <#C123>", Escape(strings.Repeat("/é&*<", 2000)))}
	for _, c := range []struct {
		name string
		msg  *slackapi.WebhookMessage
		// count checks the note of what was left out in the first text.
		count func(t *testing.T, text string)
	}{
		{"ErrorMessage", ErrorMessage(errLong), nil},
		{"ErrorMessage/code-escapes", ErrorMessage(&purge.Error{Code: purge.PermissionDenied, Message: strings.Repeat("&amp;<@U1>", 1000)}), nil},
		{"EphemeralMessage", EphemeralMessage(strings.Repeat("<https://example.com/é|é> &lt; ", 500)), nil},
		{"RefusedChannelMessage", RefusedChannelMessage(manyChannels), func(t *testing.T, text string) {
			countMentions(t, text, len(manyChannels))
		}},
		{"HelpMessage", HelpMessage("/cdn-purge", everything, true, manyChannels), func(t *testing.T, text string) {
			countLines(t, text, "\n• `"+longTarget[:purge.MaxTargetName-4], "targets", len(everything))
		}},
		{"HelpMessage/nothing-here", HelpMessage("/"+strings.Repeat("c", 200), nil, true, manyChannels), func(t *testing.T, text string) {
			countMentions(t, text, len(manyChannels))
		}},
		{"TargetsMessage", TargetsMessage(everything, 1000), func(t *testing.T, text string) {
			countLines(t, text, "\n• `"+longTarget[:purge.MaxTargetName-4], "targets", len(everything))
		}},
		{"TargetsMessage/one", TargetsMessage(everything[:1], 0), nil},
		{"RepeatMessage", RepeatMessage(longTarget, invOf(now), now), nil},
		{"AlreadyApprovedMessage", AlreadyApprovedMessage(longTarget, invOf(now), now), nil},
		{"TooLateToCancelMessage", TooLateToCancelMessage(longTarget, invOf(now), now), nil},
		{"ListMessage", ListMessage(longTarget, "EDFDVBD6EXAMPLE", items, now), func(t *testing.T, text string) {
			countLines(t, text, "\n:white_check_mark: `", "invalidations", len(items))
		}},
		{"UsageMessage", UsageMessage("November 2026", accounts), func(t *testing.T, text string) {
			want := 0
			for _, a := range accounts {
				want += 2 + 1 // the account, its total, its hidden rows
				for _, r := range a.Rows {
					if !r.Hidden {
						want++
					}
				}
			}
			// The head and the closing note are always shown.
			countLines(t, text, "\n", "lines", want+1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			texts := checkLimits(t, c.msg)
			if c.count != nil {
				c.count(t, texts[0])
			}
		})
	}
}

// invOf is an invalidation with a requester and an approver in its
// CallerReference, and a long ID.
func invOf(now time.Time) *purge.Invalidation {
	return &purge.Invalidation{ID: strings.Repeat("I", 4000), DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusCompleted,
		CreateTime: now.Add(-time.Hour), CallerReference: "cdnpurge-slack-U2147483697-1334.73", Paths: []string{"/a"}}
}

// countMentions checks that the channel mentions shown and the count left
// out add up to want.
func countMentions(tb testing.TB, text string, want int) {
	tb.Helper()
	shown := strings.Count(text, "<#") + strings.Count(text, ", #")
	if got := shown + leftOut(tb, text, ""); got != want {
		tb.Errorf("%d channels shown and %d left out; want %d in all", shown, leftOut(tb, text, ""), want)
	}
}

// countLines checks that the lines starting with prefix and the count of
// what left out add up to want.
func countLines(tb testing.TB, text, prefix, what string, want int) {
	tb.Helper()
	shown := strings.Count(text, prefix)
	left := leftOut(tb, text, what)
	if left > 0 && prefix == "\n" {
		shown-- // the note is on a line of its own
	}
	if got := shown + left; got != want {
		tb.Errorf("%d shown and %d left out; want %d in all", shown, left, want)
	}
}

func TestApprovedByShown(t *testing.T) {
	inv := &purge.Invalidation{ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusCompleted,
		Paths: []string{"/blog/*"}}
	p := Purge{Invalidation: inv, Target: "www", UserID: "Ualice", ChannelID: "C123", ApprovedBy: "Ubob"}
	for _, c := range []struct {
		name string
		msg  *slackapi.WebhookMessage
		text string // where it must show
	}{
		{"AuditMessage", AuditMessage(p), "text"},
		{"StartedMessage", StartedMessage(p), "context"},
		{"CompletedMessage", CompletedMessage(p, time.Now()), "context"},
	} {
		t.Run(c.name, func(t *testing.T) {
			texts := checkLimits(t, c.msg)
			all := strings.Join(texts, "\n")
			if c.text == "text" {
				all = c.msg.Text
			}
			for _, want := range []string{"requested by <@Ualice>", "approved by <@Ubob>"} {
				if c.name == "AuditMessage" && want == "requested by <@Ualice>" {
					want = "<@Ualice> in <#C123> purged"
				}
				if !strings.Contains(all, want) {
					t.Errorf("%s lacks %q: %q", c.text, want, all)
				}
			}
		})
	}
	p.ApprovedBy = ""
	if msg := AuditMessage(p); strings.Contains(msg.Text, "approved") {
		t.Errorf("audit without an approver: %q", msg.Text)
	}
}

func TestEscapeWithin(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"/a", 10, "/a"},
		{"/a&b", 10, "/a&amp;b"},
		{"/a&b", 7, "/a…"},
		{"/a&b", 8, "/a&amp;b"},
		{"/éé😀", 4, "/éé😀"},
		{"/éé😀x", 4, "/éé…"},
		{"<<<<", 9, "&lt;&lt;…"},
	} {
		got := escapeWithin(c.in, c.max)
		if got != c.want {
			t.Errorf("escapeWithin(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n > c.max || !utf8.ValidString(got) || wellFormedMrkdwn(got) != nil {
			t.Errorf("escapeWithin(%q, %d) = %q: %d runes", c.in, c.max, got, n)
		}
	}
}

func TestCapMrkdwn(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"ééééé", 5, "ééééé"},
		{"éééééé", 5, "é…"},
		{"hi <@U123456> there", 10, "hi …"},
		{"a &amp; b &amp; c", 9, "a …"},
		{"x ```/a\n/b\n/c```", 10, "x ```/…```"},
		{"😀😀😀😀😀😀😀😀", 6, "😀😀…"},
	} {
		got := capMrkdwn(c.in, c.max)
		if got != c.want {
			t.Errorf("capMrkdwn(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n > c.max || !utf8.ValidString(got) || wellFormedMrkdwn(got) != nil {
			t.Errorf("capMrkdwn(%q, %d) = %q: %d runes", c.in, c.max, got, n)
		}
	}
}

func TestJoinWithin(t *testing.T) {
	items := []string{"#aaaa", "#bbbb", "#cccc", "#dddd"}
	for max, want := range map[int]string{
		100: "#aaaa, #bbbb, #cccc, #dddd",
		26:  "#aaaa, #bbbb, #cccc, #dddd",
		25:  "#aaaa, #bbbb, …and 2 more",
		24:  "#aaaa, …and 3 more",
		18:  "#aaaa, …and 3 more",
		17:  "…and 4 more",
	} {
		if got := joinWithin(items, ", ", max, ""); got != want {
			t.Errorf("joinWithin(…, %d) = %q, want %q", max, got, want)
		}
	}
	if got := andMore(2981, "paths"); got != "…and 2,981 more paths" || andMoreWidth(2981, "paths") != utf8.RuneCountInString(got) {
		t.Errorf("andMore = %q, width %d", got, andMoreWidth(2981, "paths"))
	}
}

// FuzzMessagesFitSlackLimits checks that every message about a purge fits
// Slack's limits, and says correctly how many paths it left out, for any
// path list the parser accepts; and that the target and channel lists fit
// whatever the target's name and channels. copies repeats the items,
// numbered, so that small inputs reach CloudFront's 3,000 paths and 4,000
// characters. To fuzz it:
//
//	go test ./internal/slack -run '^$' -fuzz '^FuzzMessagesFitSlackLimits$' -fuzztime 60s
func FuzzMessagesFitSlackLimits(f *testing.F) {
	f.Add("/blog/* /index.html /a&b<c>", "www", "C0DEPLOY01,deploys", uint16(0), uint8(0))
	f.Add("/é/😀 https://www.example.com/news/post?id=1&ref=x #product:tv", longTarget, "#é", uint16(2999), uint8(3))
	f.Add("/"+strings.Repeat("%C3%A9", 600), "t", "C0DEPLOY01", uint16(100), uint8(200))
	f.Add("/"+strings.Repeat("&", 3000), "a&b<c>", strings.Repeat("C0123456789,", 50), uint16(1000), uint8(0))
	f.Fuzz(func(t *testing.T, text, name, channels string, copies uint16, grow uint8) {
		if !utf8.ValidString(name) || !utf8.ValidString(channels) || strings.Contains(name+channels, "…") {
			return
		}
		items := strings.Fields(text)
		if len(items) > cloudFrontFiles+cloudFrontWildcards {
			return // NormalizePaths refuses more, after reading them all
		}
		for i := range int(copies) % cloudFrontFiles {
			for _, it := range strings.Fields(text) {
				if len(items) == cloudFrontFiles+cloudFrontWildcards {
					break
				}
				if !purge.IsTag(it) && strings.HasPrefix(it, "/") {
					items = append(items, "/"+strconv.Itoa(i)+strings.Repeat("x", int(grow))+it)
				}
			}
		}
		paths, err := purge.NormalizePaths(items)
		if err != nil {
			return
		}
		now := time.Unix(1_700_000_000, 0)
		inv := &purge.Invalidation{ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
			CreateTime: now.Add(-time.Minute), Paths: paths}
		p := Purge{Invalidation: inv, Target: name, UserID: "U1", ChannelID: "C1", Requested: len(items), ApprovedBy: "U2", Following: true}
		pending := Pending{Target: name, DistributionID: "EDFDVBD6EXAMPLE", Paths: paths, UserID: "U1", ChannelID: "C1", Expires: now.Unix()}
		for _, msg := range []*slackapi.WebhookMessage{
			StartedMessage(p), CompletedMessage(p, now), AuditMessage(p),
			ConfirmMessage(ApprovalAsked{Pending: pending, Sealed: "sealed", Why: "a reason", ApproverMustDiffer: true, ApproversLimited: true}), ClosedMessage(pending, "Cancelled."),
			StatusMessage(name, inv, now),
		} {
			checkPathList(t, checkLimits(t, msg)[0], paths)
		}
		cs := ParseChannels(channels)
		for _, msg := range []*slackapi.WebhookMessage{
			RefusedChannelMessage(cs),
			HelpMessage("", []TargetSummary{{Name: name, DistributionID: "EDFDVBD6EXAMPLE", Channels: cs, Domains: cs, Paths: paths}}, true, cs),
			HelpMessage("", nil, false, cs),
			TargetsMessage([]TargetSummary{{Name: name, DistributionID: "EDFDVBD6EXAMPLE", Channels: cs, Paths: paths}}, 3),
		} {
			checkLimits(t, msg)
		}
	})
}
