package cdntest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// ProviderTarget is one target of the provider under test, with the
// backend's own view of it: what it received (an API, an emulator), or what
// it serves (a real cache).
type ProviderTarget struct {
	// Provider is the implementation under test, bound to this target.
	Provider purge.Provider
	// Domain is the host a bare path is purged on (the target's first
	// domain); the suite's host items name it.
	Domain string
	// Requests returns how many purge requests the backend has received
	// for this target so far.
	Requests func(t *testing.T) int
	// Prime, when set, makes the objects each item names cached before a
	// purge, for a real cache; nil for an API, which has nothing to prime.
	Prime func(t *testing.T, items []purge.Item)
	// Purged reports whether the backend has purged what it names: for an
	// API or an emulator, that it received a purge of it; for a real
	// cache, that the next fetch of a primed object reaches the origin.
	Purged func(t *testing.T, it purge.Item) bool
}

// ProviderHarness is what the provider suite needs: fresh targets of one
// provider, each with nothing else purging it while the suite runs.
type ProviderHarness struct {
	NewTarget func(t *testing.T) ProviderTarget
}

// RunProvider runs the provider suite: it asks the provider's Capabilities
// and checks that it does what they say, whatever the provider is. Every
// kind it declares is purged and seen purged by the backend, and only what
// was asked; every kind it does not is refused before anything is sent,
// naming what it can do instead; a long list is split as MaxBatch and
// OneKindPerRequest say; a purge with no status to follow is done when
// Purge returns; an idempotent provider answers a repeated Reference with
// the first purge; purges may run at once.
func RunProvider(t *testing.T, h ProviderHarness) {
	t.Helper()
	if h.NewTarget == nil {
		t.Fatal("cdntest: ProviderHarness needs NewTarget")
	}
	s := &providerSuite{h: h, run: runID(t)}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"EachKind", s.testEachKind},
		{"OnlyWhatWasAsked", s.testOnlyWhatWasAsked},
		{"UnsupportedRefusedUnsent", s.testUnsupported},
		{"Batches", s.testBatches},
		{"Repeat", s.testRepeat},
		{"Concurrent", s.testProviderConcurrent},
	} {
		t.Run(tc.name, tc.fn)
	}
}

type providerSuite struct {
	h   ProviderHarness
	run string
}

// sample returns an item of kind k, under the suite's run ID so that runs
// do not see each other's purges.
func (s *providerSuite) sample(k purge.Kind, domain, name string) purge.Item {
	base := "/cdntest/" + s.run + "/" + name
	switch k {
	case purge.KindFile:
		return purge.Item{Kind: k, Path: base + ".html"}
	case purge.KindPrefix:
		return purge.Item{Kind: k, Path: base + "/*"}
	case purge.KindTag:
		return purge.Item{Kind: k, Tag: "cdntest-" + strings.ToLower(s.run) + "-" + name}
	case purge.KindHost:
		return purge.Item{Kind: k, Scheme: "https", Host: domain, Path: purge.FullPurge}
	}
	return purge.Item{Kind: purge.KindEverything, Path: purge.FullPurge}
}

func (s *providerSuite) newTarget(t *testing.T) ProviderTarget {
	t.Helper()
	pt := s.h.NewTarget(t)
	if pt.Provider == nil || pt.Requests == nil || pt.Purged == nil {
		t.Fatal("cdntest: a ProviderTarget needs Provider, Requests and Purged")
	}
	return pt
}

func (s *providerSuite) purge(t *testing.T, pt ProviderTarget, ref string, items []purge.Item) *purge.Invalidation {
	t.Helper()
	if pt.Prime != nil {
		pt.Prime(t, items)
	}
	inv, err := pt.Provider.Purge(ctx(t), purge.Request{Reference: ref, Items: items})
	if err != nil {
		t.Fatalf("Purge(%v): %v", purge.ItemStrings(items), err)
	}
	caps := pt.Provider.Capabilities()
	if !caps.Status && !inv.Done() {
		t.Errorf("Purge: status %q, want %q: %s has no status to follow, so a purge is done when Purge returns", inv.Status, purge.StatusCompleted, caps.Provider)
	}
	return inv
}

func (s *providerSuite) testEachKind(t *testing.T) {
	pt := s.newTarget(t)
	caps := pt.Provider.Capabilities()
	if caps.Provider == "" || caps.Kinds&purge.KindFile == 0 {
		t.Fatalf("Capabilities = %+v: a provider has a name and purges files at least", caps)
	}
	for _, k := range caps.Kinds.Split() {
		t.Run(k.String(), func(t *testing.T) {
			it := s.sample(k, pt.Domain, "each-"+k.String())
			before := pt.Requests(t)
			inv := s.purge(t, pt, "cdntest-each-"+k.String()+"-"+s.run, []purge.Item{it})
			if got := pt.Requests(t) - before; got != 1 {
				t.Errorf("one %s item took %d requests, want 1", k, got)
			}
			if inv.Requests != 1 {
				t.Errorf("Invalidation.Requests = %d, want 1", inv.Requests)
			}
			if !pt.Purged(t, it) {
				t.Errorf("the backend did not purge %s (%s)", it, k)
			}
		})
	}
}

