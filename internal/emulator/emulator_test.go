package emulator_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

var invalidationIDPattern = regexp.MustCompile(`^I[A-Z0-9]{13}$`)

func TestSDKCreateGetList(t *testing.T) {
	clock := newFakeClock()
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Hour, Now: clock.Now})
	c := MustSDKClient(t, srv)
	ctx := context.Background()

	// Five invalidations, one second apart; ids[0] is the oldest.
	var ids []string
	for i := range 5 {
		in := batch(fmt.Sprintf("ref-%d", i), "/index.html", fmt.Sprintf("/blog/%d/*", i))
		out := MustCreate(t, c, in)
		inv := out.Invalidation
		id := aws.ToString(inv.Id)
		if !invalidationIDPattern.MatchString(id) {
			t.Errorf("Id = %q, want I and 13 upper-case letters or digits", id)
		}
		if want := srv.URL + "/2020-05-31/distribution/" + testDistribution + "/invalidation/" + id; aws.ToString(out.Location) != want {
			t.Errorf("Location = %q, want %q", aws.ToString(out.Location), want)
		}
		if got := aws.ToString(inv.Status); got != "InProgress" {
			t.Errorf("Status = %q, want InProgress", got)
		}
		if got := aws.ToTime(inv.CreateTime); !got.Equal(clock.Now()) {
			t.Errorf("CreateTime = %v, want %v", got, clock.Now())
		}
		if got := inv.InvalidationBatch.Paths.Items; !slices.Equal(got, in.InvalidationBatch.Paths.Items) {
			t.Errorf("echoed paths = %q, want %q", got, in.InvalidationBatch.Paths.Items)
		}
		if got := aws.ToInt32(inv.InvalidationBatch.Paths.Quantity); got != 2 {
			t.Errorf("echoed Quantity = %d, want 2", got)
		}
		ids = append(ids, id)
		clock.Advance(time.Second)
	}

	t.Run("get", func(t *testing.T) {
		for i, id := range ids {
			out, err := c.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{
				DistributionId: aws.String(testDistribution), Id: aws.String(id),
			})
			if err != nil {
				t.Fatalf("GetInvalidation(%s): %v", id, err)
			}
			inv := out.Invalidation
			if aws.ToString(inv.Id) != id || aws.ToString(inv.InvalidationBatch.CallerReference) != fmt.Sprintf("ref-%d", i) {
				t.Errorf("GetInvalidation(%s) = %s/%s", id, aws.ToString(inv.Id), aws.ToString(inv.InvalidationBatch.CallerReference))
			}
			if len(inv.InvalidationBatch.Paths.Items) != 2 {
				t.Errorf("GetInvalidation(%s) paths = %q", id, inv.InvalidationBatch.Paths.Items)
			}
		}
	})

	t.Run("list pages", func(t *testing.T) {
		newestFirst := slices.Clone(ids)
		slices.Reverse(newestFirst)
		tests := []struct {
			marker     string
			wantIDs    []string
			wantNext   string
			truncation bool
		}{
			{"", newestFirst[0:2], newestFirst[1], true},
			{newestFirst[1], newestFirst[2:4], newestFirst[3], true},
			{newestFirst[3], newestFirst[4:5], "", false},
		}
		for i, tt := range tests {
			t.Run(fmt.Sprintf("page %d", i+1), func(t *testing.T) {
				in := &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistribution), MaxItems: aws.Int32(2)}
				if tt.marker != "" {
					in.Marker = aws.String(tt.marker)
				}
				out, err := c.ListInvalidations(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				l := out.InvalidationList
				var got []string
				for _, s := range l.Items {
					got = append(got, aws.ToString(s.Id))
					if aws.ToString(s.Status) != "InProgress" || s.CreateTime == nil {
						t.Errorf("summary %s: Status %q CreateTime %v", aws.ToString(s.Id), aws.ToString(s.Status), s.CreateTime)
					}
				}
				if !slices.Equal(got, tt.wantIDs) {
					t.Errorf("Items = %q, want %q", got, tt.wantIDs)
				}
				if aws.ToString(l.Marker) != tt.marker || aws.ToString(l.NextMarker) != tt.wantNext ||
					aws.ToBool(l.IsTruncated) != tt.truncation || aws.ToInt32(l.MaxItems) != 2 ||
					aws.ToInt32(l.Quantity) != int32(len(tt.wantIDs)) {
					t.Errorf("Marker %q NextMarker %q IsTruncated %v MaxItems %d Quantity %d",
						aws.ToString(l.Marker), aws.ToString(l.NextMarker), aws.ToBool(l.IsTruncated),
						aws.ToInt32(l.MaxItems), aws.ToInt32(l.Quantity))
				}
				if !tt.truncation && l.NextMarker != nil {
					t.Errorf("NextMarker present on the last page: %q", aws.ToString(l.NextMarker))
				}
			})
		}
	})

	t.Run("list with paginator and default MaxItems", func(t *testing.T) {
		out, err := c.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistribution)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToInt32(out.InvalidationList.MaxItems); got != 100 {
			t.Errorf("default MaxItems = %d, want 100", got)
		}
		var got []string
		p := cloudfront.NewListInvalidationsPaginator(c, &cloudfront.ListInvalidationsInput{
			DistributionId: aws.String(testDistribution), MaxItems: aws.Int32(3),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.InvalidationList.Items {
				got = append(got, aws.ToString(s.Id))
			}
		}
		want := slices.Clone(ids)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("paginated IDs = %q, want %q", got, want)
		}
	})

	t.Run("list empty distribution", func(t *testing.T) {
		_, srv := MustStartEmulator(t, emulator.Options{})
		out, err := MustSDKClient(t, srv).ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistribution)})
		if err != nil {
			t.Fatal(err)
		}
		l := out.InvalidationList
		if len(l.Items) != 0 || aws.ToInt32(l.Quantity) != 0 || aws.ToBool(l.IsTruncated) {
			t.Errorf("empty list = %+v", l)
		}
	})
}

