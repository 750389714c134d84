package purge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestWatch(t *testing.T) {
	tests := []struct {
		name          string
		completeAfter time.Duration
		timeout       time.Duration
		id            string
		wantErr       error
		wantCode      purge.Code
		wantDone      bool
	}{
		{name: "completes", completeAfter: 150 * time.Millisecond, timeout: 10 * time.Second, wantDone: true},
		{name: "gives up", completeAfter: time.Hour, timeout: 200 * time.Millisecond, wantErr: context.DeadlineExceeded},
		{name: "unknown ID", completeAfter: 0, timeout: 10 * time.Second, id: "INOSUCHINVALID", wantCode: purge.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := testutil.MustEmulatedInvalidator(t, tt.completeAfter)
			created, err := inv.CreateInvalidation(context.Background(), purge.Batch{DistributionID: testutil.DistributionID, CallerReference: "watch-" + tt.name, Paths: []string{"/a"}})
			if err != nil {
				t.Fatal(err)
			}
			id := created.ID
			if tt.id != "" {
				id = tt.id
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			var seen int
			got, err := purge.Watch(ctx, inv, testutil.DistributionID, id, purge.WatchOptions{
				FirstDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
				Progress: func(*purge.Invalidation) { seen++ },
			})
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || got == nil || got.Done() {
					t.Fatalf("Watch = %+v, %v; want the last state and %v", got, err, tt.wantErr)
				}
			case tt.wantCode != "":
				if purge.ErrorCode(err) != tt.wantCode {
					t.Fatalf("Watch err = %v, want %s", err, tt.wantCode)
				}
			default:
				if err != nil || !got.Done() || seen < 2 {
					t.Fatalf("Watch = %+v, %v after %d polls", got, err, seen)
				}
			}
		})
	}
}