func (s *providerSuite) testOnlyWhatWasAsked(t *testing.T) {
	pt := s.newTarget(t)
	asked := s.sample(purge.KindFile, pt.Domain, "asked")
	other := s.sample(purge.KindFile, pt.Domain, "not-asked")
	if pt.Prime != nil {
		pt.Prime(t, []purge.Item{other})
	}
	s.purge(t, pt, "cdntest-only-"+s.run, []purge.Item{asked})
	if !pt.Purged(t, asked) {
		t.Errorf("the backend did not purge %s", asked)
	}
	if pt.Purged(t, other) {
		t.Errorf("the backend purged %s, which was not asked for", other)
	}
}

func (s *providerSuite) testUnsupported(t *testing.T) {
	pt := s.newTarget(t)
	caps := pt.Provider.Capabilities()
	missing := (purge.AllKinds &^ caps.Kinds).Split()
	if len(missing) == 0 {
		t.Skipf("%s purges every kind of item: nothing to refuse", caps.Provider)
	}
	for _, k := range missing {
		t.Run(k.String(), func(t *testing.T) {
			it := s.sample(k, pt.Domain, "refused")
			ok := s.sample(purge.KindFile, pt.Domain, "refused-ok")
			before := pt.Requests(t)
			inv, err := pt.Provider.Purge(ctx(t), purge.Request{Reference: "cdntest-refused-" + s.run, Items: []purge.Item{ok, it}})
			if err == nil {
				t.Fatalf("Purge(%s) = %+v, want a refusal: %s does not purge by %s", it, inv, caps.Provider, k)
			}
			if purge.ErrorCode(err) != purge.Invalid || !errors.Is(err, purge.ErrUnsupported) {
				t.Errorf("error = %v (code %s), want Invalid wrapping purge.ErrUnsupported", err, purge.ErrorCode(err))
			}
			if msg := purge.ErrorMessage(err); !strings.Contains(msg, caps.Provider) || !strings.Contains(msg, it.String()) {
				t.Errorf("message %q does not name the provider and the item", msg)
			}
			if got := pt.Requests(t) - before; got != 0 {
				t.Errorf("a refused purge sent %d requests, want none: nothing is purged by half", got)
			}
			if pt.Purged(t, ok) {
				t.Errorf("the supported item %s of a refused purge was purged", ok)
			}
		})
	}
}

func (s *providerSuite) testBatches(t *testing.T) {
	pt := s.newTarget(t)
	caps := pt.Provider.Capabilities()
	var items []purge.Item
	n := 3
	if caps.MaxBatch > 0 {
		n = 2*caps.MaxBatch + 1
	}
	for i := range n {
		items = append(items, s.sample(purge.KindFile, pt.Domain, fmt.Sprintf("batch-%d", i)))
	}
	if caps.Kinds.Has(purge.KindTag) {
		items = append(items, s.sample(purge.KindTag, pt.Domain, "batch-tag"))
	}
	want := len(caps.Batches(items))
	if caps.MaxBatch <= 0 && !caps.OneKindPerRequest {
		want = 1
	}
	before := pt.Requests(t)
	inv := s.purge(t, pt, "cdntest-batches-"+s.run, items)
	if got := pt.Requests(t) - before; got != want {
		t.Errorf("%d items took %d requests, want %d (MaxBatch %d, OneKindPerRequest %v)", len(items), got, want, caps.MaxBatch, caps.OneKindPerRequest)
	}
	if inv.Requests != want {
		t.Errorf("Invalidation.Requests = %d, want %d", inv.Requests, want)
	}
	for _, it := range []purge.Item{items[0], items[len(items)-1]} {
		if !pt.Purged(t, it) {
			t.Errorf("the backend did not purge %s", it)
		}
	}
}

func (s *providerSuite) testRepeat(t *testing.T) {
	pt := s.newTarget(t)
	caps := pt.Provider.Capabilities()
	items := []purge.Item{s.sample(purge.KindFile, pt.Domain, "repeat")}
	ref := "cdntest-repeat-" + s.run
	first := s.purge(t, pt, ref, items)
	if !first.New {
		t.Errorf("first Purge: New = false, want true")
	}
	before := pt.Requests(t)
	second := s.purge(t, pt, ref, items)
	sent := pt.Requests(t) - before
	if caps.Idempotent {
		// Only the ID is asked: a provider may take a repeat close on the
		// first's heels for new (cloudfrontcdn does within five seconds,
		// announcing twice rather than never); RunConformance checks New
		// after that window.
		if second.ID != first.ID || second.ID == "" {
			t.Errorf("repeated Reference: ID %q; want the first purge's, %q: %s is idempotent", second.ID, first.ID, caps.Provider)
		}
		return
	}
	// Not idempotent: the repeat is a purge of its own, sent and made.
	if !second.New || sent != 1 || !pt.Purged(t, items[0]) {
		t.Errorf("repeated Reference on a provider that is not idempotent: New %v, %d requests, purged %v; want a purge of its own",
			second.New, sent, pt.Purged(t, items[0]))
	}
}

func (s *providerSuite) testProviderConcurrent(t *testing.T) {
	pt := s.newTarget(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	items := make([][]purge.Item, n)
	for i := range n {
		items[i] = []purge.Item{s.sample(purge.KindFile, pt.Domain, fmt.Sprintf("concurrent-%d", i))}
	}
	if pt.Prime != nil {
		for i := range n {
			pt.Prime(t, items[i])
		}
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = pt.Provider.Purge(ctx(t), purge.Request{Reference: fmt.Sprintf("cdntest-concurrent-%s-%d", s.run, i), Items: items[i]})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("purge %d: %v", i, err)
		} else if !pt.Purged(t, items[i][0]) {
			t.Errorf("purge %d: the backend did not purge %s", i, items[i][0])
		}
	}
}
