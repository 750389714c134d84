package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// slackDeadline is Slack's deadline for the reply to a slash command: a
// correctness bound, not a speed target.
const slackDeadline = 3 * time.Second

// faultUser is the Slack user of the fixture's command.
const faultUser = "U2147483697"

// faultyCloudFront starts an emulator with faults behind the real
// CloudFront backend, with the backend's default retries, and a fixture
// whose handler uses it. Invalidations stay in progress for an hour, so
// the commands purge file paths (3,000 may be in progress, 15 wildcards).
func faultyCloudFront(t *testing.T, faults emulator.Faults) (*fixture, *emulator.Emulator) {
	t.Helper()
	emu := emulator.New(emulator.Options{Distributions: []string{testDist}, CompleteAfter: time.Hour, Faults: faults})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	f := newFixture(t, func(o *service.Options) {
		o.Invalidator = testutil.NewInvalidator(srv.URL)
		o.WebhookURL = "" // the audit's own failures are TestSlackFailuresLoseNothing's
	})
	return f, emu
}

// faultReply is one delivery's answer and how long it took.
type faultReply struct {
	trigger string
	status  int
	msg     *slackapi.WebhookMessage
	raw     string
	took    time.Duration
}

// faultDeliver sends one signed command straight to h and times the reply.
// It reports with t.Errorf, so goroutines may call it.
func faultDeliver(t *testing.T, h http.Handler, trigger, body string, header http.Header) faultReply {
	req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	req.Header = header.Clone()
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	r := faultReply{trigger: trigger, status: rec.Code, raw: rec.Body.String(), took: time.Since(start)}
	if rec.Code == http.StatusOK {
		var m slackapi.WebhookMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Errorf("trigger %s: the reply is not a Slack message: %v: %s", trigger, err, rec.Body)
		} else {
			r.msg = &m
		}
	}
	return r
}

// faultCommand signs a purge of one file path with its own trigger_id and
// returns the body and headers, so that it can be delivered more than once.
func faultCommand(t *testing.T, trigger string) (string, http.Header) {
	body := mustForm(t, map[string]string{"trigger_id": trigger, "text": "/faults/" + trigger + ".html"}).Encode()
	return body, signedRequest(t, "/slack/commands", testSecret, body, 0).Header
}

// checkFaultReply checks one reply: 200 and either the in-channel start
// with an invalidation ID or an ephemeral warning, inside Slack's deadline.
// It returns the invalidation ID, "" for a warning.
func checkFaultReply(t *testing.T, r faultReply) string {
	t.Helper()
	if r.took >= slackDeadline {
		t.Errorf("trigger %s: the reply took %s, Slack gives up after %s", r.trigger, r.took, slackDeadline)
	}
	if r.status != http.StatusOK || r.msg == nil {
		t.Errorf("trigger %s: status %d, body %q", r.trigger, r.status, r.raw)
		return ""
	}
	switch r.msg.ResponseType {
	case slackapi.ResponseTypeInChannel:
		id := replyInvalidationID(r.msg)
		if id == "" {
			t.Errorf("trigger %s: an in-channel reply without an invalidation ID: %s", r.trigger, r.raw)
		}
		return id
	case "ephemeral":
		if strings.HasPrefix(r.msg.Text, ":information_source: This command was already taken: invalidation `") {
			// A repeated delivery names the invalidation an earlier one made.
			return strings.Split(r.msg.Text, "`")[1]
		}
		if !strings.HasPrefix(r.msg.Text, ":warning:") {
			t.Errorf("trigger %s: ephemeral reply %q after %s, want a :warning: (a transient failure)", r.trigger, r.msg.Text, r.took)
		}
	default:
		t.Errorf("trigger %s: response_type %q", r.trigger, r.msg.ResponseType)
	}
	return ""
}

