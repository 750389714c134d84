package purge

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

//go:embed testdata/requested_paths.txt
var requestedPathsTxt string

// realisticList is testdata/requested_paths.txt: what one release's purge
// request looks like before cdnpurge reduces it.
func realisticList(tb testing.TB) []string {
	tb.Helper()
	var items []string
	for line := range strings.Lines(requestedPathsTxt) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			items = append(items, line)
		}
	}
	if len(items) < 1000 {
		tb.Fatalf("testdata/requested_paths.txt holds %d items; want the realistic list", len(items))
	}
	return items
}

// CloudFront's pricing (the CloudFront pricing page): the first 1,000 paths
// a month are free, then $0.005 a path; a wildcard counts as one.
const (
	freePathsPerMonth = 1000
	dollarsPerPath    = 0.005
)

func monthlyCost(pathsPerMonth int) float64 {
	return float64(max(pathsPerMonth-freePathsPerMonth, 0)) * dollarsPerPath
}

// TestRealisticListCost reduces the realistic list, checks that the result is
// the minimal cover of what was asked (see checkMinimalCover), and logs what
// it saves: run with -v to read the figures BENCHMARKS.md quotes.
func TestRealisticListCost(t *testing.T) {
	items := realisticList(t)
	got, err := NormalizePaths(items)
	if err != nil {
		t.Fatal(err)
	}
	normalized := make([]string, len(items))
	for i, it := range items {
		if normalized[i], err = NormalizePath(it); err != nil {
			t.Fatal(err)
		}
	}
	checkMinimalCover(t, normalized, got)
	unique := len(slices.Compact(slices.Sorted(slices.Values(normalized))))
	files, wildcards := CountPaths(got)
	t.Logf("requested items: %d (%d distinct once normalized)", len(items), unique)
	t.Logf("billed paths sent by cdnpurge: %d (%d files, %d wildcards)", len(got), files, wildcards)
	for _, perMonth := range []int{1, 4, 20} {
		t.Logf("%2d such purges a month: as given %6d paths $%8.2f; cdnpurge %6d paths $%8.2f",
			perMonth, perMonth*len(items), monthlyCost(perMonth*len(items)), perMonth*len(got), monthlyCost(perMonth*len(got)))
	}
}

// checkMinimalCover checks that cover is the minimal cover of in:
//   - it invalidates everything in asks for: each path of in is covered by
//     one of cover;
//   - it invalidates nothing more: each path of cover is one of in;
//   - no path of cover covers another, and none repeats.
//
// Covering is a partial order on normalized paths (transitive, and two paths
// that cover each other are equal), so a covering subset of in with no path
// covering another holds exactly the paths of in that nothing else in covers:
// every covering subset must hold them, so none is smaller.
func checkMinimalCover(t *testing.T, in, cover []string) {
	t.Helper()
	for _, p := range in {
		if !slices.ContainsFunc(cover, func(c string) bool { return Covers(c, p) }) {
			t.Errorf("%q is asked for but not covered", p)
		}
	}
	for i, c := range cover {
		if !slices.Contains(in, c) {
			t.Errorf("%q is sent but was not asked for", c)
		}
		for j, d := range cover {
			if i != j && Covers(d, c) {
				t.Errorf("%q is sent, but %q covers it", c, d)
			}
		}
	}
}

// minimalCoverReference is the plain quadratic definition of MinimalCover:
// keep a path unless another covers it strictly, or it repeats an earlier
// one. MinimalCover must return exactly this, in this order.
func minimalCoverReference(paths []string) []string {
	out := make([]string, 0, len(paths))
next:
	for i, p := range paths {
		for j, q := range paths {
			if i != j && Covers(q, p) && (q != p || j < i) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func TestMinimalCoverMatchesReference(t *testing.T) {
	check := func(name string, in []string) {
		t.Helper()
		got, want := MinimalCover(in), minimalCoverReference(in)
		if !slices.Equal(got, want) {
			t.Errorf("%s: MinimalCover(%d paths) = %q, want %q", name, len(in), got, want)
		}
	}
	items := realisticList(t)
	for i, it := range items {
		items[i], _ = NormalizePath(it)
	}
	check("realistic list", items)
	// Random lists over a small alphabet, so that prefixes, wildcards and
	// repeats are common, at sizes on both sides of the quadratic cut-off;
	// and with "*" inside paths, which only unnormalized input has.
	r := rand.New(rand.NewPCG(1, 2))
	word := func(alphabet string) string {
		b := []byte{'/'}
		for n := r.IntN(5); n > 0; n-- {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		return string(b)
	}
	for round := range 400 {
		alphabet := "ab/"
		if round%4 == 3 {
			alphabet = "ab/*"
		}
		n := r.IntN(3 * minimalCoverQuadraticMax)
		in := make([]string, n)
		for i := range in {
			in[i] = word(alphabet)
			if r.IntN(3) == 0 {
				in[i] += "*"
			}
		}
		check(fmt.Sprintf("round %d", round), in)
		if t.Failed() {
			return
		}
	}
	check("empty", nil)
	check("star", []string{"*", "/a", "", "**", "*"})
}
