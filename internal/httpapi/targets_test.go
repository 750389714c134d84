package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The three targets of testdata/targets.yaml, and the people and channels
// of the tests.
const (
	wwwDist  = "EWWWEXAMPLE01"
	docsDist = "EDOCSEXAMPLE1"
	shopTen  = "dt_shop0example"

	deploysID = "C0DEPLOY01" // #deploys, allowed by name
	docsChan  = "C0DOCS0001" // the docs team's channel, allowed by ID
	randomID  = "C0RANDOM01" // #random, allowed for nothing

	alice   = "U0ALICE001" // named in docs' users
	bob     = "U0BOB00001" // in the web team user group
	carol   = "U0CAROL001" // in the shop team user group
	mallory = "U0MALLORY1" // in no list and no group
)

// targetsFixture serves testdata/targets.yaml against one emulator holding
// the two distributions and the tenant, and a stand-in for Slack's Web API
// that answers the user-group rules.
type targetsFixture struct {
	*fixture
	emu   *emulator.Emulator
	slack *testutil.SlackAPI
	clock *testutil.Clock
}

func newTargetsFixture(t testing.TB, completeAfter time.Duration) *targetsFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "targets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := config.ParseFile("targets.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := config.Config{File: file}.Targets()
	if err != nil {
		t.Fatal(err)
	}
	clk := testutil.NewClock(time.Date(2026, time.November, 25, 12, 0, 0, 0, time.UTC))
	emu := emulator.New(emulator.Options{Distributions: []string{wwwDist, docsDist}, Tenants: []string{shopTen}, CompleteAfter: completeAfter, Now: clk.Now})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	api.SetMembers("S0WEBTEAM1", bob)
	api.SetMembers("S0SHOPTEAM", carol, bob)
	f := newFixture(t, func(o *service.Options) {
		o.Targets = targets
		o.DistributionID, o.Channels = "", nil
		o.Groups = slack.NewUserGroups(testutil.SlackBotToken, slack.UserGroupsOptions{APIURL: api.URL, Now: clk.Now})
		o.Invalidator = testutil.NewInvalidator(srv.URL)
		o.Now = clk.Now
	})
	return &targetsFixture{fixture: f, emu: emu, slack: api, clock: clk}
}

// send runs text as user in a channel and returns the reply.
func (f *targetsFixture) send(t *testing.T, channelID, channelName, userID, text string) *slackapi.WebhookMessage {
	t.Helper()
	status, m := f.command(t, map[string]string{
		"text": text, "channel_id": channelID, "channel_name": channelName, "user_id": userID,
		"trigger_id": fmt.Sprintf("%s.%s.%d", userID, channelID, time.Now().UnixNano()),
	})
	if status != 200 || m == nil {
		t.Fatalf("%q: status %d", text, status)
	}
	return m
}

