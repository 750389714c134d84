// Package cdntest holds the conformance suites of cdnpurge's providers.
//
// RunProvider is the suite every purge.Provider passes, whatever its CDN:
// it asks the provider's Capabilities and checks that it does what they
// say (each kind it takes purged and seen purged by the backend, each kind
// it does not refused before anything is sent, long lists split as its
// limits say, idempotency where it claims it). A provider's test builds a
// ProviderHarness over the backend's own record: an emulator's, moto_server's,
// or a real cache's answers.
//
// RunConformance is the deeper suite for a provider with a history
// (Capabilities.History: CloudFront), run on every purge.Invalidator,
// whether it talks to CloudFront, to cdnpurge's emulator or to moto_server.
// A backend's test builds a Harness around a distribution and a distribution
// tenant that exist and calls RunConformance. The suite checks what the
// CloudFront API reference promises: CreateInvalidation, GetInvalidation and
// ListInvalidations results, idempotency by CallerReference, error codes,
// newest-first listing with paging, and that an invalidation completes; then
// it checks all of that again on the tenant, whose invalidations the
// ...ForDistributionTenant operations serve (see purge.IsTenantID). Where a
// known emulator falls short of the reference, a Harness field names the gap
// and the suite skips only the check it breaks, saying why.
package cdntest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Harness is what the suite needs from a backend.
type Harness struct {
	// Invalidator is the implementation under test.
	Invalidator purge.Invalidator
	// DistributionID names an existing distribution that nothing else
	// invalidates while the suite runs.
	DistributionID string
	// TenantID names an existing distribution tenant (dt_...) that nothing
	// else invalidates while the suite runs. The suite runs every check
	// again in the subtest Tenant, with TenantID where DistributionID was.
	// It is required unless NoTenants is set.
	TenantID string
	// CompletesAtOnce is true for backends that report Completed
	// immediately (moto_server does, contrary to the AWS docs); the suite
	// then tolerates Completed where it expects InProgress.
	CompletesAtOnce bool
	// CompleteWithin bounds how long the suite polls for Completed. Zero
	// means 15 minutes, which real CloudFront sometimes needs.
	CompleteWithin time.Duration

	// IgnoresCallerReference is true for moto_server (5.x): it stores every
	// CreateInvalidation as a new invalidation whatever its CallerReference,
	// so a repeat creates a second invalidation instead of returning the
	// first, and other paths under the same CallerReference are accepted
	// instead of failing with InvalidationBatchAlreadyExists. The CloudFront
	// API reference wins: set this only for such an emulator; the suite then
	// skips those two cases, naming the gap.
	IgnoresCallerReference bool
	// LaxList is true for moto_server (5.x), whose ListInvalidations ignores
	// MaxItems and Marker (one page, never truncated), lists oldest first,
	// and lists an unknown distribution as empty instead of failing with
	// NoSuchDistribution. The suite then checks only that created
	// invalidations are listed, and skips the order, paging and
	// unknown-distribution checks of List, naming the gap.
	LaxList bool
	// NoTenants is true for moto_server (5.x), which has no distribution
	// tenants: it serves none of the ...ForDistributionTenant operations.
	// The suite then skips the Tenant subtest, naming the gap.
	NoTenants bool
	// Advance moves the backend's clock on by d, for a backend whose clock
	// a test sets (the emulator's Options.Now). Nil means real time: the
	// suite waits.
	Advance func(d time.Duration)
}

// repeatAfter is how long after a first call the suite repeats it to see
// CloudFront answer with the existing invalidation, New false: longer than
// the five seconds within which cloudfrontcdn takes an answer for a new
// invalidation.
const repeatAfter = 6 * time.Second

