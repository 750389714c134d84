package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// invokeAPI is a stand-in for the Lambda Invoke API: it records the
// asynchronous invocations the function makes of itself, each before it
// answers it.
type invokeAPI struct {
	URL string
	mu  sync.Mutex
	got chan []byte
}

func newInvokeAPI(t *testing.T, function string) *invokeAPI {
	t.Helper()
	api := &invokeAPI{got: make(chan []byte, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/"+function+"/invocations" ||
			r.Header.Get("X-Amz-Invocation-Type") != "Event" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			t.Errorf("unexpected invoke: %s %s %v", r.Method, r.URL.Path, r.Header)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		api.got <- body
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	api.URL = srv.URL
	return api
}

func (api *invokeAPI) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-api.got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the function did not invoke itself")
		return nil
	}
}

// noMore fails the test if the function invoked itself and next has not
// returned the event. It does not wait: call it once the handler has
// returned, since the handler waits for the Invoke API's answer.
func (api *invokeAPI) noMore(t *testing.T) {
	t.Helper()
	select {
	case b := <-api.got:
		t.Errorf("unexpected self-invocation: %s", b)
	default:
	}
}

// TestLambdaFollowsUpThroughSelfInvocation: a slash command through the
// Lambda handler invokes the function asynchronously (checked against a
// stand-in for the Invoke API); that event, delivered back, replaces the
// message once the invalidation completes, and a duplicate delivery posts
// nothing more.
func TestLambdaFollowsUpThroughSelfInvocation(t *testing.T) {
	const function = "cdnpurge-test"
	api := newInvokeAPI(t, function)
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	cfg := lambdaConfig(testutil.MustEmulator(t, 300*time.Millisecond))
	cfg.DevAllowLoopback = true
	getenv := func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": function, "CDNPURGE_LAMBDA_ENDPOINT": api.URL}[k]
	}
	var logs testutil.LockedBuffer
	a := mustStartAppIn(t, cfg, &logs, modeLambda, getenv)
	handle := a.lambdaHandler()

	form := commandForm("/blog/*", "deploys", "t.followup")
	form.Set("response_url", inbox.URL)
	ev := lambdaCase{path: "/", form: form, base64: true}.event(t)
	raw, _ := json.Marshal(ev)
	if _, err := handle(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	payload := api.next(t)
	fe, ok, err := followup.ParseEvent(payload)
	if !ok || err != nil || fe.Hop != 0 || fe.Followup.ResponseURL != inbox.URL {
		t.Fatalf("self-invocation payload %s: ok=%v err=%v", payload, ok, err)
	}

	// Lambda delivers the event: the follow-up replaces the message.
	if _, err := handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	done := inbox.Next(t)
	if !done.ReplaceOriginal || !strings.Contains(done.Text, "Purged 1 path") || !strings.Contains(done.Text, fe.Followup.InvalidationID) {
		t.Fatalf("follow-up post: %+v", done)
	}
	// Delivered again: nothing more is posted or created. The handler
	// returns only after its posts and invocations are answered, and the
	// stand-ins record each before answering: no need to wait.
	if _, err := handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "duplicate delivery dropped") {
		t.Errorf("the second delivery was not dropped as a duplicate:\n%s", logs.String())
	}
	inbox.NoMore(t)
	api.noMore(t)
	if strings.Contains(logs.String(), "RESPONSETOKEN") {
		t.Error("the log shows the response_url token")
	}
}

// TestLambdaFollowUpHandsOn: when the invocation's time runs out first, the
// follow-up is handed on to the next hop, and at the last hop the channel is
// told to check later.
func TestLambdaFollowUpHandsOn(t *testing.T) {
	const function = "cdnpurge-test"
	api := newInvokeAPI(t, function)
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	emu := testutil.MustEmulator(t, time.Hour)
	cfg := lambdaConfig(emu)
	cfg.DevAllowLoopback = true
	getenv := func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": function, "CDNPURGE_LAMBDA_ENDPOINT": api.URL}[k]
	}
	a := mustStartAppIn(t, cfg, io.Discard, modeLambda, getenv)
	inv, err := testutil.NewInvalidator(emu).CreateInvalidation(context.Background(), batchFor("handon"))
	if err != nil {
		t.Fatal(err)
	}
	req := followup.Request{DistributionID: defaultDistributionID, InvalidationID: inv.ID, ResponseURL: inbox.URL, Started: time.Now()}
	for _, hop := range []int{0, maxHops - 1} {
		payload, _ := followup.MarshalEvent(req, hop)
		ctx, cancel := context.WithTimeout(context.Background(), handOnMargin+500*time.Millisecond)
		_, err := a.lambdaHandler()(ctx, payload)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if hop == 0 {
			next, _, err := followup.ParseEvent(api.next(t))
			if err != nil || next.Hop != 1 || next.Followup.InvalidationID != inv.ID {
				t.Fatalf("hand-on: %+v %v", next, err)
			}
			// The hop returned after handing on: had it posted, the
			// inbox would hold the post.
			inbox.NoMore(t)
			continue
		}
		msg := inbox.Next(t)
		if !strings.Contains(msg.Text, "Still purging") || !strings.Contains(blocksOf(msg), "/cdn-purge status "+inv.ID) {
			t.Fatalf("last hop: %s %s", msg.Text, blocksOf(msg))
		}
	}
}

