package slack

import (
	"context"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TestRefusalWords: access's refusals, data, read as they always have in
// Slack: the rule, the target and what would be allowed, in mrkdwn.
func TestRefusalWords(t *testing.T) {
	ts, err := access.NewTargets([]access.Target{
		{Name: "www", DistributionID: "E1", Channels: Channels{"deploys"}, Domains: []string{"www.example.com"}},
		{Name: "docs", DistributionID: "E2", Channels: Channels{"C0DOCS0001"}, Domains: []string{"docs.example.com"},
			Paths: []string{"/guide/*"}, Users: []string{"U1"}, UserGroups: []string{"S1"}},
	}, "www")
	if err != nil {
		t.Fatal(err)
	}
	p := &access.Policy{Targets: ts}
	ctx := context.Background()
	deploys := access.Who{UserID: "U9", ChannelName: "deploys"}
	docs := ts.Named("docs")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown target", must(p.Resolve(ctx, deploys, purge.Command{Target: "nope"})),
			"There is no target named `nope` (rule: target). You may purge here: `www`. Paths must start with /. Nothing was purged."},
		{"two targets", must(p.Resolve(ctx, deploys, purge.Command{Hosts: []string{"www.example.com", "docs.example.com"}})),
			"These URLs are on hosts of different targets (`www` and `docs`): purge one target per command. Nothing was purged."},
		{"another target's host", must(p.Resolve(ctx, deploys, purge.Command{Target: "www", Hosts: []string{"docs.example.com"}})),
			"`docs.example.com` belongs to target `docs`, not `www` (rule: domains). Nothing was purged."},
		{"not a host", must(p.Resolve(ctx, deploys, purge.Command{Target: "www", Hosts: []string{"a&b.example.org"}})),
			"`a&amp;b.example.org` is not a host of `www` (rule: domains): its URLs must be on `www.example.com`. Nothing was purged."},
		{"channel", p.CheckChannel(ctx, docs, deploys),
			"`docs` may not be purged from #deploys (rule: channels); it may be from <#C0DOCS0001>. Here you may purge: `www`. Nothing was purged."},
		{"channel without a name", p.CheckChannel(ctx, docs, access.Who{ChannelName: "directmessage"}),
			"`docs` may not be purged from this channel (rule: channels); it may be from <#C0DOCS0001>. Nothing was purged."},
		{"person", p.CheckPerson(ctx, &access.Target{Name: "docs", Users: []string{"U1"}}, deploys),
			"Only <@U1> may purge `docs` (rule: users/usergroups). Nothing was purged."},
		{"tag", p.CheckPaths(docs, []string{"#t"}),
			"`#t` is a cache tag, and `docs` may purge only paths under `/guide/*` (rule: paths): a tag can reach any path. Nothing was purged."},
		{"dot segment", p.CheckPaths(docs, []string{"/guide/../x"}),
			"`/guide/../x` has a . or .. segment, and `docs` may purge only paths under `/guide/*` (rule: paths). Nothing was purged."},
		{"outside", p.CheckPaths(docs, []string{"/api"}),
			"`/api` is outside what `docs` may purge (rule: paths): `/guide/*`. Nothing was purged."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := userMessage(tt.err); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if m := ErrorMessage(tt.err); m.Text != ":no_entry: "+tt.want {
				t.Errorf("ErrorMessage = %q", m.Text)
			}
		})
	}
}

func must(_ *access.Target, err error) error { return err }

// TestNotAPathWords: on the unnamed single target, a bare word is taken for
// a path without its slash.
func TestNotAPathWords(t *testing.T) {
	ts := access.Single("E1", Channels{"deploys"}, purge.ConfirmPolicy{})
	_, err := (&access.Policy{Targets: ts}).Resolve(context.Background(), access.Who{ChannelName: "deploys"}, purge.Command{Target: "blog"})
	if purge.ErrorCode(err) != purge.Invalid || !strings.Contains(ErrorMessage(err).Text, "did you mean `/blog`") {
		t.Fatalf("Resolve = %v", err)
	}
	if got := label(ts.Default()); got != "`E1`" {
		t.Errorf("label = %s", got)
	}
}

func TestOrList(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", "a b": "a or b", "a b c": "a, b or c"} {
		if got := orList(strings.Fields(in)); got != want {
			t.Errorf("orList(%q) = %q, want %q", in, got, want)
		}
	}
}