// RunConformance runs the suite against h, one subtest per behavior.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	switch {
	case h.Invalidator == nil || h.DistributionID == "":
		t.Fatal("cdntest: Harness needs an Invalidator and a DistributionID")
	case h.TenantID == "" && !h.NoTenants:
		t.Fatal("cdntest: Harness needs a TenantID, or NoTenants for a backend that has no distribution tenants")
	case h.TenantID != "" && !purge.IsTenantID(h.TenantID):
		t.Fatalf("cdntest: Harness.TenantID %q is not a distribution tenant ID (%s...)", h.TenantID, purge.TenantPrefix)
	case purge.IsTenantID(h.DistributionID):
		t.Fatalf("cdntest: Harness.DistributionID %q is a tenant ID; set it as TenantID", h.DistributionID)
	}
	if h.CompleteWithin <= 0 {
		h.CompleteWithin = 15 * time.Minute
	}
	(&suite{h: h, run: runID(t)}).runAll(t)
	t.Run("Tenant", func(t *testing.T) {
		if h.NoTenants {
			t.Skip("Harness.NoTenants: this backend (moto_server) has no distribution tenants; it serves none " +
				"of CreateInvalidationForDistributionTenant, GetInvalidationForDistributionTenant and " +
				"ListInvalidationsForDistributionTenant")
		}
		th := h
		th.DistributionID = h.TenantID
		(&suite{h: th, run: runID(t)}).runAll(t)
	})
}

// runAll runs every check, one subtest each, on s.h.DistributionID: a
// distribution, or in the Tenant subtest a distribution tenant.
func (s *suite) runAll(t *testing.T) {
	t.Helper()
	t.Run("CreateAndGet", s.testCreateAndGet)
	t.Run("RepeatReturnsSameInvalidation", s.testRepeat)
	t.Run("SameCallerReferenceOtherPathsConflicts", s.testConflict)
	t.Run("UnknownDistributionNotFound", s.testUnknownDistribution)
	t.Run("UnknownInvalidationNotFound", s.testUnknownInvalidation)
	t.Run("ListNewestFirst", s.testListNewestFirst)
	t.Run("ListPaging", s.testListPaging)
	t.Run("Completes", s.testCompletes)
	t.Run("Concurrent", s.testConcurrent)
}

// callTimeout bounds each call of the suite, so that a backend that hangs
// fails the test instead of stalling it.
const callTimeout = time.Minute

// ctx returns a context for one call of t.
func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Distribution, tenant and invalidation IDs no backend has.
const (
	unknownDistributionID = "ENOSUCHDIST0000"
	unknownTenantID       = purge.TenantPrefix + "NoSuchTenant0000000000000000"
	unknownInvalidationID = "INOSUCHINVAL0000"
)

type suite struct {
	h   Harness
	run string       // unique to this run, in every caller reference and path
	n   atomic.Int64 // numbers the batches of the run

}

func runID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// batch returns a batch with a caller reference and paths used nowhere else,
// on the harness's distribution.
func (s *suite) batch(paths ...string) purge.Batch {
	n := s.n.Add(1)
	prefix := fmt.Sprintf("/cdntest/%s/%d", s.run, n)
	if len(paths) == 0 {
		paths = []string{"/index.html", "/assets/app.css"}
	}
	b := purge.Batch{
		DistributionID:  s.h.DistributionID,
		CallerReference: fmt.Sprintf("cdntest-%s-%d", s.run, n),
	}
	for _, p := range paths {
		b.Paths = append(b.Paths, prefix+p)
	}
	return b
}

func (s *suite) mustCreate(t *testing.T, b purge.Batch) *purge.Invalidation {
	t.Helper()
	inv, err := s.h.Invalidator.CreateInvalidation(ctx(t), b)
	if err != nil {
		t.Fatalf("CreateInvalidation(%+v): %v", b, err)
	}
	return inv
}

// checkCreated checks what CreateInvalidation returned for b.
func (s *suite) checkCreated(t *testing.T, b purge.Batch, inv *purge.Invalidation) {
	t.Helper()
	if inv == nil {
		t.Fatal("CreateInvalidation returned no invalidation and no error")
	}
	if inv.ID == "" {
		t.Error("CreateInvalidation returned an empty ID")
	}
	switch {
	case inv.Status == purge.StatusInProgress:
	case inv.Status == purge.StatusCompleted && s.h.CompletesAtOnce:
	default:
		t.Errorf("CreateInvalidation status = %q, want %q", inv.Status, purge.StatusInProgress)
	}
	s.checkBatch(t, "CreateInvalidation", b, inv)
}