// TestLambdaFollowUpUnderRIE sends a follow-up event straight to the real
// bootstrap under aws-lambda-rie, twice: one post.
func TestLambdaFollowUpUnderRIE(t *testing.T) {
	rie := findRIE(t)
	bootstrap := buildBootstrap(t)
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	emu := testutil.MustEmulator(t, 200*time.Millisecond)
	inv, err := testutil.NewInvalidator(emu).CreateInvalidation(context.Background(), batchFor("rie"))
	if err != nil {
		t.Fatal(err)
	}
	invoke, out := startRIE(t, rie, bootstrap, []string{
		config.EnvCloudFrontEndpoint + "=" + emu, config.EnvDevAllowLoopback + "=1",
		"AWS_LAMBDA_FUNCTION_NAME=cdnpurge-test", "CDNPURGE_LAMBDA_ENDPOINT=http://127.0.0.1:9",
	})
	payload, _ := followup.MarshalEvent(followup.Request{
		DistributionID: defaultDistributionID, InvalidationID: inv.ID, ResponseURL: inbox.URL, Started: time.Now(),
	}, 0)
	for i := range 2 {
		resp, err := http.Post(invoke, "application/json", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i == 0 {
			if msg := inbox.Next(t); !strings.Contains(msg.Text, "Purged 1 path") {
				t.Fatalf("follow-up: %+v", msg)
			}
		}
	}
	// RIE answered the second invoke once the handler returned, after any
	// post it made was answered. Its log says the delivery was dropped
	// (the output may trail the answer a little).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "duplicate delivery dropped"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the bootstrap did not drop the second delivery as a duplicate:\n%s", out.String())
		}
	}
	inbox.NoMore(t)
}

func blocksOf(m *slackapi.WebhookMessage) string {
	raw, _ := json.Marshal(m.Blocks)
	return strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(string(raw))
}

// batchFor is a one-path batch with a unique caller reference.
func batchFor(name string) purge.Batch {
	return purge.Batch{DistributionID: defaultDistributionID, CallerReference: purge.CLICallerReference(name + "-" + randomHex(4)), Paths: []string{"/" + name}}
}

// TestLambdaRetriesThroughSelfInvocation: on Lambda, a purge CloudFront did
// not take inside the reply budget is handed to the self-invocation with
// its batch, and the follow-up event, delivered after the outage, creates it
// with the command's CallerReference and follows it to the end: one
// invalidation, the message replaced with the outcome.
func TestLambdaRetriesThroughSelfInvocation(t *testing.T) {
	const function = "cdnpurge-test"
	api := newInvokeAPI(t, function)
	inbox := testutil.NewSlackInbox(t, "RESPONSETOKEN")
	outageEnds := time.Now().Add(2 * time.Second)
	emu, endpoint := testutil.MustEmulatorWithOutage(t, defaultDistributionID, 200*time.Millisecond, outageEnds)
	cfg := lambdaConfig(endpoint)
	cfg.DevAllowLoopback = true
	getenv := func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": function, "CDNPURGE_LAMBDA_ENDPOINT": api.URL}[k]
	}
	a := mustStartAppIn(t, cfg, io.Discard, modeLambda, getenv)
	handle := a.lambdaHandler()

	form := commandForm("/retried", "deploys", "t.retried")
	form.Set("response_url", inbox.URL)
	raw, _ := json.Marshal(lambdaCase{path: "/", form: form, base64: true}.event(t))
	resp, err := handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := json.Marshal(resp); !strings.Contains(string(body), "has not taken it yet") {
		t.Fatalf("reply during the outage: %s", body)
	}
	payload := api.next(t)
	fe, ok, err := followup.ParseEvent(payload)
	if !ok || err != nil || fe.Followup.InvalidationID != "" || fe.Followup.CallerReference != purge.SlackCallerReference("U1", "t.retried") {
		t.Fatalf("self-invocation payload %s: ok=%v err=%v", payload, ok, err)
	}
	time.Sleep(time.Until(outageEnds)) // the outage lasts its time, whatever the test does
	if _, err := handle(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	if m := inbox.Next(t); !m.ReplaceOriginal || !strings.Contains(m.Text, "Purging 1 path") {
		t.Fatalf("started: %s", m.Text)
	}
	if m := inbox.Next(t); !m.ReplaceOriginal || !strings.Contains(m.Text, "Purged 1 path") {
		t.Fatalf("final: %s", m.Text)
	}
	if refs := emu.CallerReferences(defaultDistributionID); len(refs) != 1 || refs[0] != fe.Followup.CallerReference {
		t.Fatalf("invalidations by CallerReference: %v", refs)
	}
}
