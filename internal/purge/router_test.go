package purge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestRouter sends calls through a Router over two emulators, standing for
// two AWS accounts that both know testutil.DistributionID, and checks which
// one each call reached.
func TestRouter(t *testing.T) {
	const defaultOnly = "E2DEFAULTONLY"
	tests := []struct {
		name       string
		dist       string
		noDefault  bool
		wantOn     string // "routed" or "default": the emulator that holds the invalidation
		wantCode   purge.Code
		wantInText string
	}{
		{name: "registered distribution", dist: testutil.DistributionID, wantOn: "routed"},
		{name: "other distribution, default", dist: defaultOnly, wantOn: "default"},
		{name: "other distribution, no default", dist: defaultOnly, noDefault: true,
			wantCode: purge.NotFound, wantInText: `distribution "E2DEFAULTONLY" is not a configured target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			accounts := map[string]*emulated{
				"routed":  mustEmulate(t, emulator.Options{}),
				"default": mustEmulate(t, emulator.Options{Distributions: []string{testutil.DistributionID, defaultOnly}}),
			}
			r := purge.Router{ByDistribution: map[string]purge.Invalidator{testutil.DistributionID: accounts["routed"]}}
			if !tt.noDefault {
				r.Default = accounts["default"]
			}

			created, err := r.CreateInvalidation(ctx, purge.Batch{DistributionID: tt.dist, CallerReference: "router", Paths: []string{"/a"}})
			if tt.wantCode != "" {
				_, gerr := r.GetInvalidation(ctx, tt.dist, "I2J0EXAMPLE")
				_, lerr := r.ListInvalidations(ctx, tt.dist, purge.ListOptions{})
				for _, err := range []error{err, gerr, lerr} {
					if purge.ErrorCode(err) != tt.wantCode || !strings.Contains(purge.ErrorMessage(err), tt.wantInText) {
						t.Errorf("err = %v; want code %s and %q", err, tt.wantCode, tt.wantInText)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.GetInvalidation(ctx, tt.dist, created.ID); err != nil || got.ID != created.ID {
				t.Errorf("GetInvalidation through the router = %+v, %v; want %s", got, err, created.ID)
			}
			if page, err := r.ListInvalidations(ctx, tt.dist, purge.ListOptions{}); err != nil || len(page.Items) != 1 || page.Items[0].ID != created.ID {
				t.Errorf("ListInvalidations through the router = %+v, %v; want %s only", page, err, created.ID)
			}
			for name, account := range accounts {
				page, err := account.ListInvalidations(ctx, tt.dist, purge.ListOptions{})
				held := err == nil && len(page.Items) > 0
				if held != (name == tt.wantOn) {
					t.Errorf("the %s account holds the invalidation: %v (%v); want it on the %s account only", name, held, err, tt.wantOn)
				}
			}
		})
	}
}