func TestSDKIdempotency(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Hour})
	c := MustSDKClient(t, srv)
	first := MustCreate(t, c, batch("trigger-1", "/a", "/b/*"))

	tests := []struct {
		name     string
		in       *cloudfront.CreateInvalidationInput
		wantSame bool   // the first invalidation comes back
		wantCode string // or this error
	}{
		{"same reference, same paths", batch("trigger-1", "/a", "/b/*"), true, ""},
		{"same reference, paths reordered", batch("trigger-1", "/b/*", "/a"), true, ""},
		{"same reference, other paths", batch("trigger-1", "/a", "/c"), false, "InvalidationBatchAlreadyExists"},
		{"same reference, fewer paths", batch("trigger-1", "/a"), false, "InvalidationBatchAlreadyExists"},
		{"other reference, same paths", batch("trigger-2", "/a", "/b/*"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.CreateInvalidation(context.Background(), tt.in)
			code, status := apiError(t, err)
			if code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if err != nil {
				if status != 400 {
					t.Errorf("HTTP status = %d, want 400", status)
				}
				return
			}
			same := aws.ToString(out.Invalidation.Id) == aws.ToString(first.Invalidation.Id)
			if same != tt.wantSame {
				t.Errorf("got Id %s, first was %s; want same = %v",
					aws.ToString(out.Invalidation.Id), aws.ToString(first.Invalidation.Id), tt.wantSame)
			}
			if same && aws.ToString(out.Location) != aws.ToString(first.Location) {
				t.Errorf("Location = %q, want %q", aws.ToString(out.Location), aws.ToString(first.Location))
			}
		})
	}
}

