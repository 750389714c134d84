package emulator_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestCacheTags: items starting with "#" are cache tags, with CloudFront's
// rules (invalidation-specifying-tags): visible ASCII, no comma, no
// wildcard, at most 256 characters. A distribution tenant takes them as its
// distribution does.
func TestCacheTags(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{Distributions: []string{testDistribution}, Tenants: []string{testTenant}})
	client := MustSDKClient(t, srv)
	creates := []struct {
		on     string
		create func(ref string, items ...string) error
	}{
		{"distribution", func(ref string, items ...string) error {
			_, err := client.CreateInvalidation(context.Background(), batch(ref, items...))
			return err
		}},
		{"tenant", func(ref string, items ...string) error {
			_, err := client.CreateInvalidationForDistributionTenant(context.Background(), tenantBatch(ref, items...))
			return err
		}},
	}
	tests := []struct {
		name     string
		items    []string
		wantCode string
	}{
		{"tags and paths", []string{"#product:tv", "/blog/*"}, ""},
		{"comma", []string{"#a,b"}, "InvalidArgument"},
		{"wildcard", []string{"#news*"}, "InvalidArgument"},
		{"empty", []string{"#"}, "InvalidArgument"},
		{"space", []string{"#a b"}, "InvalidArgument"},
	}
	for _, c := range creates {
		for i, tt := range tests {
			t.Run(c.on+"/"+tt.name, func(t *testing.T) {
				err := c.create(fmt.Sprint("tags-", i), tt.items...)
				if tt.wantCode == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if code, _ := apiError(t, err); code != tt.wantCode {
					t.Fatalf("code %q, want %q", code, tt.wantCode)
				}
			})
		}
	}
}
