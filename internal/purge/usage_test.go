package purge_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// now is the instant the usage and in-flight tests run at, by the
// emulator's clock.
var now = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// emulated is an emulator on loopback with the real backend aimed at it.
type emulated struct {
	purge.Invalidator
	clock *testutil.Clock
	lists atomic.Int32 // ListInvalidations requests served
}

// mustEmulate serves an emulator with opts and a settable clock on
// loopback, knowing testutil.DistributionID unless opts names other
// distributions. It stops with the test.
func mustEmulate(tb testing.TB, opts emulator.Options) *emulated {
	tb.Helper()
	e := &emulated{clock: testutil.NewClock(now)}
	if opts.Distributions == nil {
		opts.Distributions = []string{testutil.DistributionID}
	}
	opts.Now = e.clock.Now
	emu := emulator.New(opts)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/invalidation") {
			e.lists.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	e.Invalidator = testutil.NewInvalidator(srv.URL)
	return e
}

var refs atomic.Int64

// create creates an invalidation of paths on testutil.DistributionID, at
// the emulator's present time, with a new caller reference.
func create(inv purge.Invalidator, paths []string) (*purge.Invalidation, error) {
	return inv.CreateInvalidation(context.Background(), purge.Batch{
		DistributionID:  testutil.DistributionID,
		CallerReference: fmt.Sprintf("usage-test-%d", refs.Add(1)),
		Paths:           paths,
	})
}

// mustCreate is create, returning the new invalidation's ID.
func mustCreate(tb testing.TB, inv purge.Invalidator, paths []string) string {
	tb.Helper()
	got, err := create(inv, paths)
	if err != nil {
		tb.Fatalf("CreateInvalidation(%d paths): %v", len(paths), err)
	}
	return got.ID
}

// mustCreateMany creates n invalidations of one file path each, 8 at once.
func mustCreateMany(tb testing.TB, inv purge.Invalidator, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := create(inv, []string{fmt.Sprintf("/many/%d", i)}); err != nil {
				tb.Errorf("CreateInvalidation: %v", err)
			}
		})
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
}

// paths returns files file paths and wildcards wildcard paths under prefix.
func paths(prefix string, files, wildcards int) []string {
	var ps []string
	for i := range files {
		ps = append(ps, fmt.Sprintf("/%s/f%d", prefix, i))
	}
	for i := range wildcards {
		ps = append(ps, fmt.Sprintf("/%s/w%d/*", prefix, i))
	}
	return ps
}

// eachHeld calls fn with every invalidation the emulator holds, the slow
// way: listed two a page, each read, none skipped.
func eachHeld(t *testing.T, inv purge.Invalidator, fn func(*purge.Invalidation)) {
	t.Helper()
	ctx := context.Background()
	opts := purge.ListOptions{MaxItems: 2}
	for {
		page, err := inv.ListInvalidations(ctx, testutil.DistributionID, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Items {
			got, err := inv.GetInvalidation(ctx, testutil.DistributionID, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			fn(got)
		}
		if page.NextMarker == "" {
			return
		}
		opts.Marker = page.NextMarker
	}
}

// held counts what the emulator holds created since since.
func held(t *testing.T, inv purge.Invalidator, since time.Time) purge.MonthUsage {
	t.Helper()
	u := purge.MonthUsage{Complete: true}
	eachHeld(t, inv, func(got *purge.Invalidation) {
		if !got.CreateTime.Before(since) {
			u.Invalidations++
			u.Paths += len(got.Paths)
		}
	})
	return u
}

// heldInProgress sums the paths of every invalidation the emulator reports
// InProgress.
func heldInProgress(t *testing.T, inv purge.Invalidator) cloudfrontcdn.Load {
	t.Helper()
	var l cloudfrontcdn.Load
	eachHeld(t, inv, func(got *purge.Invalidation) {
		if got.Status == purge.StatusInProgress {
			files, wildcards := purge.CountPaths(got.Paths)
			l.Files += files
			l.Wildcards += wildcards
		}
	})
	return l
}

func TestUsage(t *testing.T) {
	e := mustEmulate(t, emulator.Options{CompleteAfter: 5 * time.Minute})
	for _, h := range []struct {
		at    time.Time
		paths []string
	}{
		{time.Date(2025, 2, 10, 9, 0, 0, 0, time.UTC), []string{"/a", "/b/*", "#tag"}},
		{time.Date(2025, 2, 28, 23, 59, 59, 0, time.UTC), []string{"/late"}},
		{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), []string{"/x", "/y", "/z/*", "#product:tv"}},
		{time.Date(2025, 3, 14, 11, 0, 0, 0, time.UTC), []string{"/d/*"}},
		{time.Date(2025, 3, 14, 11, 58, 0, 0, time.UTC), []string{"/e", "#e"}}, // still in progress
	} {
		e.clock.Set(h.at)
		mustCreate(t, e, h.paths)
	}
	e.clock.Set(now)

	tests := []struct {
		name     string
		dist     string
		since    time.Time
		want     purge.MonthUsage
		wantCode purge.Code
	}{
		{name: "this month", since: purge.MonthStart(now), want: purge.MonthUsage{Invalidations: 3, Paths: 7, Complete: true}},
		{name: "since last month", since: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), want: purge.MonthUsage{Invalidations: 5, Paths: 11, Complete: true}},
		{name: "at since exactly", since: time.Date(2025, 3, 14, 11, 0, 0, 0, time.UTC), want: purge.MonthUsage{Invalidations: 2, Paths: 3, Complete: true}},
		{name: "nothing since", since: now.Add(time.Hour), want: purge.MonthUsage{Complete: true}},
		{name: "unknown distribution", dist: "E3NOSUCHDIST", since: purge.MonthStart(now), wantCode: purge.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist := cmp.Or(tt.dist, testutil.DistributionID)
			got, err := purge.Usage(context.Background(), e, dist, tt.since)
			if tt.wantCode != "" {
				if purge.ErrorCode(err) != tt.wantCode || got.Complete {
					t.Fatalf("Usage = %+v, %v; want an incomplete count and code %s", got, err, tt.wantCode)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Usage = %+v, %v; want %+v", got, err, tt.want)
			}
			if h := held(t, e, tt.since); got != h {
				t.Errorf("Usage = %+v; the emulator holds %+v", got, h)
			}
		})
	}
}

