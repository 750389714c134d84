package slack

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TestRender: every reply renders as its message, the click answers only to
// the clicker unless they replace the approval request.
func TestRender(t *testing.T) {
	now := time.Unix(1767225600, 0)
	inv := &purge.Invalidation{ID: "I1", DistributionID: "E1", Paths: []string{"/a"}, CreateTime: now, CallerReference: purge.ApprovedCallerReference("U1", "U2", "t")}
	p := Purge{Invalidation: inv, UserID: "U1"}
	pending := Pending{DistributionID: "E1", Paths: []string{"/*"}, UserID: "U1", Expires: now.Unix()}
	tests := []struct {
		reply   Reply
		want    string
		replace bool
	}{
		{Help{Command: "/cdn-purge"}, "purges the CloudFront cache", false},
		{TargetList{Others: 2}, "2 other targets", false},
		{Started{Purge: p}, "Purging 1 path", false},
		{Started{Purge: p, ReplaceOriginal: true}, "Purging 1 path", true},
		{Repeat{Invalidation: inv, Now: now}, "already taken", false},
		{Retrying{Purge: p, Paths: []string{"/a"}, Err: purge.Errorf(purge.RateLimited, "slow down"), ReplaceOriginal: true}, "limiting the rate", true},
		{Status{Invalidation: inv, Now: now}, "Invalidation `I1`", false},
		{List{DistributionID: "E1", Now: now}, "No invalidations", false},
		{Usage{Month: "May 2026"}, "May 2026", false},
		{ApprovalAsked{Pending: pending, Sealed: "x", Why: "a full purge"}, "wants to purge", false},
		{ChannelRefused{Allowed: []string{"deploys"}}, "#deploys", false},
		{Failed{Err: errors.New("detail")}, "internal error", false},
		{AlreadyApproved{Invalidation: inv, Now: now}, "<@U2> already approved it", false},
		{TooLateToCancel{Invalidation: inv, Now: now}, "Too late to cancel", false},
		{Closed{Pending: pending}, "expired", true},
		{Closed{Pending: pending, CancelledBy: "U3"}, "Cancelled by <@U3>", true},
		{ClickRefused{Reason: ClickNotAllowed, Cancel: true, Err: purge.Errorf(purge.PermissionDenied, "no")}, "You may not cancel this purge: no", false},
		{ClickRefused{Reason: ClickOwnRequest}, "someone else", false},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(fmt.Sprintf("%T", tt.reply), "slack."), func(t *testing.T) {
			m := Render(tt.reply)
			if m == nil || !strings.Contains(m.Text, tt.want) || m.ReplaceOriginal != tt.replace {
				t.Fatalf("Render(%T) = %+v, want text with %q, replace_original %v", tt.reply, m, tt.want, tt.replace)
			}
		})
	}
	if Render(nil) != nil {
		t.Error("Render(nil) is a message")
	}
}