// reconcile checks that the emulator holds exactly one invalidation per
// trigger in ids (trigger -> the invalidation ID its replies named), with
// the caller reference of that trigger, and none for the others.
func reconcile(t *testing.T, f *fixture, emu *emulator.Emulator, ids map[string]string, readBack bool) {
	t.Helper()
	refs := emu.CallerReferences(testDist)
	seen := map[string]bool{}
	for _, ref := range refs {
		if seen[ref] {
			t.Errorf("CallerReference %q appears twice", ref)
		}
		seen[ref] = true
	}
	if len(refs) != len(ids) {
		t.Errorf("%d invalidations in CloudFront, %d commands were told theirs started", len(refs), len(ids))
	}
	for trigger, id := range ids {
		ref := purge.SlackCallerReference(faultUser, trigger)
		if !seen[ref] {
			t.Errorf("trigger %s: the reply named %s, but CloudFront has no invalidation with caller reference %q", trigger, id, ref)
		}
		if !readBack {
			continue
		}
		inv, err := f.inv.GetInvalidation(context.Background(), testDist, id)
		if err != nil {
			t.Errorf("trigger %s: GetInvalidation(%s): %v", trigger, id, err)
		} else if inv.CallerReference != ref {
			t.Errorf("trigger %s: invalidation %s has caller reference %q, want %q", trigger, id, inv.CallerReference, ref)
		}
	}
}

// TestCloudFrontFaultsLoseNothing sends signed commands through the real
// handler and backend to an emulator that fails, throttles or stalls: every
// command is answered in time, with its invalidation or a warning, and
// CloudFront holds exactly the invalidations the channel was told about.
func TestCloudFrontFaultsLoseNothing(t *testing.T) {
	create := func(r emulator.FaultRates) map[string]emulator.FaultRates {
		return map[string]emulator.FaultRates{emulator.OpCreateInvalidation: r}
	}
	const unavailable = "try again"
	tests := []struct {
		name     string
		faults   emulator.Faults
		n        int
		warning  string // what a failed command's warning says
		started  string // "some", "none"
		readBack bool   // reads are fault-free: check each reply's ID with GetInvalidation
	}{
		{"half the creates fail with 503", emulator.Faults{ByOperation: create(emulator.FaultRates{Unavailable: 0.5}), Seed: 1}, 50, unavailable, "some", true},
		{"half the creates are throttled", emulator.Faults{ByOperation: create(emulator.FaultRates{Throttle: 0.5}), Seed: 2}, 50, "limiting the rate", "some", true},
		{"every create fails with 503", emulator.Faults{ByOperation: create(emulator.FaultRates{Unavailable: 1})}, 20, unavailable, "none", true},
		{"too many in progress", emulator.Faults{ByOperation: create(emulator.FaultRates{Busy: 0.3}), Seed: 3}, 50, "too many invalidations in progress", "some", true},
		{"every operation fails, throttles and lags", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.2, Throttle: 0.2, Latency: 10 * time.Millisecond, LatencyJitter: 40 * time.Millisecond}, Seed: 4}, 50, "", "some", false},
		{"CloudFront slower than the reply budget", emulator.Faults{ByOperation: create(emulator.FaultRates{Latency: DefaultReplyBudget + 300*time.Millisecond})}, 8, unavailable, "none", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, emu := faultyCloudFront(t, tt.faults)
			replies := make([]faultReply, tt.n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 10)
			for i := range tt.n {
				trigger := fmt.Sprintf("%d.faults.%d", i, time.Now().UnixNano())
				body, header := faultCommand(t, trigger)
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					replies[i] = faultDeliver(t, f.h, trigger, body, header)
				})
			}
			wg.Wait()
			if lag := tt.faults.All.Latency + tt.faults.ByOperation[emulator.OpCreateInvalidation].Latency; lag > 0 {
				// A request the backend gave up on may still be waiting in
				// the emulator; reconcile once none is, or an invalidation
				// created after its reply would go unseen.
				deadline := time.Now().Add(lag + 5*time.Second)
				for c := emu.InjectedFaults(emulator.OpCreateInvalidation); c.Delayed+c.Abandoned < c.Requests; c = emu.InjectedFaults(emulator.OpCreateInvalidation) {
					if time.Now().After(deadline) {
						t.Fatalf("requests still held in the emulator: %+v", c)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			ids := map[string]string{}
			said, slowest := 0, time.Duration(0)
			for _, r := range replies {
				if id := checkFaultReply(t, r); id != "" {
					ids[r.trigger] = id
				} else if r.msg != nil && strings.Contains(r.msg.Text, tt.warning) {
					said++
				}
				slowest = max(slowest, r.took)
			}
			if len(ids) < tt.n && said == 0 {
				t.Errorf("no warning says %q", tt.warning)
			}
			injected := emu.InjectedFaults("")
			t.Logf("%d of %d started, slowest reply %s; injected %+v", len(ids), tt.n, slowest, injected)
			if injected.Unavailable+injected.Throttled+injected.Busy+injected.Abandoned == 0 {
				t.Error("no fault was injected: the test tests nothing")
			}
			switch {
			case tt.started == "some" && len(ids) == 0:
				t.Error("no command started: the retries got through nothing")
			case tt.started == "none" && len(ids) != 0:
				t.Errorf("%d commands started, want none", len(ids))
			}
			reconcile(t, f, emu, ids, tt.readBack)
		})
	}
}

