package cloudfrontcdn_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cdntest"
	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// countingInvalidator counts the CreateInvalidation calls that reach the
// backend, for the provider suite's Requests.
type countingInvalidator struct {
	purge.Invalidator
	creates atomic.Int64
}

func (c *countingInvalidator) CreateInvalidation(ctx context.Context, b purge.Batch) (*purge.Invalidation, error) {
	c.creates.Add(1)
	return c.Invalidator.CreateInvalidation(ctx, b)
}

// cloudFrontTarget is a provider-suite target on distributionID, read back
// through the backend's own ListInvalidations and GetInvalidation.
func cloudFrontTarget(inv purge.Invalidator, distributionID string) cdntest.ProviderTarget {
	counting := &countingInvalidator{Invalidator: inv}
	return cdntest.ProviderTarget{
		Provider: cloudfrontcdn.Target{Invalidator: counting, DistributionID: distributionID},
		Domain:   "d111111abcdef8.cloudfront.net",
		Requests: func(*testing.T) int { return int(counting.creates.Load()) },
		Purged: func(t *testing.T, it purge.Item) bool {
			t.Helper()
			want := cloudfrontcdn.Paths([]purge.Item{it})[0]
			page, err := inv.ListInvalidations(t.Context(), distributionID, purge.ListOptions{})
			if err != nil {
				t.Fatalf("ListInvalidations: %v", err)
			}
			for _, s := range page.Items {
				got, err := inv.GetInvalidation(t.Context(), distributionID, s.ID)
				if err != nil {
					t.Fatalf("GetInvalidation(%s): %v", s.ID, err)
				}
				for _, p := range got.Paths {
					if purge.Covers(p, want) {
						return true
					}
				}
			}
			return false
		},
	}
}

func TestProviderEmulator(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	backend := cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: srv.URL})
	var n atomic.Int64
	cdntest.RunProvider(t, cdntest.ProviderHarness{NewTarget: func(t *testing.T) cdntest.ProviderTarget {
		id := fmt.Sprintf("EPROVIDER%d", n.Add(1))
		emu.AddDistribution(id)
		return cloudFrontTarget(backend, id)
	}})
}

func TestProviderMoto(t *testing.T) {
	endpoint := testutil.MustStartMoto(t)
	cfg := testConfig()
	backend := cloudfrontcdn.New(cfg, cloudfrontcdn.Options{Endpoint: endpoint})
	var mu sync.Mutex // one distribution created at a time
	cdntest.RunProvider(t, cdntest.ProviderHarness{NewTarget: func(t *testing.T) cdntest.ProviderTarget {
		mu.Lock()
		defer mu.Unlock()
		pt := cloudFrontTarget(backend, MustCreateDistribution(t, cfg, endpoint))
		// moto_server (5.x) keeps no CallerReference index: a repeat is a
		// new invalidation there, against the CloudFront API reference. The
		// suite asks Capabilities, so this backend declares what it does.
		pt.Provider = motoTarget{pt.Provider}
		return pt
	}})
}

// motoTarget is CloudFront through moto_server, which is not idempotent by
// CallerReference (see TestConformanceMoto).
type motoTarget struct{ purge.Provider }

func (m motoTarget) Capabilities() purge.Capabilities {
	caps := m.Provider.Capabilities()
	caps.Idempotent = false
	caps.Provider += " (moto_server)"
	return caps
}

func TestPaths(t *testing.T) {
	tests := []struct {
		items []string
		want  string
	}{
		{[]string{"/a", "https://www.example.com/b?c=1", "#News"}, "/a /b?c=1 #news"},
		{[]string{"/blog/*", "/blog/x", "https://shop.example.com/*"}, "/*"},
		{[]string{"/blog/*", "/blog/x", "#t"}, "/blog/* #t"},
		{[]string{"/*", "/a"}, "/*"},
	}
	for _, tt := range tests {
		items := testutil.MustItems(t, tt.items...)
		if got := strings.Join(cloudfrontcdn.Paths(items), " "); got != tt.want {
			t.Errorf("Paths(%q) = %q, want %q", tt.items, got, tt.want)
		}
	}
}

// TestCheckItems: CloudFront's rules for one invalidation, checked before
// anything is sent: its limits on paths in progress, and its tag length.
func TestCheckItems(t *testing.T) {
	many := func(n int, wildcard bool) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("/p/%d", i)
			if wildcard {
				out[i] += "/*"
			}
		}
		return out
	}
	tests := []struct {
		name    string
		items   []string
		wantErr string
	}{
		{"3000 files", many(cloudfrontcdn.MaxFilePaths, false), ""},
		{"3001 files", many(cloudfrontcdn.MaxFilePaths+1, false), "3001 file paths in one request; CloudFront allows at most 3000 in progress"},
		{"15 wildcards", many(cloudfrontcdn.MaxWildcardPaths, true), ""},
		{"16 wildcards", many(cloudfrontcdn.MaxWildcardPaths+1, true), "16 wildcard paths in one request; CloudFront allows at most 15 in progress"},
		{"3001 files, 2 covered", append(many(cloudfrontcdn.MaxFilePaths-1, false), "/p/1", "/q/*", "/q/x"), ""},
		{"a 256-character tag", []string{"#" + strings.Repeat("t", cloudfrontcdn.MaxTagLength)}, ""},
		{"a 257-character tag", []string{"#" + strings.Repeat("t", cloudfrontcdn.MaxTagLength+1)}, "is a cache tag of 257 characters; CloudFront allows at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cloudfrontcdn.Target{}.CheckItems(testutil.MustItems(t, tt.items...))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckItems: %v", err)
			case tt.wantErr != "" && (purge.ErrorCode(err) != purge.Invalid || !strings.Contains(purge.ErrorMessage(err), tt.wantErr)):
				t.Fatalf("CheckItems = %v, want Invalid with %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzPathsMatchCommand: the paths CloudFront is sent for a command's items
// are the command's own paths, which the follow-up retries with and the
// approval seals: one purge, whichever way it is made.
func FuzzPathsMatchCommand(f *testing.F) {
	for _, s := range []string{"/a /a /b/*", "#News #news /x", "https://www.example.com/q?id=1 /q?id=1", "/blog/* /blog/x https://e.example/*", "", "/*", "/caf\u00e9 /%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := purge.ParseCommand(text)
		if err != nil || cmd.Action != purge.ActionPurge {
			return
		}
		if got := cloudfrontcdn.Paths(cmd.Items); strings.Join(got, " ") != strings.Join(cmd.Paths, " ") {
			t.Fatalf("ParseCommand(%q): Paths(Items) = %q, Paths = %q", text, got, cmd.Paths)
		}
		var sealed []purge.Item
		for _, it := range cmd.Items {
			sealed = append(sealed, purge.ItemOf(it.String()))
		}
		if got := cloudfrontcdn.Paths(sealed); strings.Join(got, " ") != strings.Join(cmd.Paths, " ") {
			t.Fatalf("ParseCommand(%q): the items as sealed give %q, Paths = %q", text, got, cmd.Paths)
		}
	})
}
