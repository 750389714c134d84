// Command rss measures the resident memory of `cdnpurge serve`: at idle,
// while it answers signed slash commands, and after, on loopback only.
//
//	go run ./scripts/rss [-requests 10000] [-concurrency 8] [-max-growth-mib 8]
//
// It builds cdnpurge, starts `cdnpurge emulate` (invalidations complete
// after -complete-after) and `cdnpurge serve` against it, and a stand-in for
// Slack's response_url on 127.0.0.1, so that serve also follows each
// invalidation and posts its completion, as in production (its follow-up
// pool is bounded: when it is full the reply says "check later"). Commands
// purge file paths only: CloudFront allows 15 wildcard paths in progress.
//
// It prints VmRSS and VmHWM from /proc/PID/status at idle, after every
// tenth of the requests, and once the follow-ups have drained, and exits 1
// when VmRSS after the last request is more than -max-growth-mib above its
// value after the first fifth: memory must level off, not grow with the
// number of requests served.
package main

import (
	"github.com/cdnpurge/cdnpurge/internal/slack"

	"github.com/cdnpurge/cdnpurge/internal/testutil"

	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	distributionID = "EDFDVBD6EXAMPLE"
	signingSecret  = "rss-signing-secret"
)

func main() {
	requests := flag.Int("requests", 10000, "signed commands to send")
	concurrency := flag.Int("concurrency", 8, "commands in flight at once")
	completeAfter := flag.Duration("complete-after", 300*time.Millisecond, "how long the emulator keeps an invalidation in progress")
	maxGrowth := flag.Float64("max-growth-mib", 8, "fail when VmRSS grows more than this from a fifth of the requests to the end")
	flag.Parse()
	if err := run(*requests, *concurrency, *completeAfter, *maxGrowth); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func run(requests, concurrency int, completeAfter time.Duration, maxGrowth float64) error {
	if requests < 10 || concurrency < 1 {
		return errors.New("-requests must be at least 10 and -concurrency at least 1")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cdnpurge-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "cdnpurge")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/cdnpurge")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	// Slack's response_url, on loopback: accepts every post.
	var posts atomic.Int64
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
	}))
	defer slack.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	emuAddr, err := testutil.FreeAddr()
	if err != nil {
		return err
	}
	srvAddr, err := testutil.FreeAddr()
	if err != nil {
		return err
	}
	emu := exec.CommandContext(ctx, bin, "emulate", "--addr", emuAddr, "--distribution", distributionID, "--complete-after", completeAfter.String())
	emu.Env = env
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", srvAddr)
	srv.Env = append(env,
		"CDNPURGE_DISTRIBUTION_ID="+distributionID,
		"CDNPURGE_SLACK_SIGNING_SECRET="+signingSecret,
		"CDNPURGE_SLACK_CHANNEL=deploys",
		"CDNPURGE_CLOUDFRONT_ENDPOINT=http://"+emuAddr,
		"CDNPURGE_DEV_ALLOW_LOOPBACK=1",
	)
	for _, c := range []*exec.Cmd{emu, srv} {
		if err := c.Start(); err != nil {
			return err
		}
		defer func() { c.Process.Kill(); c.Wait() }()
	}
	for _, a := range []string{emuAddr, srvAddr} {
		if err := testutil.WaitListening(a); err != nil {
			return err
		}
	}
	pid := srv.Process.Pid
	time.Sleep(time.Second)
	fmt.Printf("cdnpurge serve (pid %d), %d signed commands, %d at once; emulator completes invalidations after %s\n\n",
		pid, requests, concurrency, completeAfter)
	fmt.Printf("  %-22s %10s %10s\n", "", "VmRSS", "VmHWM")
	show := func(label string) (rss float64) {
		rss, hwm := memory(pid)
		fmt.Printf("  %-22s %7.1f MiB %7.1f MiB\n", label, rss, hwm)
		return rss
	}
	show("idle")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	target := "http://" + srvAddr + "/slack/commands"
	responseURL := slack.URL + "/commands/T0001/1/RESPONSETOKEN"
	var started, other, failed atomic.Int64
	var sample atomic.Value // the text of one "other" reply
	var next atomic.Int64
	step := requests / 10
	var atFifth, atEnd float64
	for done := 0; done < requests; done += step {
		n := min(step, requests-done)
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(done+n) {
						return
					}
					kind, err := send(client, target, responseURL, int(i))
					switch {
					case err != nil:
						failed.Add(1)
					case kind == "in_channel":
						started.Add(1)
					default:
						other.Add(1)
						sample.CompareAndSwap(nil, kind)
					}
				}
			})
		}
		wg.Wait()
		next.Store(int64(done + n))
		rss := show(fmt.Sprintf("after %d", done+n))
		if done+n == 2*step {
			atFifth = rss
		}
		atEnd = rss
	}
	time.Sleep(2*completeAfter + 3*time.Second)
	show("follow-ups drained")
	fmt.Printf("\n  replies: %d in_channel started, %d other (e.g. too many in progress), %d failed; %d follow-up posts received\n",
		started.Load(), other.Load(), failed.Load(), posts.Load())
	if s, ok := sample.Load().(string); ok {
		fmt.Printf("  one other reply: %.200s\n", s)
	}
	growth := atEnd - atFifth
	fmt.Printf("  VmRSS growth from %d to %d requests: %+.1f MiB (bound %.0f MiB)\n", 2*step, requests, growth, maxGrowth)
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed", failed.Load())
	}
	if growth > maxGrowth {
		return fmt.Errorf("VmRSS grew %.1f MiB, more than %.0f MiB", growth, maxGrowth)
	}
	return nil
}

// send posts one signed slash command and returns "in_channel" for a
// started purge, the reply itself for anything else.
func send(client *http.Client, target, responseURL string, i int) (string, error) {
	body := url.Values{
		"team_id": {"T0001"}, "team_domain": {"example"}, "channel_id": {"C2147483705"}, "channel_name": {"deploys"},
		"user_id": {"U2147483697"}, "user_name": {"steve"}, "command": {"/cdn-purge"},
		"text":         {"/index.html https://www.example.com/news/post-" + strconv.Itoa(i) + ".html"},
		"response_url": {responseURL}, "trigger_id": {"rss." + strconv.FormatInt(time.Now().UnixNano(), 36) + "." + strconv.Itoa(i)},
	}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.Signature(signingSecret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	if bytes.Contains(raw, []byte(`"response_type":"in_channel"`)) {
		return "in_channel", nil
	}
	return string(raw), nil
}

// memory reads VmRSS and VmHWM, in MiB, from /proc/PID/status.
func memory(pid int) (rss, hwm float64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the cdnpurge module")
	}
	return filepath.Dir(gomod), nil
}