// TestRepeatedDeliveriesUnderFaults delivers every command twice, the same
// signed body, while half the creates fail: each trigger_id gets at most one
// invalidation, and every reply that started one names that one.
func TestRepeatedDeliveriesUnderFaults(t *testing.T) {
	const n = 50
	for _, concurrent := range []bool{true, false} {
		t.Run(map[bool]string{true: "at once", false: "one after the other"}[concurrent], func(t *testing.T) {
			t.Parallel()
			f, emu := faultyCloudFront(t, emulator.Faults{
				ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Unavailable: 0.5}},
				Seed:        5,
			})
			var mu sync.Mutex
			byTrigger := map[string][]faultReply{}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 10)
			for i := range n {
				trigger := fmt.Sprintf("%d.repeat.%d", i, time.Now().UnixNano())
				body, header := faultCommand(t, trigger)
				deliver := func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					r := faultDeliver(t, f.h, trigger, body, header)
					mu.Lock()
					byTrigger[trigger] = append(byTrigger[trigger], r)
					mu.Unlock()
				}
				if concurrent {
					wg.Go(deliver)
					wg.Go(deliver)
				} else {
					wg.Go(func() { deliver(); deliver() })
				}
			}
			wg.Wait()
			ids := map[string]string{}
			for trigger, rs := range byTrigger {
				if len(rs) != 2 {
					t.Fatalf("trigger %s: %d replies", trigger, len(rs))
				}
				for _, r := range rs {
					id := checkFaultReply(t, r)
					if id == "" {
						continue
					}
					if prev, ok := ids[trigger]; ok && prev != id {
						t.Errorf("trigger %s: one delivery started %s, the other %s", trigger, prev, id)
					}
					ids[trigger] = id
				}
			}
			t.Logf("%d of %d triggers started; injected %+v", len(ids), n, emu.InjectedFaults(""))
			if emu.InjectedFaults("").Unavailable == 0 || len(ids) == 0 {
				t.Error("either no fault was injected or nothing got through: the test tests nothing")
			}
			reconcile(t, f, emu, ids, true)
		})
	}
}

// slackFailer stands in for a Slack URL that fails: 500, a hang, or a
// closed connection. It counts requests by kind (webhook, response_url).
type slackFailer struct {
	mode    string // "500", "hang", "close"
	release chan struct{}
	mu      sync.Mutex
	got     map[string]int
	arrived chan string // the kind of each request, as it arrives
}

