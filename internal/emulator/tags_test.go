package emulator_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestCacheTags: items starting with "#" are cache tags, with CloudFront's
// rules (invalidation-specifying-tags): visible ASCII, no comma, no
// wildcard, at most 256 characters.
func TestCacheTags(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{Distributions: []string{testDistribution}})
	client := MustSDKClient(t, srv)
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
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.CreateInvalidation(context.Background(), batch(fmt.Sprint("tags-", i), tt.items...))
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