// TestUsagePages checks that Usage pages through a busy month and stops at
// the page where last month begins.
func TestUsagePages(t *testing.T) {
	e := mustEmulate(t, emulator.Options{})
	e.clock.Set(time.Date(2025, 2, 27, 0, 0, 0, 0, time.UTC))
	mustCreateMany(t, e, 100)
	e.clock.Set(now)
	mustCreateMany(t, e, 130)
	e.lists.Store(0)

	got, err := purge.Usage(context.Background(), e, testutil.DistributionID, purge.MonthStart(now))
	if want := (purge.MonthUsage{Invalidations: 130, Paths: 130, Complete: true}); err != nil || got != want {
		t.Fatalf("Usage = %+v, %v; want %+v", got, err, want)
	}
	// Page 1: 100 of this month; page 2: 30 of this month, then February.
	if n := e.lists.Load(); n != 2 {
		t.Errorf("Usage listed %d pages; want 2, stopping at the first of last month", n)
	}
}

// TestUsagePartial checks that a context that ends during the count gives
// what was counted, marked incomplete, and no error.
func TestUsagePartial(t *testing.T) {
	const total = 80
	e := mustEmulate(t, emulator.Options{Faults: emulator.Faults{ByOperation: map[string]emulator.FaultRates{
		emulator.OpGetInvalidation: {Latency: 100 * time.Millisecond},
	}}})
	for i := range total {
		mustCreate(t, e, []string{fmt.Sprintf("/p/%d", i), "#tag"})
	}
	tests := []struct {
		name    string
		timeout time.Duration
		some    bool // some invalidations must have been counted
	}{
		{name: "ends during the count", timeout: 400 * time.Millisecond, some: true},
		{name: "ended before", timeout: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			got, err := purge.Usage(ctx, e, testutil.DistributionID, purge.MonthStart(now))
			if err != nil || got.Complete || got.Invalidations >= total || got.Paths != 2*got.Invalidations {
				t.Fatalf("Usage = %+v, %v; want an incomplete count of fewer than %d invalidations, 2 paths each, and no error", got, err, total)
			}
			if tt.some && got.Invalidations == 0 {
				t.Errorf("Usage counted nothing before its context ended")
			}
		})
	}
}