func (s *slackFailer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	kind := "webhook"
	if strings.HasPrefix(r.URL.Path, "/commands/") {
		kind = "response_url"
	}
	s.mu.Lock()
	s.got[kind]++
	s.mu.Unlock()
	select {
	case s.arrived <- kind:
	default:
	}
	switch s.mode {
	case "hang":
		select {
		case <-s.release:
			w.WriteHeader(http.StatusBadGateway)
		case <-r.Context().Done():
		}
	case "close":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (s *slackFailer) count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[kind]
}

// TestSlackFailuresLoseNothing points the audit webhook and the response_url
// at a Slack that fails (500), hangs past the reply budget, or closes the
// connection: the reply still leaves in time with its invalidation, the
// invalidation exists, and the failures are logged without the URLs' tokens.
func TestSlackFailuresLoseNothing(t *testing.T) {
	for _, mode := range []string{"500", "hang", "close"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			failer := &slackFailer{mode: mode, release: make(chan struct{}), got: map[string]int{}, arrived: make(chan string, 64)}
			srv := httptest.NewServer(failer)
			t.Cleanup(srv.Close)
			var released atomic.Bool
			release := func() {
				if released.CompareAndSwap(false, true) {
					close(failer.release)
				}
			}
			t.Cleanup(release)

			var pool *followup.Pool
			f := newFixture(t, func(o *service.Options) {
				o.Invalidator = testutil.MustEmulatedInvalidator(t, 50*time.Millisecond)
				o.WebhookURL = srv.URL + "/services/T0/B0/" + webhookToken
				// A hang outlasts the reply budget and Slack's deadline: the
				// client gives up after 4 s, and the test releases the hang
				// only after the reply, so a reply that waited for the
				// webhook would take more than 3 s.
				o.Poster = &slack.Poster{AllowLoopback: true, Backoff: time.Millisecond, HTTPClient: &http.Client{Timeout: 4 * time.Second}}
				o.AuditTimeout = 5 * time.Second
				pool = followup.NewPool(&followup.Follower{
					Invalidator: o.Invalidator, Poster: o.Poster, Logger: o.Logger,
					FirstDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
				}, 4, o.Logger)
				o.Followups = pool
			})
			trigger := "1.slackfail." + mode
			body := mustForm(t, map[string]string{
				"trigger_id": trigger, "text": "/slack-fails.html",
				"response_url": srv.URL + "/commands/T0/1/" + responseSecret,
			}).Encode()
			r := faultDeliver(t, f.h, trigger, body, signedRequest(t, "/slack/commands", testSecret, body, 0).Header)
			id := checkFaultReply(t, r)
			if id == "" {
				t.Fatalf("no invalidation started: %s", r.raw)
			}
			if inv, err := f.inv.GetInvalidation(context.Background(), testDist, id); err != nil || inv.CallerReference != purge.SlackCallerReference(faultUser, trigger) {
				t.Fatalf("the invalidation the reply names: %+v, %v", inv, err)
			}

			// Both URLs are tried (the follow-up once the invalidation
			// completes); a hang is held until both are hanging.
			deadline := time.After(10 * time.Second)
			for failer.count("webhook") == 0 || failer.count("response_url") == 0 {
				select {
				case <-failer.arrived:
				case <-deadline:
					t.Fatalf("webhook tried %d times, response_url %d times", failer.count("webhook"), failer.count("response_url"))
				}
			}
			release()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := f.h.Wait(ctx); err != nil {
				t.Fatalf("the audit delivery did not end: %v", err)
			}
			if err := pool.Shutdown(ctx); err != nil {
				t.Fatalf("the follow-up did not end: %v", err)
			}

			logs := f.logs.String()
			for _, want := range []string{"audit webhook failed", "follow-up: Slack did not take the update", id} {
				if !strings.Contains(logs, want) {
					t.Errorf("the log lacks %q:\n%s", want, logs)
				}
			}
			for _, secret := range []string{webhookToken, responseSecret} {
				if strings.Contains(logs+r.raw, secret) {
					t.Errorf("%q leaked into the log or the reply:\n%s", secret, logs)
				}
			}
			if n := f.count(t); n != 1 {
				t.Errorf("%d invalidations, want 1", n)
			}
		})
	}
}
