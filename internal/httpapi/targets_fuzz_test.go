package httpapi

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// FuzzTargets sends any command text, from any of the test's people and
// channels, to the three targets of testdata/targets.yaml, and checks the
// one property that matters: an invalidation is created only where every
// rule of its target allows it. The rules are checked here again, written
// out from the file, not through package access: the channel, the person
// (named, or in a group the Slack stand-in lists), the path prefixes (no
// tag, no dot segment), confirm: always and full-purge, and nothing on
// more than one target at once.
func FuzzTargets(f *testing.F) {
	for _, s := range []string{
		"", "/blog/*", "www /a", "shop #tag", "docs /guide/a", "https://shop.example.net/x",
		"https://docs.example.com/guide/a", "docs /guide/../x", "https://www.example.com/a https://shop.example.net/b",
		"status", "usage", "targets", "list shop", "www", "shop", "#a #b", "blog /x",
	} {
		for u := range 4 {
			for c := range 3 {
				f.Add(s, uint8(u), uint8(c))
			}
		}
	}
	// Invalidations complete at once: the in-progress limits would
	// otherwise refuse every purge after a few, and the fuzzing would test
	// nothing but them.
	fx := newTargetsFixture(f, 0)
	people := []string{alice, bob, carol, mallory}
	channels := [][2]string{{deploysID, "deploys"}, {docsChan, "docs"}, {randomID, "random"}}
	// What the file says, written out.
	type rules struct {
		channel   string
		people    []string // empty: anyone in the channel
		prefixes  []string // empty: any path
		confirmed func(paths []string) bool
	}
	members := map[string][]string{"S0WEBTEAM1": {bob}, "S0SHOPTEAM": {carol, bob}}
	byDist := map[string]rules{
		wwwDist:  {channel: deploysID, confirmed: func(p []string) bool { return slices.Contains(p, "/*") }},
		docsDist: {channel: docsChan, people: append([]string{alice}, members["S0WEBTEAM1"]...), prefixes: []string{"/guide/", "/api/"}, confirmed: func([]string) bool { return true }},
		shopTen:  {channel: deploysID, people: members["S0SHOPTEAM"], confirmed: func([]string) bool { return false }},
	}
	newest := func(t *testing.T) map[string]string {
		out := map[string]string{}
		for id := range byDist {
			page, err := fx.inv.ListInvalidations(context.Background(), id, purge.ListOptions{MaxItems: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 0 {
				out[id] = page.Items[0].ID
			}
		}
		return out
	}
	f.Fuzz(func(t *testing.T, text string, user, channel uint8) {
		who := people[int(user)%len(people)]
		where := channels[int(channel)%len(channels)]
		before := newest(t)
		fx.send(t, where[0], where[1], who, text)
		after := newest(t)
		created := 0
		for dist, id := range after {
			if id == before[dist] {
				continue
			}
			created++
			inv, err := fx.inv.GetInvalidation(context.Background(), dist, id)
			if err != nil {
				t.Fatal(err)
			}
			r := byDist[dist]
			switch {
			case where[0] != r.channel:
				t.Fatalf("%q by %s in %s purged %s, which may not be purged from there", text, who, where[1], dist)
			case len(r.people) > 0 && !slices.Contains(r.people, who):
				t.Fatalf("%q by %s purged %s, which only %v may purge", text, who, dist, r.people)
			case r.confirmed(inv.Paths):
				t.Fatalf("%q purged %s (%q) without the approval its target asks for", text, dist, inv.Paths)
			}
			for _, p := range inv.Paths {
				if len(r.prefixes) == 0 {
					continue
				}
				if purge.IsTag(p) || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
					!slices.ContainsFunc(r.prefixes, func(pre string) bool { return strings.HasPrefix(p, pre) }) {
					t.Fatalf("%q purged %q on %s, outside %v", text, p, dist, r.prefixes)
				}
			}
			if _, requester := purge.Requester(inv.CallerReference); requester != who {
				t.Fatalf("invalidation %s names %q, not %s", id, requester, who)
			}
		}
		if created > 1 {
			t.Fatalf("%q purged %d targets at once", text, created)
		}
	})
}