func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	var (
		longest  = "/" + strings.Repeat("a", 3999)
		tooLong  = "/" + strings.Repeat("a", 4000)
		longRune = "/" + strings.Repeat("é", 3999) // 3,999 characters, 7,999 bytes
	)
	type call func(*cloudfront.Client) error
	create := func(in *cloudfront.CreateInvalidationInput, optFns ...func(*cloudfront.Options)) call {
		return func(c *cloudfront.Client) error {
			_, err := c.CreateInvalidation(ctx, in, optFns...)
			return err
		}
	}
	get := func(dist, id string) call {
		return func(c *cloudfront.Client) error {
			_, err := c.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)})
			return err
		}
	}
	list := func(dist string, maxItems *int32, marker *string) call {
		return func(c *cloudfront.Client) error {
			_, err := c.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(dist), MaxItems: maxItems, Marker: marker})
			return err
		}
	}
	otherDist := func(in *cloudfront.CreateInvalidationInput) *cloudfront.CreateInvalidationInput {
		in.DistributionId = aws.String("E2UNKNOWNDIST")
		return in
	}
	inconsistent := batch("r", "/a", "/b")
	inconsistent.InvalidationBatch.Paths.Quantity = aws.Int32(3)

	tests := []struct {
		name       string
		call       call
		wantCode   string // "" means success
		wantStatus int
	}{
		{"create on unknown distribution", create(otherDist(batch("r", "/a"))), "NoSuchDistribution", 404},
		{"get on unknown distribution", get("E2UNKNOWNDIST", "I0000000000000"), "NoSuchDistribution", 404},
		{"list on unknown distribution", list("E2UNKNOWNDIST", nil, nil), "NoSuchDistribution", 404},
		{"unknown invalidation", get(testDistribution, "I0000000000000"), "NoSuchInvalidation", 404},
		{"empty body", create(batch("r", "/a"), withBody(nil)), "MissingBody", 400},
		{"whitespace body", create(batch("r", "/a"), withBody([]byte(" \n"))), "MissingBody", 400},
		{"unparsable body", create(batch("r", "/a"), withBody([]byte("<InvalidationBatch><Paths>"))), "MalformedInput", 400},
		{"not XML", create(batch("r", "/a"), withBody([]byte(`{"Paths":["/a"]}`))), "MalformedInput", 400},
		{"wrong root element", create(batch("r", "/a"), withBody([]byte(`<DistributionConfig/>`))), "MalformedInput", 400},
		{"Quantity not a number", create(batch("r", "/a"), withBody([]byte(
			`<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>one</Quantity><Items><Path>/a</Path></Items></Paths></InvalidationBatch>`))),
			"MalformedInput", 400},
		{"Quantity differs from Items", create(inconsistent), "InconsistentQuantities", 400},
		{"path without leading slash", create(batch("r", "index.html")), "InvalidArgument", 400},
		{"path longer than 4000 characters", create(batch("r", tooLong)), "InvalidArgument", 400},
		{"path of 4000 characters", create(batch("r1", longest)), "", 0},
		{"path of 4000 multi-byte characters", create(batch("r2", longRune)), "", 0},
		{"star not last", create(batch("r", "/blog/*/index.html")), "InvalidArgument", 400},
		{"star last", create(batch("r3", "/blog/*")), "", 0},
		{"empty CallerReference", create(batch("", "/a")), "InvalidArgument", 400},
		{"empty path list", create(batch("r")), "InvalidArgument", 400},
		{"3,001 paths", create(batch("r", paths(3001, "/f/%d")...)), "BatchTooLarge", 413},
		{"3,000 paths", create(batch("r4", paths(3000, "/f/%d")...)), "", 0},
		{"MaxItems 0", list(testDistribution, aws.Int32(0), nil), "InvalidArgument", 400},
		{"MaxItems negative", list(testDistribution, aws.Int32(-1), nil), "InvalidArgument", 400},
		{"unknown Marker", list(testDistribution, nil, aws.String("INOSUCHMARKER0")), "InvalidArgument", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh emulator per case, so that the limits never interfere.
			_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: time.Hour})
			err := tt.call(MustSDKClient(t, srv))
			code, status := apiError(t, err)
			if code != tt.wantCode || status != tt.wantStatus {
				t.Errorf("got %q (HTTP %d), want %q (HTTP %d); err = %v", code, status, tt.wantCode, tt.wantStatus, err)
			}
		})
	}
}

func TestSDKStatusFollowsClock(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		completeAfter time.Duration
		steps         []time.Duration // clock advances before each read
		want          []string        // status after each step
	}{
		{"completes at once", 0, []time.Duration{0, time.Hour}, []string{"Completed", "Completed"}},
		{"in progress then completed", 5 * time.Minute,
			[]time.Duration{0, 4*time.Minute + 59*time.Second, time.Second, time.Hour},
			[]string{"InProgress", "InProgress", "Completed", "Completed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			_, srv := MustStartEmulator(t, emulator.Options{CompleteAfter: tt.completeAfter, Now: clock.Now})
			c := MustSDKClient(t, srv)
			created := MustCreate(t, c, batch("r", "/a"))
			if got, want := aws.ToString(created.Invalidation.Status), tt.want[0]; got != want {
				t.Errorf("CreateInvalidation Status = %q, want %q", got, want)
			}
			id := created.Invalidation.Id
			for i, step := range tt.steps {
				clock.Advance(step)
				got, err := c.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistribution), Id: id})
				if err != nil {
					t.Fatal(err)
				}
				l, err := c.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistribution)})
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(got.Invalidation.Status) != tt.want[i] || aws.ToString(l.InvalidationList.Items[0].Status) != tt.want[i] {
					t.Errorf("step %d (+%v): Get %q, List %q, want %q", i, step,
						aws.ToString(got.Invalidation.Status), aws.ToString(l.InvalidationList.Items[0].Status), tt.want[i])
				}
			}
		})
	}
}

