package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestServeLogsCutOffFollowUps: serve stopping with a follow-up still
// running when the grace period ends hands it back to its channel, and
// logs and returns the pool's error saying so.
func TestServeLogsCutOffFollowUps(t *testing.T) {
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	emu := testutil.MustEmulator(t, time.Hour)
	cfg := lambdaConfig(emu)
	cfg.DevAllowLoopback = true
	var logs testutil.LockedBuffer
	a, err := newApp(context.Background(), cfg, func(string) string { return "" }, newLogger(env{stderr: &logs}, 0), modeServe)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	inv, err := testutil.NewInvalidator(emu).CreateInvalidation(context.Background(), batchFor("cutoff"))
	if err != nil {
		t.Fatal(err)
	}
	// The invalidation takes an hour: the follow-up is running when the
	// (empty) grace period ends.
	if err := a.pool.Schedule(context.Background(), followup.Request{
		DistributionID: defaultDistributionID, InvalidationID: inv.ID, ResponseURL: inbox.URL, Started: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	err = a.runWithShutdown(stopped, 0)
	if !errors.Is(err, followup.ErrCutOff) || !strings.Contains(err.Error(), "1 cut off") {
		t.Fatalf("runWithShutdown = %v", err)
	}
	if m := inbox.Next(t); !strings.Contains(m.Text, "Still purging") {
		t.Fatalf("hand-back post: %+v", m)
	}
	if got := logs.String(); !strings.Contains(got, `"msg":"shutdown"`) || !strings.Contains(got, "1 cut off") {
		t.Fatalf("the log does not report the cut-off follow-up:\n%s", got)
	}
	if strings.Contains(logs.String(), "RESPONSETOKEN") {
		t.Error("the log shows the response_url token")
	}
}
