package purge_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

func mustEmulated(tb testing.TB, completeAfter time.Duration) purge.Invalidator {
	tb.Helper()
	srv := httptest.NewServer(emulator.New(emulator.Options{Distributions: []string{"EDFDVBD6EXAMPLE"}, CompleteAfter: completeAfter}))
	tb.Cleanup(srv.Close)
	return cloudfrontcdn.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
		cloudfrontcdn.Options{Endpoint: srv.URL})
}

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
			inv := mustEmulated(t, tt.completeAfter)
			created, err := inv.CreateInvalidation(context.Background(), purge.Batch{DistributionID: "EDFDVBD6EXAMPLE", CallerReference: "watch-" + tt.name, Paths: []string{"/a"}})
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
			got, err := purge.Watch(ctx, inv, "EDFDVBD6EXAMPLE", id, purge.WatchOptions{
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