// invalidations returns every invalidation the emulator holds on each of
// the three targets, read back through the backend.
func (f *targetsFixture) invalidations(t *testing.T) map[string][]*purge.Invalidation {
	t.Helper()
	out := map[string][]*purge.Invalidation{}
	for _, id := range []string{wwwDist, docsDist, shopTen} {
		page, err := f.inv.ListInvalidations(context.Background(), id, purge.ListOptions{MaxItems: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Items {
			inv, err := f.inv.GetInvalidation(context.Background(), id, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = append(out[id], inv)
		}
	}
	return out
}

func total(m map[string][]*purge.Invalidation) int {
	n := 0
	for _, l := range m {
		n += len(l)
	}
	return n
}

// TestTargets sends every kind of request to three targets in two channels:
// each allowed one reaches the right distribution or tenant with the right
// paths, and each other one is refused by the rule it breaks, says what
// would be allowed, and creates nothing.
func TestTargets(t *testing.T) {
	tests := []struct {
		name                   string
		channelID, channelName string
		user, text             string
		// For a purge that goes ahead: where, and what.
		wantOn    string
		wantPaths []string
		// For one that waits for approval.
		wantConfirm bool
		// For a refusal: the rule, and what the message must say.
		wantRule string
		wantText []string
	}{
		// Allowed.
		{name: "default target", channelID: deploysID, channelName: "deploys", user: mallory, text: "/blog/* /index.html",
			wantOn: wwwDist, wantPaths: []string{"/blog/*", "/index.html"}, wantText: []string{"on `www`", "2 billed paths"}},
		{name: "named target", channelID: deploysID, channelName: "deploys", user: mallory, text: "www /a",
			wantOn: wwwDist, wantPaths: []string{"/a"}},
		{name: "URL picks its target", channelID: deploysID, channelName: "deploys", user: mallory, text: "https://example.com/post?id=1",
			wantOn: wwwDist, wantPaths: []string{"/post?id=1"}},
		{name: "URL picks the tenant, member of its group", channelID: deploysID, channelName: "deploys", user: carol, text: "https://shop.example.net/cart",
			wantOn: shopTen, wantPaths: []string{"/cart"}, wantText: []string{"on `shop`"}},
		{name: "cache tags on the tenant", channelID: deploysID, channelName: "deploys", user: bob, text: "shop #Product:TV #sale",
			wantOn: shopTen, wantPaths: []string{"#product:tv", "#sale"}, wantText: []string{"2 billed paths"}},
		{name: "team channel purges its own target by default", channelID: docsChan, channelName: "docs", user: alice, text: "/guide/intro",
			wantConfirm: true, wantText: []string{"wants to purge 1 path on `docs`", "every purge here needs an approval", "Anyone who may purge `docs` may approve."}},
		{name: "user group member within the prefixes", channelID: docsChan, channelName: "docs", user: bob, text: "docs /api/v1/* https://docs.example.com/guide/a",
			wantConfirm: true},
		{name: "full purge waits for approval", channelID: deploysID, channelName: "deploys", user: mallory, text: "",
			wantConfirm: true, wantText: []string{"a purge of everything (/*) needs an approval", "Anyone in this channel other than <@U0MALLORY1> may approve."}},

		// Refused: the channel may purge nothing.
		{name: "channel with no target", channelID: randomID, channelName: "random", user: alice, text: "/a",
			wantRule: access.RuleChannels, wantText: []string{"This channel may not purge", "#deploys", "<#C0DOCS0001>"}},
		// Refused by the target's channels.
		{name: "target of another channel", channelID: deploysID, channelName: "deploys", user: alice, text: "docs /guide/a",
			wantRule: access.RuleChannels, wantText: []string{"`docs` may not be purged from #deploys", "<#C0DOCS0001>", "Here you may purge: `www`"}},
		{name: "URL of another channel's target", channelID: deploysID, channelName: "deploys", user: bob, text: "https://docs.example.com/guide/a",
			wantRule: access.RuleChannels, wantText: []string{"`docs` may not be purged from #deploys"}},
		// Refused by users/usergroups.
		{name: "not in the tenant's group", channelID: deploysID, channelName: "deploys", user: mallory, text: "https://shop.example.net/cart",
			wantRule: access.RulePeople, wantText: []string{"Only members of <!subteam^S0SHOPTEAM> may purge `shop`"}},
		{name: "neither named nor in the group", channelID: docsChan, channelName: "docs", user: mallory, text: "docs /guide/a",
			wantRule: access.RulePeople, wantText: []string{"Only <@U0ALICE001> or members of <!subteam^S0WEBTEAM1> may purge `docs`"}},
		// Refused by paths.
		{name: "outside the prefixes", channelID: docsChan, channelName: "docs", user: alice, text: "docs /blog/a",
			wantRule: access.RulePaths, wantText: []string{"`/blog/a` is outside what `docs` may purge", "`/guide/*`, `/api/*`"}},
		{name: "full purge of a path-limited target", channelID: docsChan, channelName: "docs", user: alice, text: "docs",
			wantRule: access.RulePaths, wantText: []string{"`/*` is outside what `docs` may purge"}},
		{name: "tag on a path-limited target", channelID: docsChan, channelName: "docs", user: alice, text: "docs #guide",
			wantRule: access.RulePaths, wantText: []string{"`#guide` is a cache tag"}},
		{name: "dot segment out of a prefix", channelID: docsChan, channelName: "docs", user: alice, text: "docs /guide/../admin/*",
			wantRule: access.RulePaths, wantText: []string{"has a . or .. segment"}},
		{name: "one path of several outside", channelID: docsChan, channelName: "docs", user: alice, text: "/guide/a /api/b /secret",
			wantRule: access.RulePaths, wantText: []string{"`/secret` is outside"}},
		// Refused by domains.
		{name: "URL of another target than the named one", channelID: deploysID, channelName: "deploys", user: carol, text: "www https://shop.example.net/x",
			wantRule: access.RuleDomains, wantText: []string{"`shop.example.net` belongs to target `shop`, not `www`"}},
		{name: "URL of an unknown host", channelID: deploysID, channelName: "deploys", user: mallory, text: "https://evil.example.org/x",
			wantRule: access.RuleDomains, wantText: []string{"`evil.example.org` is not a host of `www`", "`www.example.com`, `example.com`"}},
		{name: "URLs of two targets", channelID: deploysID, channelName: "deploys", user: carol, text: "https://www.example.com/a https://shop.example.net/b",
			wantRule: access.RuleDomains, wantText: []string{"different targets", "one target per command"}},
		// Refused: no such target.
		{name: "unknown target", channelID: deploysID, channelName: "deploys", user: carol, text: "blog /a",
			wantRule: access.RuleTarget, wantText: []string{"There is no target named `blog`", "You may purge here: `www`, `shop`", "Paths must start with /"}},
	}
	f := newTargetsFixture(t, time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.invalidations(t)
			m := f.send(t, tt.channelID, tt.channelName, tt.user, tt.text)
			text := blocksText(m)
			after := f.invalidations(t)
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("reply lacks %q:\n%s", w, text)
				}
			}
			switch {
			case tt.wantRule != "":
				if m.ResponseType != "ephemeral" || !strings.Contains(text, "Nothing was purged") {
					t.Errorf("refusal is not an ephemeral 'nothing was purged': %s %s", m.ResponseType, text)
				}
				if total(after) != total(before) {
					t.Errorf("a refused request created an invalidation: %d then %d", total(before), total(after))
				}
				if !strings.Contains(f.logs.String(), `"rule":"`+tt.wantRule+`"`) {
					t.Errorf("log does not name the rule %q", tt.wantRule)
				}
			case tt.wantConfirm:
				if m.ResponseType != "in_channel" || !strings.Contains(text, "wants to purge") || total(after) != total(before) {
					t.Errorf("approval request: %s (%d then %d invalidations)", text, total(before), total(after))
				}
			default:
				if len(after[tt.wantOn]) != len(before[tt.wantOn])+1 || total(after) != total(before)+1 {
					t.Fatalf("want one new invalidation on %s: %d then %d (all: %d then %d)\n%s", tt.wantOn,
						len(before[tt.wantOn]), len(after[tt.wantOn]), total(before), total(after), text)
				}
				newest := after[tt.wantOn][0]
				if !slices.Equal(newest.Paths, tt.wantPaths) {
					t.Errorf("paths on %s = %q, want %q", tt.wantOn, newest.Paths, tt.wantPaths)
				}
				if _, user := purge.Requester(newest.CallerReference); user != tt.user {
					t.Errorf("CallerReference %q does not name %s", newest.CallerReference, tt.user)
				}
				if id := replyInvalidationID(m); id != newest.ID {
					t.Errorf("reply names invalidation %q, the emulator holds %q", id, newest.ID)
				}
			}
		})
	}
}