func TestMonthStart(t *testing.T) {
	athens := time.FixedZone("EET", 2*3600)
	newYork := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"mid-month", now, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"first instant", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"last instant", time.Date(2025, 2, 28, 23, 59, 59, 999999999, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"local March, UTC February", time.Date(2025, 3, 1, 1, 0, 0, 0, athens), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"local December, UTC January", time.Date(2024, 12, 31, 23, 30, 0, 0, newYork), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := purge.MonthStart(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("MonthStart(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPricingEstimate(t *testing.T) {
	// CloudFront's published price, as cloudfrontcdn.Pricing holds it.
	cloudfront := purge.Pricing{FreePerMonth: 1000, PerItem: 0.005}
	tests := []struct {
		paths, billable int
		dollars         float64
	}{
		{0, 0, 0},
		{999, 0, 0},
		{1000, 0, 0},
		{1001, 1, 0.005},
		{3000, 2000, 10},
		{101000, 100000, 500},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.paths), func(t *testing.T) {
			billable, dollars := cloudfront.Estimate(tt.paths)
			if billable != tt.billable || math.Abs(dollars-tt.dollars) > 1e-9 {
				t.Errorf("Estimate(%d) = %d, $%g; want %d, $%g", tt.paths, billable, dollars, tt.billable, tt.dollars)
			}
		})
	}
}

// batch is one invalidation a test creates: age before now, and paths.
type batch struct {
	age   time.Duration
	paths []string
}

func TestInFlight(t *testing.T) {
	const completeAfter = 10 * time.Minute
	tests := []struct {
		name    string
		batches []batch // created in this order
		files   int
		wilds   int
	}{
		{name: "none"},
		{name: "all completed", batches: []batch{
			{2 * time.Hour, []string{"/a/*", "/a"}},
			{11 * time.Minute, []string{"/b/*"}},
		}},
		{name: "mixed", files: 3, wilds: 3, batches: []batch{
			{2 * time.Hour, []string{"/old/*", "/old"}},
			{30 * time.Minute, []string{"/x/*"}},
			{9 * time.Minute, []string{"/a/*", "/b", "#t"}},
			{time.Minute, []string{"/c/*", "/d/*"}},
			{0, []string{"/e"}},
		}},
		// Listed newest first by creation, the completed one comes first:
		// InFlight must not stop there.
		{name: "in progress behind a completed one", files: 1, wilds: 1, batches: []batch{
			{time.Minute, []string{"/late/*", "/late"}},
			{time.Hour, []string{"/early/*"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEmulate(t, emulator.Options{CompleteAfter: completeAfter})
			var want []string // in progress, newest first
			for _, b := range tt.batches {
				e.clock.Set(now.Add(-b.age))
				id := mustCreate(t, e, b.paths)
				if b.age < completeAfter {
					want = append([]string{id}, want...)
				}
			}
			e.clock.Set(now)
			got, err := cloudfrontcdn.InFlight(context.Background(), e, testutil.DistributionID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Files != tt.files || got.Wildcards != tt.wilds || strings.Join(got.InProgress, " ") != strings.Join(want, " ") {
				t.Errorf("InFlight = %+v; want %d files, %d wildcards in %v", got, tt.files, tt.wilds, want)
			}
			if h := heldInProgress(t, e); got.Files != h.Files || got.Wildcards != h.Wildcards {
				t.Errorf("InFlight = %+v; the emulator holds %+v in progress", got, h)
			}
		})
	}
}

// TestInFlightPages checks where InFlight stops listing: after the first
// page with nothing in progress, and after 10 pages at most.
func TestInFlightPages(t *testing.T) {
	tests := []struct {
		name                  string
		completed, inProgress int // created in this order, one file each
		wantFiles, wantLists  int
	}{
		// Page 1: the 10 newest, in progress; page 2: 100 in progress;
		// page 3: 10 in progress, then completed; page 4: completed only,
		// so the fifth is not read.
		{name: "stops after a page with none", completed: 250, inProgress: 120, wantFiles: 120, wantLists: 4},
		// The usual answer before a purge: the 10 newest completed, one
		// small page.
		{name: "nothing in progress", completed: 250, wantFiles: 0, wantLists: 1},
		{name: "bounded", inProgress: 1050, wantFiles: 910, wantLists: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEmulate(t, emulator.Options{CompleteAfter: time.Hour})
			e.clock.Set(now.Add(-2 * time.Hour))
			mustCreateMany(t, e, tt.completed)
			e.clock.Set(now)
			mustCreateMany(t, e, tt.inProgress)
			e.lists.Store(0)
			got, err := cloudfrontcdn.InFlight(context.Background(), e, testutil.DistributionID)
			if err != nil || got.Files != tt.wantFiles || len(got.InProgress) != tt.wantFiles || got.Wildcards != 0 {
				t.Fatalf("InFlight = %d files, %d wildcards, %d IDs, %v; want %d files", got.Files, got.Wildcards, len(got.InProgress), err, tt.wantFiles)
			}
			if n := e.lists.Load(); n != int32(tt.wantLists) {
				t.Errorf("InFlight listed %d pages; want %d", n, tt.wantLists)
			}
		})
	}
}

// TestCheck checks Load.Check against the limits and against the emulator,
// which refuses what CloudFront refuses: the purge is also sent, and
// succeeds exactly when Check allowed it.
func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		running  [][]string // invalidations in progress, oldest first
		purge    []string
		wantCode purge.Code // "" when the purge fits
		wantIn   []string   // in the message, with the IDs of those in progress
	}{
		{name: "14 wildcards, 1 more fits", running: [][]string{paths("r", 0, 10), paths("s", 0, 4)}, purge: paths("p", 0, 1)},
		{name: "15 wildcards, 1 more refused", running: [][]string{paths("r", 0, 10), paths("s", 0, 5)}, purge: paths("p", 0, 1),
			wantCode: purge.RateLimited, wantIn: []string{"CloudFront allows 15 wildcard paths in progress at once per distribution; 15 are in progress", "this purge adds 1.", "purge fewer wildcards."}},
		{name: "14 wildcards, 2 more refused", running: [][]string{paths("r", 0, 14)}, purge: paths("p", 0, 2),
			wantCode: purge.RateLimited, wantIn: []string{"; 14 are in progress", "this purge adds 2."}},
		{name: "1 wildcard, 15 more refused", running: [][]string{paths("r", 0, 1)}, purge: paths("p", 0, 15),
			wantCode: purge.RateLimited, wantIn: []string{"; 1 is in progress", "this purge adds 15."}},
		{name: "names 5 invalidations at most", running: [][]string{paths("r", 0, 1), paths("s", 0, 1), paths("t", 0, 1), paths("u", 0, 1), paths("v", 0, 1), paths("w", 0, 1), paths("x", 0, 1)},
			purge: paths("p", 0, 9), wantCode: purge.RateLimited, wantIn: []string{"; 7 are in progress", "and 2 more)"}},
		{name: "2,999 files, 1 more fits", running: [][]string{paths("r", 2999, 0)}, purge: paths("p", 1, 0)},
		{name: "3,000 files, 1 more refused", running: [][]string{paths("r", 1500, 0), paths("s", 1500, 0)}, purge: paths("p", 1, 0),
			wantCode: purge.RateLimited, wantIn: []string{"CloudFront allows 3,000 file paths in progress at once per distribution; 3,000 are in progress", "this purge adds 1.", "purge fewer paths."}},
		{name: "a cache tag is a file path", running: [][]string{paths("r", 2999, 0)}, purge: []string{"#product", "/p"},
			wantCode: purge.RateLimited, wantIn: []string{"; 2,999 are in progress", "this purge adds 2."}},
		{name: "files full, a wildcard fits", running: [][]string{paths("r", 3000, 0)}, purge: paths("p", 0, 1)},
		{name: "wildcards full, a file fits", running: [][]string{paths("r", 0, 15)}, purge: paths("p", 1, 0)},
		{name: "the purge alone is over", purge: paths("p", 0, 16),
			wantCode: purge.Invalid, wantIn: []string{"CloudFront allows 15 wildcard paths in progress at once per distribution, and this purge alone has 16. Purge fewer wildcards."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := testutil.MustEmulatedInvalidator(t, time.Hour)
			var ids []string // newest first
			for _, ps := range tt.running {
				ids = append([]string{mustCreate(t, inv, ps)}, ids...)
			}
			load, err := cloudfrontcdn.InFlight(context.Background(), inv, testutil.DistributionID)
			if err != nil {
				t.Fatal(err)
			}
			err = load.Check(tt.purge)
			if purge.ErrorCode(err) != tt.wantCode {
				t.Fatalf("Check = %v; want code %q", err, tt.wantCode)
			}
			if err != nil {
				msg := purge.ErrorMessage(err)
				want := tt.wantIn
				if len(ids) > 0 {
					named := ids[:min(len(ids), 5)]
					want = append(want, "("+strings.Join(named, ", "))
				}
				for _, w := range want {
					if !strings.Contains(msg, w) {
						t.Errorf("Check's message %q does not say %q", msg, w)
					}
				}
			}
			_, cerr := inv.CreateInvalidation(context.Background(), purge.Batch{DistributionID: testutil.DistributionID, CallerReference: "check", Paths: tt.purge})
			if (cerr == nil) != (err == nil) || cerr != nil && purge.ErrorCode(cerr) != purge.RateLimited {
				t.Errorf("Check = %v, but the emulator answers the purge with %v", err, cerr)
			}
		})
	}
}

// BenchmarkUsage counts a month of 100 invalidations of 3 paths each, with
// the real backend and the emulator in-process (no sockets).
func BenchmarkUsage(b *testing.B) {
	inv := testutil.NewInProcessInvalidator(0)
	for i := range 100 {
		mustCreate(b, inv, []string{fmt.Sprintf("/b/%d", i), "/b/*", "#b"})
	}
	since := purge.MonthStart(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if u, err := purge.Usage(context.Background(), inv, testutil.DistributionID, since); err != nil || u.Paths != 300 {
			b.Fatal(u, err)
		}
	}
}
