package fastlycdn

import (
	"context"
	"embed"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

//go:embed testdata
var testdata embed.FS

// mustFixture returns testdata/name.
func mustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := testdata.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const (
	testService = "SU1Z0isxPaozGVKXdv0eY"
	testToken   = "fastly-secret-token-0123456789abcdef"
)

var testDomains = []string{"www.example.com", "static.example.com"}

// MustEmulator serves an emulator that knows testService and takes only
// testToken, with faults, on loopback; its log goes to the returned buffer.
func MustEmulator(tb testing.TB, faults emulator.Faults) (*emulator.Emulator, *httptest.Server, *testutil.LockedBuffer) {
	tb.Helper()
	logs := &testutil.LockedBuffer{}
	e := emulator.New(emulator.Options{
		FastlyServices: []string{testService},
		FastlyTokens:   []string{testToken},
		Faults:         faults,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return e, srv, logs
}

// MustProvider returns a Provider for endpoint with the test's service,
// token and domains, changed by edit (if not nil), that never sleeps: it
// records the waits asked for in *waits, when waits is not nil.
func MustProvider(tb testing.TB, endpoint string, edit func(*Options), waits *[]time.Duration) *Provider {
	tb.Helper()
	opts := Options{ServiceID: testService, Token: testToken, Domains: testDomains, Endpoint: endpoint}
	if edit != nil {
		edit(&opts)
	}
	p, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	p.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	}
	return p
}

// tags returns n distinct tags, "#k0" on.
func tags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "#k" + strconv.Itoa(i)
	}
	return out
}

// recorded is what the emulator recorded, by kind, in a form to compare.
type recorded struct {
	kind  string
	items int
	first string
	soft  bool
}

func record(e *emulator.Emulator) []recorded {
	var out []recorded
	for _, p := range append(e.FastlyURLPurges(), e.FastlyPurges(testService)...) {
		r := recorded{kind: p.Kind, items: len(p.Items), soft: p.Soft}
		if len(p.Items) > 0 {
			r.first = p.Items[0]
		}
		out = append(out, r)
	}
	return out
}

// TestPurge purges against the emulator and checks the requests it saw
// and the Invalidation returned.
func TestPurge(t *testing.T) {
	tests := []struct {
		name      string
		soft      bool
		items     []string
		want      []recorded // URL purges first, then the service's
		wantPaths []string   // nil: as items
		requests  int
	}{
		{"a path on the first domain", false, []string{"/index.html"},
			[]recorded{{"url", 1, "www.example.com/index.html", false}}, nil, 1},
		{"a pasted URL on another domain, with a query", false, []string{"https://static.example.com/a.css?v=2"},
			[]recorded{{"url", 1, "static.example.com/a.css?v=2", false}}, nil, 1},
		{"three files, one request each", false, []string{"/a", "/b", "/c"},
			[]recorded{{"url", 1, "www.example.com/a", false}, {"url", 1, "www.example.com/b", false}, {"url", 1, "www.example.com/c", false}}, nil, 3},
		{"300 keys, two requests", false, tags(300),
			[]recorded{{"keys", 256, "k0", false}, {"keys", 44, "k256", false}}, nil, 2},
		{"everything", false, []string{"/*"}, []recorded{{"all", 0, "", false}}, nil, 1},
		{"one of each kind", false, []string{"#news", "/a", "/*"},
			[]recorded{{"url", 1, "www.example.com/a", false}, {"keys", 1, "news", false}, {"all", 0, "", false}}, nil, 3},
		{"soft: URL and keys, purge all has no soft form", true, []string{"/a", "#news", "/*"},
			[]recorded{{"url", 1, "www.example.com/a", true}, {"keys", 1, "news", true}, {"all", 0, "", false}}, nil, 3},
		{"repeats are sent once", false, []string{"#a", "/x", "#a", "/x", "/*", "/*"},
			[]recorded{{"url", 1, "www.example.com/x", false}, {"keys", 1, "a", false}, {"all", 0, "", false}}, []string{"#a", "/x", "/*"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv, _ := MustEmulator(t, emulator.Faults{})
			p := MustProvider(t, srv.URL, func(o *Options) { o.Soft = tt.soft }, nil)
			if got := p.Capabilities().Soft; got != tt.soft {
				t.Errorf("Capabilities().Soft = %v, want %v", got, tt.soft)
			}
			inv, err := p.Purge(context.Background(), purge.Request{Reference: "ref-1", Items: testutil.MustItems(t, tt.items...)})
			if err != nil {
				t.Fatal(err)
			}
			got := record(e)
			slices.SortStableFunc(got, func(a, b recorded) int { return strings.Compare(sortKey(a), sortKey(b)) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("emulator saw %+v\nwant %+v", got, tt.want)
			}
			wantPaths := tt.wantPaths
			if wantPaths == nil {
				wantPaths = tt.items
			}
			if !samePaths(inv.Paths, wantPaths) {
				t.Errorf("Paths %v, want %v", inv.Paths, wantPaths)
			}
			if inv.Requests != tt.requests {
				t.Errorf("Requests %d, want %d", inv.Requests, tt.requests)
			}
			if inv.Status != purge.StatusCompleted || !inv.New || inv.CreateTime.IsZero() ||
				inv.DistributionID != testService || inv.CallerReference != "ref-1" {
				t.Errorf("Invalidation %+v", inv)
			}
			if got, want := sortedIDs(inv.ID), wantIDs(e); !slices.Equal(got, want) {
				t.Errorf("ID %q, want the IDs %v", inv.ID, want)
			}
		})
	}
}

// sortKey sorts URL purges, sent concurrently, by their URL, before the
// service's purges, which keep their order.
func sortKey(r recorded) string {
	if r.kind == "url" {
		return "0" + r.first
	}
	return "1"
}

// samePaths reports whether got has the paths of want, in any order
// within the files (sent concurrently) and in want's order otherwise.
func samePaths(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// wantIDs returns the purge IDs e answered, sorted.
func wantIDs(e *emulator.Emulator) []string {
	var ids []string
	for _, p := range append(e.FastlyURLPurges(), e.FastlyPurges(testService)...) {
		if p.ID != "" {
			ids = append(ids, strings.Split(p.ID, ",")...)
		}
	}
	slices.Sort(ids)
	return ids
}

// sortedIDs returns the purge IDs of an Invalidation's ID, sorted.
func sortedIDs(id string) []string {
	if id == "" {
		return nil
	}
	return slices.Sorted(slices.Values(strings.Split(id, ",")))
}