// checkBatch checks that inv carries what b asked for.
func (s *suite) checkBatch(t *testing.T, op string, b purge.Batch, inv *purge.Invalidation) {
	t.Helper()
	if inv.DistributionID != b.DistributionID {
		t.Errorf("%s DistributionID = %q, want %q", op, inv.DistributionID, b.DistributionID)
	}
	if inv.CallerReference != b.CallerReference {
		t.Errorf("%s CallerReference = %q, want %q", op, inv.CallerReference, b.CallerReference)
	}
	// The API reference does not promise to keep the order of the paths.
	if got, want := slices.Sorted(slices.Values(inv.Paths)), slices.Sorted(slices.Values(b.Paths)); !slices.Equal(got, want) {
		t.Errorf("%s Paths = %q, want %q", op, inv.Paths, b.Paths)
	}
	if inv.CreateTime.IsZero() {
		t.Errorf("%s CreateTime is zero", op)
	}
}

func (s *suite) testCreateAndGet(t *testing.T) {
	// A wildcard path must reach the backend as is, unencoded.
	b := s.batch("/index.html", "/blog/*")
	created := s.mustCreate(t, b)
	s.checkCreated(t, b, created)

	got, err := s.h.Invalidator.GetInvalidation(ctx(t), b.DistributionID, created.ID)
	if err != nil {
		t.Fatalf("GetInvalidation(%q, %q): %v", b.DistributionID, created.ID, err)
	}
	if got.ID != created.ID {
		t.Errorf("GetInvalidation ID = %q, want %q", got.ID, created.ID)
	}
	// Time passes between the calls: InProgress may have become Completed,
	// never the reverse.
	if got.Status != purge.StatusInProgress && got.Status != purge.StatusCompleted {
		t.Errorf("GetInvalidation Status = %q, want %q or %q", got.Status, purge.StatusInProgress, purge.StatusCompleted)
	}
	if created.Status == purge.StatusCompleted && got.Status != purge.StatusCompleted {
		t.Errorf("GetInvalidation Status = %q after CreateInvalidation said %q", got.Status, created.Status)
	}
	s.checkBatch(t, "GetInvalidation", b, got)
	if !got.CreateTime.Equal(created.CreateTime) {
		t.Errorf("GetInvalidation CreateTime = %v, CreateInvalidation said %v", got.CreateTime, created.CreateTime)
	}
}

func (s *suite) testRepeat(t *testing.T) {
	if s.h.IgnoresCallerReference {
		t.Skip("Harness.IgnoresCallerReference: this backend (moto_server) creates a new invalidation " +
			"on every call instead of returning the one with the same CallerReference")
	}
	b := s.batch()
	first := s.mustCreate(t, b)
	if !first.New {
		t.Errorf("first CreateInvalidation with CallerReference %q: New = false, want true", b.CallerReference)
	}
	before := s.listAll(t)
	if s.h.Advance != nil {
		s.h.Advance(repeatAfter)
	} else {
		time.Sleep(repeatAfter) // real time must pass: the backend's clock is CloudFront's
	}
	again := s.mustCreate(t, b)
	if again.New {
		t.Errorf("repeat of CreateInvalidation %s after %s: New = true, want false (CloudFront returned the first call's invalidation)",
			first.ID, repeatAfter)
	}
	if again.ID != first.ID {
		t.Errorf("repeat of CreateInvalidation with CallerReference %q returned ID %q, want the first call's %q",
			b.CallerReference, again.ID, first.ID)
	}
	s.checkBatch(t, "repeated CreateInvalidation", b, again)
	if after := s.listAll(t); len(after) != len(before) {
		t.Errorf("repeat of CreateInvalidation changed the number of invalidations from %d to %d", len(before), len(after))
	}
}

func (s *suite) testConflict(t *testing.T) {
	if s.h.IgnoresCallerReference {
		t.Skip("Harness.IgnoresCallerReference: this backend (moto_server) accepts other paths under a " +
			"used CallerReference instead of answering InvalidationBatchAlreadyExists")
	}
	b := s.batch()
	s.mustCreate(t, b)
	before := s.listAll(t)
	other := b
	other.Paths = []string{b.Paths[0] + ".other"}
	inv, err := s.h.Invalidator.CreateInvalidation(ctx(t), other)
	wantCode(t, "CreateInvalidation with a used CallerReference and other paths", inv, err, purge.Conflict)
	if after := s.listAll(t); len(after) != len(before) {
		t.Errorf("conflicting CreateInvalidation changed the number of invalidations from %d to %d", len(before), len(after))
	}
}