// TestTargetsListing checks `targets` and `help`: each person sees what they
// may purge from where they are, and nothing else.
func TestTargetsListing(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	tests := []struct {
		channelID, channelName, user, text string
		want, wantNot                      []string
	}{
		{deploysID, "deploys", mallory, "targets", []string{"`www` (distribution `EWWWEXAMPLE01`, the default)", "URLs on www.example.com, example.com", "`/*` needs an approval", "2 other targets may be purged"}, []string{"`shop`", "`docs`"}},
		{deploysID, "deploys", carol, "targets", []string{"`www`", "`shop` (tenant `dt_shop0example`)", "1 other target may be purged"}, []string{"`docs`"}},
		{docsChan, "docs", alice, "targets", []string{"`docs` (distribution `EDOCSEXAMPLE1`)", "only `/guide/*`, `/api/*`", "every purge needs an approval"}, []string{"`www`"}},
		{docsChan, "docs", mallory, "targets", []string{"You may purge nothing from here."}, nil},
		// help's example of a named target is one the person could run
		// where they are: none here, so a placeholder...
		{randomID, "random", alice, "help", []string{"`/cdn-purge TARGET /blog/*` purges on a target by name", "You may purge nothing from here.", "Purges are allowed in #deploys, <#C0DOCS0001>"}, []string{"`/cdn-purge www"}},
		// ...and in #docs, docs with a path its paths rule allows.
		{docsChan, "docs", alice, "help", []string{"`/cdn-purge docs /guide/*` purges on the target `docs`"}, []string{"`/cdn-purge www", "/blog/*` purges on"}},
		{deploysID, "deploys", bob, "help", []string{"`/cdn-purge targets`", "`/cdn-purge status [TARGET] [ID]`", "`/cdn-purge list [TARGET]`", "`shop`", "`www`"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.text+" in "+tt.channelName, func(t *testing.T) {
			text := blocksText(f.send(t, tt.channelID, tt.channelName, tt.user, tt.text))
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("reply lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("reply shows %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestTargetsApproval checks that the approver of a target's purge must be
// someone that target's rules allow, and someone other than the requester
// where the target says so.
func TestTargetsApproval(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	in := testutil.NewSlackInbox(t, responseSecret)
	m := f.send(t, docsChan, "docs", alice, "/guide/*")
	if !strings.Contains(m.Text, "wants to purge 1 path on `docs`") {
		t.Fatalf("approval request: %s", m.Text)
	}
	if f.click(t, m, slack.ActionApprove, mallory, docsChan, in.URL); total(f.invalidations(t)) != 0 {
		t.Fatal("someone the target's rules refuse approved a purge")
	}
	if got := in.Next(t); !strings.Contains(got.Text, "You may not approve this purge") || !strings.Contains(got.Text, "rule: users/usergroups") {
		t.Fatalf("answer to the refused approver: %s", got.Text)
	}
	f.click(t, m, slack.ActionApprove, bob, docsChan, in.URL)
	got := in.Next(t)
	all := f.invalidations(t)
	if len(all[docsDist]) != 1 || total(all) != 1 || !slices.Equal(all[docsDist][0].Paths, []string{"/guide/*"}) {
		t.Fatalf("approved purge: %v", all)
	}
	if !strings.Contains(got.Text, "Purging 1 path on `docs`") {
		t.Fatalf("after approval: %s", got.Text)
	}

	// www: the requester may not approve their own full purge.
	m = f.send(t, deploysID, "deploys", mallory, "")
	f.click(t, m, slack.ActionApprove, mallory, deploysID, in.URL)
	if got := in.Next(t); !strings.Contains(got.Text, "someone else") || len(f.invalidations(t)[wwwDist]) != 0 {
		t.Fatalf("requester approving: %s", got.Text)
	}
}

// TestTargetsUserGroupsFailClosed checks that when Slack's API cannot say
// who is in a group, nobody passes the group rule, and that the answer is
// cached, not asked of Slack for every command.
func TestTargetsUserGroupsFailClosed(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	f.send(t, deploysID, "deploys", carol, "shop /a")
	f.send(t, deploysID, "deploys", carol, "shop /b")
	if hits := f.slack.Hits(); hits != 1 {
		t.Errorf("two commands within the TTL asked Slack %d times, want 1", hits)
	}
	f.slack.Reply(200, nil, []byte(`{"ok":false,"error":"missing_scope","needed":"usergroups:read"}`))
	f.clock.Advance(10 * time.Minute)
	before := total(f.invalidations(t))
	text := blocksText(f.send(t, deploysID, "deploys", bob, "shop /c"))
	if total(f.invalidations(t)) != before || strings.Contains(text, "Purging") {
		t.Fatalf("a purge went ahead while Slack could not answer: %s", text)
	}
	if strings.Contains(text, testutil.SlackBotToken) || strings.Contains(f.logs.String(), testutil.SlackBotToken) {
		t.Fatal("the bot token leaked")
	}
}

// TestTargetsInFlightLimit checks that a purge that would pass CloudFront's
// 15 wildcard paths in progress is refused before it is sent, naming what
// is in flight, and that another target's limit is its own.
func TestTargetsInFlightLimit(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	var ids []string
	for i := range 3 {
		items := make([]string, 5)
		for j := range items {
			items[j] = fmt.Sprintf("/w%d-%d/*", i, j)
		}
		m := f.send(t, deploysID, "deploys", mallory, strings.Join(items, " "))
		ids = append(ids, replyInvalidationID(m))
	}
	m := f.send(t, deploysID, "deploys", mallory, "/one-more/*")
	text := blocksText(m)
	for _, w := range append([]string{"15 wildcard paths in progress", "this purge adds 1"}, ids...) {
		if !strings.Contains(text, w) {
			t.Errorf("refusal lacks %q:\n%s", w, text)
		}
	}
	if got := len(f.invalidations(t)[wwwDist]); got != 3 {
		t.Errorf("www holds %d invalidations, want 3", got)
	}
	if m := f.send(t, deploysID, "deploys", mallory, "/a-file"); !strings.Contains(m.Text, "Purging 1 path") {
		t.Errorf("a file path is within the limits: %s", m.Text)
	}
	if m := f.send(t, deploysID, "deploys", carol, "shop /x/*"); !strings.Contains(m.Text, "Purging 1 path on `shop`") {
		t.Errorf("the tenant has its own limit: %s", m.Text)
	}
}

// TestTargetsUsage checks `/cdn-purge usage` against the emulator's record:
// this month's invalidations only, whoever made them, per target, with the
// cost beyond the free paths.
func TestTargetsUsage(t *testing.T) {
	f := newTargetsFixture(t, 0)
	ctx := context.Background()
	// Last month: not counted.
	f.clock.Set(time.Date(2026, time.October, 31, 23, 0, 0, 0, time.UTC))
	f.send(t, deploysID, "deploys", mallory, "/october/a /october/b")
	f.clock.Set(time.Date(2026, time.November, 25, 12, 0, 0, 0, time.UTC))
	f.send(t, deploysID, "deploys", mallory, "/a /b/* #tag")
	f.send(t, deploysID, "deploys", carol, "shop /x /y")
	// Made outside cdnpurge (the console, a pipeline): counted, as billed.
	many := make([]string, 1200)
	for i := range many {
		many[i] = fmt.Sprintf("/p/%d", i)
	}
	if _, err := f.inv.CreateInvalidation(ctx, purge.Batch{DistributionID: wwwDist, CallerReference: "console-1", Paths: many}); err != nil {
		t.Fatal(err)
	}
	// The docs team's distribution, in the same account: not named in
	// #deploys, but its paths count towards the account's free 1,000.
	if _, err := f.inv.CreateInvalidation(ctx, purge.Batch{DistributionID: docsDist, CallerReference: "console-2", Paths: many[:5]}); err != nil {
		t.Fatal(err)
	}
	// What the emulator holds this month, counted independently.
	want := map[string][2]int{} // invalidations, paths
	for id, invs := range f.invalidations(t) {
		for _, inv := range invs {
			if !inv.CreateTime.Before(time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)) {
				w := want[id]
				w[0]++
				w[1] += len(inv.Paths)
				want[id] = w
			}
		}
	}
	if want[wwwDist] != [2]int{2, 1203} || want[shopTen] != [2]int{1, 2} || want[docsDist] != [2]int{1, 5} {
		t.Fatalf("emulator record: %v", want)
	}
	text := blocksText(f.send(t, deploysID, "deploys", mallory, "usage"))
	for _, w := range []string{
		"billed in November 2026",
		fmt.Sprintf("`www` (`EWWWEXAMPLE01`): %d paths in %d invalidations", want[wwwDist][1], want[wwwDist][0]),
		fmt.Sprintf("`shop` (`dt_shop0example`): %d paths in %d invalidation\\n", want[shopTen][1], want[shopTen][0]),
		"1 other distribution of this account, purged from other channels: 5 paths in 1 invalidation",
		"Total: 1210 paths; 210 beyond the 1000 free, about $1.05",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("usage lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "docs") || strings.Contains(text, docsDist) {
		t.Errorf("usage in #deploys names the docs team's target:\n%s", text)
	}
}

// TestTargetsRepeatAtLimit checks that a second Approve click on a purge
// that filled the distribution's 15 wildcards is told who approved it, as
// CloudFront's record says, and is never refused for the limit its own
// purge filled.
func TestTargetsRepeatAtLimit(t *testing.T) {
	f := newTargetsFixture(t, time.Hour)
	in := testutil.NewSlackInbox(t, responseSecret)
	for _, n := range []int{5, 5, 4} {
		items := make([]string, n)
		for j := range items {
			items[j] = fmt.Sprintf("/w%d-%d/*", n, j)
		}
		f.clock.Advance(time.Second)
		if m := f.send(t, deploysID, "deploys", mallory, strings.Join(items, " ")); !strings.Contains(m.Text, "Purging") {
			t.Fatalf("filling the limit: %s", m.Text)
		}
	}
	m := f.send(t, deploysID, "deploys", mallory, "")
	f.click(t, m, slack.ActionApprove, bob, deploysID, in.URL)
	if got := in.Next(t); !strings.Contains(got.Text, "Purging 1 path on `www`") {
		t.Fatalf("first approval: %s", got.Text)
	}
	f.clock.Advance(time.Minute)
	f.click(t, m, slack.ActionApprove, carol, deploysID, in.URL)
	if got := in.Next(t); !strings.Contains(got.Text, "<@"+bob+"> already approved it") {
		t.Fatalf("second approval at the limit: %s", got.Text)
	}
	if n := len(f.invalidations(t)[wwwDist]); n != 4 {
		t.Fatalf("www holds %d invalidations, want 4", n)
	}
}
