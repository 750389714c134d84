package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// runMainEnv, set in a child's environment, makes the test binary run
// main instead of the tests: a real cdnpurge process, signals and all,
// without a separate build.
const runMainEnv = "CDNPURGE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestServeSIGTERM runs `serve` as a child process, as a container runtime
// does, with a follow-up running, and sends it a real SIGTERM: it drains
// (the follow-up finishes and posts its result, not a hand-back) and exits
// 0. TestServeShutdownGrace stops serve through its context, which is what
// main's signal.NotifyContext turns SIGTERM into; this proves main does so.
func TestServeSIGTERM(t *testing.T) {
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	// The first poll is a second after the purge: the follow-up is running
	// when the signal comes, and completes inside the grace.
	emu := testutil.MustEmulator(t, 1500*time.Millisecond)
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:8080")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "PORT=0",
		config.EnvDistributionID+"="+defaultDistributionID, config.EnvSigningSecret+"="+lambdaSecret, config.EnvChannels+"=deploys",
		config.EnvCloudFrontEndpoint+"="+emu, config.EnvDevAllowLoopback+"=1")
	p := testutil.MustStartProcess(t, cmd)
	base := "http://" + p.Next(t, "serving Slack commands")["addr"].(string)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	form := commandForm("/blog/*", "deploys", "sigterm.1")
	form.Set("response_url", inbox.URL)
	if status, _ := postForm(t, base, form); status != http.StatusOK {
		t.Fatalf("command: %d", status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rec := p.Next(t, "shutting down"); rec["followups_running"] != float64(1) {
		t.Errorf("shutting down with %v follow-ups running, want 1", rec["followups_running"])
	}
	if err := p.Wait(t); err != nil {
		t.Fatalf("serve after SIGTERM: %v; stderr:\n%s", err, p.Stderr())
	}
	if m := inbox.Next(t); !strings.Contains(m.Text, "Purged") {
		t.Errorf("the follow-up did not finish: %s\n%s", m.Text, blocksOf(m))
	}
	if p.Stderr() != "" {
		t.Errorf("serve wrote to stderr:\n%s", p.Stderr())
	}
}

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