func TestSDKInProgressLimits(t *testing.T) {
	const completeAfter = 10 * time.Minute
	type step struct {
		advance  time.Duration
		in       *cloudfront.CreateInvalidationInput
		wantCode string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"15 wildcard paths, then one more", []step{
			{0, batch("w1", paths(10, "/w/%d/*")...), ""},
			{0, batch("w2", paths(5, "/x/%d*")...), ""},
			{0, batch("w3", "/y/*"), "TooManyInvalidationsInProgress"},
			{0, batch("f1", "/file.html"), ""},            // file paths have their own limit
			{0, batch("w1", paths(10, "/w/%d/*")...), ""}, // a repeat is no new work
			{completeAfter - time.Second, batch("w4", "/y/*"), "TooManyInvalidationsInProgress"},
			{time.Second, batch("w5", "/y/*"), ""}, // the first two have completed
		}},
		{"16 wildcard paths in one batch", []step{
			{0, batch("w1", paths(16, "/w/%d/*")...), "TooManyInvalidationsInProgress"},
			{0, batch("w2", paths(15, "/w/%d/*")...), ""},
		}},
		{"3,000 file paths, then one more", []step{
			{0, batch("f1", paths(2999, "/f/%d")...), ""},
			{0, batch("f2", "/g/1", "/g/2"), "TooManyInvalidationsInProgress"},
			{0, batch("f3", "/g/1"), ""},
			{0, batch("f4", "/g/2"), "TooManyInvalidationsInProgress"},
			{0, batch("w1", "/*"), ""}, // wildcards have their own limit
			{completeAfter, batch("f5", paths(3000, "/h/%d")...), ""},
		}},
		{"limits are per distribution", []step{
			{0, batch("f1", paths(3000, "/f/%d")...), ""},
			{0, otherDistBatch("f2", "/g"), ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			_, srv := MustStartEmulator(t, emulator.Options{
				Distributions: []string{testDistribution, "E2OTHERDIST"},
				CompleteAfter: completeAfter,
				Now:           clock.Now,
			})
			c := MustSDKClient(t, srv)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				_, err := c.CreateInvalidation(context.Background(), s.in)
				code, status := apiError(t, err)
				if code != s.wantCode {
					t.Fatalf("step %d (%s): code %q, want %q; err = %v", i, aws.ToString(s.in.InvalidationBatch.CallerReference), code, s.wantCode, err)
				}
				if err != nil && status != 400 {
					t.Errorf("step %d: HTTP status %d, want 400", i, status)
				}
			}
		})
	}
}

func otherDistBatch(ref string, paths ...string) *cloudfront.CreateInvalidationInput {
	in := batch(ref, paths...)
	in.DistributionId = aws.String("E2OTHERDIST")
	return in
}

func TestAddDistribution(t *testing.T) {
	e, srv := MustStartEmulator(t, emulator.Options{Distributions: []string{}})
	c := MustSDKClient(t, srv)
	if _, err := c.CreateInvalidation(context.Background(), batch("r", "/a")); err == nil {
		t.Fatal("CreateInvalidation on a missing distribution succeeded")
	}
	e.AddDistribution(testDistribution)
	e.AddDistribution(testDistribution) // twice is harmless
	MustCreate(t, c, batch("r", "/a"))
}

func TestConcurrentCreates(t *testing.T) {
	_, srv := MustStartEmulator(t, emulator.Options{})
	c := MustSDKClient(t, srv)
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := c.CreateInvalidation(context.Background(), batch(fmt.Sprintf("r%d", i%20), "/a"))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = aws.ToString(out.Invalidation.Id)
		})
	}
	wg.Wait()
	// Twenty references, each sent twice: twenty distinct IDs, each twice.
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct IDs, want 20", len(seen))
	}
	out, err := c.ListInvalidations(context.Background(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistribution)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.InvalidationList.Items) != 20 {
		t.Errorf("ListInvalidations has %d items, want 20", len(out.InvalidationList.Items))
	}
}
