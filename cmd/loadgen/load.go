package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadUser is the Slack user every command comes from; its CallerReference
// prefix is purge.SlackCallerReference(loadUser, "").
const loadUser = "U0LOADGEN"

// loadSpec is one run's load.
type loadSpec struct {
	target, secret, channel string
	count, concurrency      int
	paths                   int
	deadline                time.Time // no command is sent after it
	runID                   string    // makes this run's trigger_ids unique
}

// loadResult is what the workers saw.
type loadResult struct {
	runID     string
	sent      int
	elapsed   time.Duration
	stoppedBy string // "count", "max-duration" or "interrupted"

	latencies     []time.Duration // of the replies received
	status        map[int]int
	transportErrs int
	sampleErr     string

	started, warnings, errorReplies, other int
	sampleWarning, sampleError             string
	ids                                    map[string]string // trigger_id -> the invalidation its reply named
}

// trigger returns the trigger_id of command n.
func (s loadSpec) trigger(n int) string { return "lg." + s.runID + "." + strconv.Itoa(n) }

// sendLoad sends spec.count signed commands with spec.concurrency workers.
func sendLoad(ctx context.Context, client *http.Client, spec loadSpec) *loadResult {
	var next atomic.Int64
	var stoppedBy atomic.Value
	stoppedBy.Store("count")
	results := make([]*loadResult, spec.concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range spec.concurrency {
		r := &loadResult{status: map[int]int{}, ids: map[string]string{}}
		results[w] = r
		wg.Go(func() {
			wk := newWorker(client, spec)
			for {
				n := int(next.Add(1) - 1)
				if n >= spec.count {
					return
				}
				if ctx.Err() != nil {
					stoppedBy.Store("interrupted")
					return
				}
				if time.Now().After(spec.deadline) {
					stoppedBy.Store("max-duration")
					return
				}
				r.sent++
				wk.send(ctx, n, r)
			}
		})
	}
	wg.Wait()
	total := &loadResult{runID: spec.runID, elapsed: time.Since(start), stoppedBy: stoppedBy.Load().(string), status: map[int]int{}, ids: map[string]string{}}
	for _, r := range results {
		total.sent += r.sent
		total.latencies = append(total.latencies, r.latencies...)
		for k, v := range r.status {
			total.status[k] += v
		}
		total.transportErrs += r.transportErrs
		total.started += r.started
		total.warnings += r.warnings
		total.errorReplies += r.errorReplies
		total.other += r.other
		for k, v := range r.ids {
			total.ids[k] = v
		}
		total.sampleErr = cmp.Or(total.sampleErr, r.sampleErr)
		total.sampleWarning = cmp.Or(total.sampleWarning, r.sampleWarning)
		total.sampleError = cmp.Or(total.sampleError, r.sampleError)
	}
	return total
}

// worker sends commands one at a time, reusing its buffers.
type worker struct {
	client   *http.Client
	spec     loadSpec
	url      string
	mac      hashWriter
	body     bytes.Buffer
	fixed    string // the form fields every command shares
	sigHex   []byte
	pathsBuf strings.Builder
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}

func newWorker(client *http.Client, spec loadSpec) *worker {
	fixed := url.Values{
		"team_id": {"T0LOADGEN"}, "team_domain": {"loadgen"}, "channel_id": {spec.channel}, "channel_name": {spec.channel},
		"user_id": {loadUser}, "user_name": {"loadgen"}, "command": {"/cdn-purge"}, "api_app_id": {"A0LOADGEN"},
		// On loopback, to a port nobody serves: nothing is ever posted off
		// this machine, whatever the target does with it.
		"response_url": {"http://127.0.0.1:9/commands/T0LOADGEN/1/" + randomHex(12)},
	}.Encode()
	return &worker{
		client: client, spec: spec, url: strings.TrimSuffix(spec.target, "/") + "/slack/commands",
		mac: hmac.New(sha256.New, []byte(spec.secret)), fixed: fixed, sigHex: make([]byte, 64),
	}
}

// startedID reads the invalidation ID from a started reply's text
// (":broom: Purging 1 path on `E…` (invalidation I…)").
var startedID = regexp.MustCompile(`\(invalidation ([A-Z0-9]+)\)`)

func (wk *worker) send(ctx context.Context, n int, r *loadResult) {
	trigger := wk.spec.trigger(n)
	wk.pathsBuf.Reset()
	for j := range wk.spec.paths {
		if j > 0 {
			wk.pathsBuf.WriteByte(' ')
		}
		wk.pathsBuf.WriteString("/loadgen/" + wk.spec.runID + "/" + strconv.Itoa(n) + "/" + strconv.Itoa(j) + ".html")
	}
	wk.body.Reset()
	wk.body.WriteString(wk.fixed)
	wk.body.WriteString("&trigger_id=" + url.QueryEscape(trigger) + "&text=" + url.QueryEscape(wk.pathsBuf.String()))
	body := wk.body.Bytes()

	ts := strconv.FormatInt(time.Now().Unix(), 10)
	wk.mac.Reset()
	io.WriteString(wk.mac, "v0:"+ts+":")
	wk.mac.Write(body)
	hex.Encode(wk.sigHex, wk.mac.Sum(nil))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wk.url, bytes.NewReader(body))
	if err != nil {
		r.transportErrs++
		r.sampleErr = cmp.Or(r.sampleErr, err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+string(wk.sigHex))
	start := time.Now()
	resp, err := wk.client.Do(req)
	if err != nil {
		r.transportErrs++
		r.sampleErr = cmp.Or(r.sampleErr, err.Error())
		return
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		r.transportErrs++
		r.sampleErr = cmp.Or(r.sampleErr, err.Error())
		return
	}
	r.latencies = append(r.latencies, time.Since(start))
	r.status[resp.StatusCode]++
	if resp.StatusCode != http.StatusOK {
		r.other++
		return
	}
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if json.Unmarshal(raw, &msg) != nil {
		r.other++
		return
	}
	switch {
	case msg.ResponseType == "in_channel":
		m := startedID.FindStringSubmatch(msg.Text)
		if m == nil {
			r.other++
			return
		}
		r.started++
		r.ids[trigger] = m[1]
	case strings.HasPrefix(msg.Text, ":warning:"):
		r.warnings++
		r.sampleWarning = cmp.Or(r.sampleWarning, msg.Text)
	default:
		r.errorReplies++
		r.sampleError = cmp.Or(r.sampleError, msg.Text)
	}
}
