package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestServeShutdownGrace runs `serve` with and without --shutdown-grace,
// stops it as SIGTERM would (the context ends) and checks the grace it
// logs, how long it takes, and that a follow-up still running when the
// grace is over tells its channel to check later.
func TestServeShutdownGrace(t *testing.T) {
	tests := []struct {
		name      string
		flags     []string
		followUp  bool // a follow-up is running when the server stops
		wantGrace float64
		minStop   time.Duration // how long stopping takes, at least
		maxStop   time.Duration // and at most
	}{
		{name: "default, nothing running", wantGrace: 8, maxStop: time.Second},
		{name: "a follow-up gets the grace, then is handed back", flags: []string{"--shutdown-grace", "700ms"}, followUp: true,
			wantGrace: 0.7, minStop: 700 * time.Millisecond, maxStop: 700*time.Millisecond + followup.AbandonTimeout + 500*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
			vars := map[string]string{
				config.EnvDistributionID: defaultDistributionID, config.EnvSigningSecret: lambdaSecret, config.EnvChannels: "deploys",
				config.EnvCloudFrontEndpoint: testutil.MustEmulator(t, time.Hour), config.EnvDevAllowLoopback: "1",
			}
			var logs testutil.LockedBuffer
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, env{args: append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.flags...),
					getenv: func(k string) string { return vars[k] }, stdout: &logs, stderr: &logs})
			}()
			base := serveURL(t, &logs)
			if tt.followUp {
				form := commandForm("/blog/*", "deploys", "grace.1")
				form.Set("response_url", inbox.URL)
				if status, _ := postForm(t, base, form); status != http.StatusOK {
					t.Fatalf("command: %d", status)
				}
				time.Sleep(200 * time.Millisecond) // the follow-up is polling
			}
			start := time.Now()
			stop()
			var code int
			select {
			case code = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop")
			}
			took := time.Since(start)
			if code != 0 {
				t.Errorf("serve exited %d:\n%s", code, logs.String())
			}
			if took < tt.minStop || took > tt.maxStop {
				t.Errorf("stopping took %s, want %s to %s", took, tt.minStop, tt.maxStop)
			}
			if !strings.Contains(logs.String(), `"msg":"shutting down","grace_seconds":`+strconv.FormatFloat(tt.wantGrace, 'f', -1, 64)) {
				t.Errorf("log lacks the grace of %gs:\n%s", tt.wantGrace, logs.String())
			}
			if tt.followUp {
				m := inbox.Next(t)
				if !strings.Contains(m.Text, "Still purging") || !strings.Contains(blocksOf(m), "check with `/cdn-purge status I") {
					t.Errorf("the channel was not told to check later: %s\n%s", m.Text, blocksOf(m))
				}
			}
		})
	}
}

// serveURL waits for serve's first log line and returns the URL it
// listens on.
func serveURL(t *testing.T, logs *testutil.LockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving Slack commands" && rec.Addr != "" {
				return "http://" + rec.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return ""
}