// testUnknownDistribution checks the answer for a distribution that does
// not exist (NoSuchDistribution) or, in the Tenant subtest, a tenant that
// does not exist (EntityNotFound).
func (s *suite) testUnknownDistribution(t *testing.T) {
	unknown, what := unknownDistributionID, "an unknown distribution"
	if purge.IsTenantID(s.h.DistributionID) {
		unknown, what = unknownTenantID, "an unknown distribution tenant"
	}
	b := s.batch()
	b.DistributionID = unknown
	inv, err := s.h.Invalidator.CreateInvalidation(ctx(t), b)
	wantCode(t, "CreateInvalidation on "+what, inv, err, purge.NotFound)

	inv, err = s.h.Invalidator.GetInvalidation(ctx(t), unknown, unknownInvalidationID)
	wantCode(t, "GetInvalidation on "+what, inv, err, purge.NotFound)

	if s.h.LaxList {
		t.Skip("Harness.LaxList: this backend (moto_server) lists an unknown distribution as empty " +
			"instead of answering NoSuchDistribution")
	}
	page, err := s.h.Invalidator.ListInvalidations(ctx(t), unknown, purge.ListOptions{})
	wantCode(t, "ListInvalidations on "+what, page, err, purge.NotFound)
}

func (s *suite) testUnknownInvalidation(t *testing.T) {
	inv, err := s.h.Invalidator.GetInvalidation(ctx(t), s.h.DistributionID, unknownInvalidationID)
	wantCode(t, "GetInvalidation of an unknown invalidation", inv, err, purge.NotFound)
}

// createThree creates three invalidations one after the other and returns
// their IDs, oldest first.
func (s *suite) createThree(t *testing.T) []string {
	t.Helper()
	var ids []string
	for range 3 {
		ids = append(ids, s.mustCreate(t, s.batch()).ID)
	}
	return ids
}

func (s *suite) testListNewestFirst(t *testing.T) {
	created := s.createThree(t)
	all := s.listAll(t)
	pos := positions(all)
	for _, id := range created {
		if _, ok := pos[id]; !ok {
			t.Fatalf("ListInvalidations does not list created invalidation %s; listed %v", id, ids(all))
		}
	}
	if s.h.LaxList {
		t.Skip("Harness.LaxList: this backend (moto_server) lists oldest first")
	}
	for i := 1; i < len(created); i++ {
		if pos[created[i]] > pos[created[i-1]] {
			t.Errorf("ListInvalidations lists %s (created later) after %s; want newest first: %v",
				created[i], created[i-1], ids(all))
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreateTime.After(all[i-1].CreateTime) {
			t.Errorf("ListInvalidations lists %s (created %v) after %s (created %v); want newest first",
				all[i].ID, all[i].CreateTime, all[i-1].ID, all[i-1].CreateTime)
		}
	}
}

func (s *suite) testListPaging(t *testing.T) {
	created := s.createThree(t)
	all := s.listAll(t)
	if s.h.LaxList {
		t.Skip("Harness.LaxList: this backend (moto_server) ignores MaxItems and Marker")
	}
	var walked []purge.Summary
	marker := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatalf("ListInvalidations with MaxItems=1 gave more than %d pages; walked %v", len(all), ids(walked))
		}
		page, err := s.h.Invalidator.ListInvalidations(ctx(t), s.h.DistributionID, purge.ListOptions{Marker: marker, MaxItems: 1})
		if err != nil {
			t.Fatalf("ListInvalidations(marker %q, MaxItems 1): %v", marker, err)
		}
		if len(page.Items) > 1 {
			t.Fatalf("ListInvalidations with MaxItems=1 returned %d items", len(page.Items))
		}
		walked = append(walked, page.Items...)
		if page.NextMarker == "" {
			break
		}
		if page.NextMarker == marker {
			t.Fatalf("ListInvalidations returned NextMarker %q for marker %q: paging would never end", marker, marker)
		}
		marker = page.NextMarker
	}
	if !slices.Equal(ids(walked), ids(all)) {
		t.Errorf("paging with MaxItems=1 walked %v, want %v", ids(walked), ids(all))
	}
	pos := positions(walked)
	for _, id := range created {
		if _, ok := pos[id]; !ok {
			t.Errorf("paging with MaxItems=1 missed created invalidation %s", id)
		}
	}
}

