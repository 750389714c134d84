package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestSDKTenant drives the distribution-tenant operations with the SDK's own
// serializers and deserializers: a tenant's invalidations are its own, beside
// its distribution's. (The conformance suite in internal/cdn/cdntest checks
// the rest through the backend: results, idempotency, errors, paging.)
func TestSDKTenant(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Hour})
	c := MustSDKClient(t, srv)
	ctx := context.Background()

	// The distribution's own invalidation, under the caller reference the
	// tenant uses next: the two keep separate books.
	dist := MustCreate(t, c, batch("ref-0", "/other"))
	var newestFirst []string
	for i := range 3 {
		out, err := c.CreateInvalidationForDistributionTenant(ctx, tenantBatch(fmt.Sprint("ref-", i), "/index.html"))
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.Invalidation.Id)
		if want := srv.URL + tenantPath + "/" + id; aws.ToString(out.Location) != want {
			t.Errorf("Location = %q, want %q", aws.ToString(out.Location), want)
		}
		newestFirst = append([]string{id}, newestFirst...)
	}

	t.Run("list page by page", func(t *testing.T) {
		var got []string
		p := cloudfront.NewListInvalidationsForDistributionTenantPaginator(c, &cloudfront.ListInvalidationsForDistributionTenantInput{
			Id: aws.String(testTenant), MaxItems: aws.Int32(1),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(page.InvalidationList.Items); n > 1 {
				t.Fatalf("page of %d items with MaxItems 1", n)
			}
			for _, s := range page.InvalidationList.Items {
				got = append(got, aws.ToString(s.Id))
			}
		}
		if !slices.Equal(got, newestFirst) {
			t.Errorf("listed %q, want %q (and not the distribution's %s)", got, newestFirst, aws.ToString(dist.Invalidation.Id))
		}
	})

	t.Run("each keeps its own", func(t *testing.T) {
		_, err := c.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistribution), Id: aws.String(newestFirst[0])})
		if code, _ := apiError(t, err); code != "NoSuchInvalidation" {
			t.Errorf("the tenant's invalidation read on the distribution: %q, want NoSuchInvalidation", code)
		}
		_, err = c.GetInvalidationForDistributionTenant(ctx, &cloudfront.GetInvalidationForDistributionTenantInput{
			DistributionTenantId: aws.String(testTenant), Id: dist.Invalidation.Id,
		})
		if code, _ := apiError(t, err); code != "NoSuchInvalidation" {
			t.Errorf("the distribution's invalidation read on the tenant: %q, want NoSuchInvalidation", code)
		}
	})
}

// TestSDKUnknownTenant: the SDK deserializes the emulator's answer for a
// tenant that does not exist into its EntityNotFound type, on all three
// operations.
func TestSDKUnknownTenant(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{})
	c := MustSDKClient(t, srv)
	ctx := context.Background()
	const unknown = "dt_NoSuchTenant"
	in := tenantBatch("r", "/a")
	in.Id = aws.String(unknown)
	tests := []struct {
		name string
		call func() error
	}{
		{"create", func() error { _, err := c.CreateInvalidationForDistributionTenant(ctx, in); return err }},
		{"get", func() error {
			_, err := c.GetInvalidationForDistributionTenant(ctx, &cloudfront.GetInvalidationForDistributionTenantInput{
				DistributionTenantId: aws.String(unknown), Id: aws.String("I0000000000000"),
			})
			return err
		}},
		{"list", func() error {
			_, err := c.ListInvalidationsForDistributionTenant(ctx, &cloudfront.ListInvalidationsForDistributionTenantInput{Id: aws.String(unknown)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if _, ok := errors.AsType[*types.EntityNotFound](err); !ok {
				t.Errorf("error %v is not a *types.EntityNotFound", err)
			}
			if _, status := apiError(t, err); status != 404 {
				t.Errorf("HTTP %d, want 404", status)
			}
		})
	}
}

// TestSDKTenantLimits: a tenant has its own 15 wildcard paths in progress,
// apart from its distribution's.
func TestSDKTenantLimits(t *testing.T) {
	const completeAfter = 10 * time.Minute
	clock := newFakeClock()
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: completeAfter, Now: clock.Now})
	c := MustSDKClient(t, srv)
	ctx := context.Background()
	tenant := func(ref string, paths ...string) error {
		_, err := c.CreateInvalidationForDistributionTenant(ctx, tenantBatch(ref, paths...))
		return err
	}
	distribution := func(ref string, paths ...string) error {
		_, err := c.CreateInvalidation(ctx, batch(ref, paths...))
		return err
	}
	steps := []struct {
		advance  time.Duration
		create   func(ref string, paths ...string) error
		ref      string
		paths    []string
		wantCode string
	}{
		{0, tenant, "t1", paths(15, "/w/%d/*"), ""},
		{0, tenant, "t2", []string{"/x/*"}, "TooManyInvalidationsInProgress"},
		{0, tenant, "t3", paths(3000, "/f/%d"), ""}, // file paths have their own limit
		{0, tenant, "t4", []string{"/g"}, "TooManyInvalidationsInProgress"},
		{0, distribution, "d1", paths(15, "/w/%d/*"), ""}, // the distribution's limits are its own
		{0, tenant, "t1", paths(15, "/w/%d/*"), ""},       // a repeat is no new work
		{completeAfter, tenant, "t5", paths(15, "/y/%d/*"), ""},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		err := s.create(s.ref, s.paths...)
		if code, _ := apiError(t, err); code != s.wantCode {
			t.Fatalf("step %d (%s): code %q, want %q; err = %v", i, s.ref, code, s.wantCode, err)
		}
	}
}