func (s *suite) testCompletes(t *testing.T) {
	b := s.batch()
	inv := s.mustCreate(t, b)
	deadline := time.Now().Add(s.h.CompleteWithin)
	wait := 50 * time.Millisecond
	for inv.Status != purge.StatusCompleted {
		if inv.Status != purge.StatusInProgress {
			t.Fatalf("invalidation %s has status %q, want %q or %q", inv.ID, inv.Status, purge.StatusInProgress, purge.StatusCompleted)
		}
		if time.Now().Add(wait).After(deadline) {
			t.Fatalf("invalidation %s not Completed within %v", inv.ID, s.h.CompleteWithin)
		}
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
		var err error
		inv, err = s.h.Invalidator.GetInvalidation(ctx(t), b.DistributionID, inv.ID)
		if err != nil {
			t.Fatalf("GetInvalidation: %v", err)
		}
	}
	s.checkBatch(t, "GetInvalidation", b, inv)
}

// testConcurrent checks that the Invalidator is safe for concurrent use.
func (s *suite) testConcurrent(t *testing.T) {
	const n = 8
	batches := make([]purge.Batch, n)
	for i := range batches {
		batches[i] = s.batch()
	}
	invs := make([]*purge.Invalidation, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() {
			invs[i], errs[i] = s.h.Invalidator.CreateInvalidation(ctx(t), b)
			if errs[i] == nil {
				_, errs[i] = s.h.Invalidator.GetInvalidation(ctx(t), b.DistributionID, invs[i].ID)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, b := range batches {
		if errs[i] != nil {
			t.Errorf("concurrent call %d: %v", i, errs[i])
			continue
		}
		s.checkBatch(t, "concurrent CreateInvalidation", b, invs[i])
		if seen[invs[i].ID] {
			t.Errorf("two concurrent CreateInvalidation calls returned ID %s", invs[i].ID)
		}
		seen[invs[i].ID] = true
	}
}

// listAll lists every invalidation of the distribution, walking the pages.
func (s *suite) listAll(t *testing.T) []purge.Summary {
	t.Helper()
	var all []purge.Summary
	marker := ""
	for {
		page, err := s.h.Invalidator.ListInvalidations(ctx(t), s.h.DistributionID, purge.ListOptions{Marker: marker})
		if err != nil {
			t.Fatalf("ListInvalidations(marker %q): %v", marker, err)
		}
		all = append(all, page.Items...)
		if page.NextMarker == "" || page.NextMarker == marker {
			return all
		}
		marker = page.NextMarker
	}
}

// wantCode checks that a call failed with an error of the given code that
// carries a message for the user.
func wantCode[T any](t *testing.T, what string, got *T, err error, code purge.Code) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got %+v, want an error with code %q", what, got, code)
		return
	}
	var perr *purge.Error
	if !errors.As(err, &perr) {
		t.Errorf("%s: error %v (%T) is not a *purge.Error", what, err, err)
	}
	if c := purge.ErrorCode(err); c != code {
		t.Errorf("%s: error code %q, want %q; error: %v", what, c, code, err)
	}
	if msg := purge.ErrorMessage(err); msg == "" || msg == "internal error" {
		t.Errorf("%s: user message %q, want an explanation", what, msg)
	}
	if got != nil {
		t.Errorf("%s: got %+v along with the error, want nil", what, got)
	}
}

func ids(ss []purge.Summary) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func positions(ss []purge.Summary) map[string]int {
	m := make(map[string]int, len(ss))
	for i, s := range ss {
		m[s.ID] = i
	}
	return m
}
