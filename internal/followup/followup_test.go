package followup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func setup(t *testing.T, completeAfter time.Duration) (*followup.Follower, followup.Request, *testutil.SlackInbox) {
	t.Helper()
	inv := testutil.MustEmulatedInvalidator(t, completeAfter)
	created, err := inv.CreateInvalidation(context.Background(), purge.Batch{DistributionID: testutil.DistributionID, CallerReference: "f-" + t.Name(), Paths: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	in := testutil.NewSlackInbox(t, "TOKEN")
	f := &followup.Follower{Invalidator: inv, Poster: &slack.Poster{AllowLoopback: true}, FirstDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	req := followup.Request{DistributionID: testutil.DistributionID, InvalidationID: created.ID, ResponseURL: in.URL, UserID: "U1", Started: time.Now()}
	return f, req, in
}

func TestFollow(t *testing.T) {
	t.Run("completed", func(t *testing.T) {
		f, req, in := setup(t, 100*time.Millisecond)
		out, err := f.Follow(context.Background(), &req)
		if out != followup.Completed || err != nil {
			t.Fatalf("Follow = %s, %v", out, err)
		}
		if m := in.Next(t); !m.ReplaceOriginal || !strings.Contains(m.Text, "Purged 1 path") {
			t.Fatalf("post: %+v", m)
		}
	})
	t.Run("gave up at the deadline", func(t *testing.T) {
		f, req, in := setup(t, time.Hour)
		req.Deadline = time.Now().Add(100 * time.Millisecond)
		out, err := f.Follow(context.Background(), &req)
		if out != followup.GaveUp || err != nil {
			t.Fatalf("Follow = %s, %v", out, err)
		}
		if m := in.Next(t); !strings.Contains(m.Text, "Still purging") {
			t.Fatalf("post: %+v", m)
		}
	})
	t.Run("unfinished posts nothing", func(t *testing.T) {
		f, req, in := setup(t, time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if out, _ := f.Follow(ctx, &req); out != followup.Unfinished || in.Count() != 0 {
			t.Fatalf("Follow = %s with %d posts", out, in.Count())
		}
	})
	t.Run("unknown invalidation", func(t *testing.T) {
		f, req, in := setup(t, 0)
		req.InvalidationID = "INOSUCH"
		if out, err := f.Follow(context.Background(), &req); out != followup.Failed || purge.ErrorCode(err) != purge.NotFound || in.Count() != 0 {
			t.Fatalf("Follow = %s, %v", out, err)
		}
	})
	t.Run("invalid request", func(t *testing.T) {
		f, req, _ := setup(t, 0)
		req.ResponseURL = ""
		if out, err := f.Follow(context.Background(), &req); out != followup.Failed || err == nil {
			t.Fatalf("Follow = %s, %v", out, err)
		}
	})
}

func TestPool(t *testing.T) {
	f, req, in := setup(t, 150*time.Millisecond)
	p := followup.NewPool(f, 1, nil)
	if err := p.Schedule(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := p.Schedule(context.Background(), req); err != nil {
		t.Fatalf("the same follow-up again: %v", err)
	}
	other := req
	other.InvalidationID = "IOTHER"
	if err := p.Schedule(context.Background(), other); !errors.Is(err, followup.ErrPoolFull) {
		t.Fatalf("a second follow-up in a pool of one: %v", err)
	}
	in.Next(t)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if in.Count() != 1 {
		t.Fatalf("%d posts for one invalidation followed twice", in.Count())
	}
	if err := p.Schedule(context.Background(), req); !errors.Is(err, followup.ErrPoolClosed) {
		t.Fatalf("after Shutdown: %v", err)
	}
}

// TestPoolShutdown: Shutdown returns nil when every follow-up finished
// within the grace period, and an error saying how many were cut off (and
// which channels could not be told) when it ended first.
func TestPoolShutdown(t *testing.T) {
	t.Run("all finished", func(t *testing.T) {
		f, req, in := setup(t, 50*time.Millisecond)
		p := followup.NewPool(f, 0, nil)
		if err := p.Schedule(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		in.Next(t) // the completion
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown after every follow-up finished: %v", err)
		}
	})
	t.Run("cut off, channels told", func(t *testing.T) {
		f, req, in := setup(t, time.Hour)
		p := followup.NewPool(f, 0, nil)
		other := req
		other.InvalidationID = mustInvalidation(t, f, "other")
		for _, r := range []followup.Request{req, other} {
			if err := p.Schedule(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		// The grace period is over before it starts: both are running
		// (their invalidations take an hour), and both are cut off.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := p.Shutdown(ctx)
		if !errors.Is(err, followup.ErrCutOff) || !strings.Contains(err.Error(), "2 cut off") || strings.Contains(err.Error(), "not told") {
			t.Fatalf("Shutdown = %v", err)
		}
		for range 2 {
			if m := in.Next(t); !strings.Contains(m.Text, "Still purging") {
				t.Fatalf("hand-back post: %+v", m)
			}
		}
	})
	t.Run("cut off, a channel not told", func(t *testing.T) {
		f, req, _ := setup(t, time.Hour)
		f.Poster.Attempts = 1
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusInternalServerError)
		}))
		t.Cleanup(refusing.Close)
		req.ResponseURL = refusing.URL + "/commands/T0/1/UNTOLDTOKEN"
		p := followup.NewPool(f, 0, nil)
		if err := p.Schedule(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := p.Shutdown(ctx)
		if !errors.Is(err, followup.ErrCutOff) || !strings.Contains(err.Error(), "1 cut off") ||
			!strings.Contains(err.Error(), "channel not told") || !strings.Contains(err.Error(), req.InvalidationID) {
			t.Fatalf("Shutdown = %v", err)
		}
		if strings.Contains(err.Error(), "UNTOLDTOKEN") {
			t.Errorf("the error shows the response_url token: %v", err)
		}
	})
}

// mustInvalidation creates another invalidation on f's backend.
func mustInvalidation(t *testing.T, f *followup.Follower, name string) string {
	t.Helper()
	inv, err := f.Invalidator.CreateInvalidation(context.Background(), purge.Batch{DistributionID: testutil.DistributionID, CallerReference: "f-" + t.Name() + name, Paths: []string{"/" + name}})
	if err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

func TestEvent(t *testing.T) {
	req := followup.Request{DistributionID: "E1", InvalidationID: "I1", ResponseURL: "http://127.0.0.1:9/x", Started: time.Unix(1, 0).UTC()}
	raw, err := followup.MarshalEvent(req, 3)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok, err := followup.ParseEvent(raw)
	if !ok || err != nil || ev.Hop != 3 || !reflect.DeepEqual(*ev.Followup, req) {
		t.Fatalf("round trip: %+v %v %v", ev, ok, err)
	}
	for _, tt := range []struct {
		raw     string
		ok      bool
		wantErr string // "" for no error
	}{
		{`{"version":"2.0","rawPath":"/"}`, false, ""},
		{`not json`, false, ""},
		{`{"cdnpurge_followup":null}`, true, "follow-up event: cdnpurge_followup is null"},
		{`{"cdnpurge_followup":null,"hop":2}`, true, "follow-up event: cdnpurge_followup is null"},
		{`{"cdnpurge_followup":"I1"}`, true, "follow-up event: json: cannot unmarshal string"},
		{`{"cdnpurge_followup":{},"hop":"one"}`, true, "follow-up event: json: cannot unmarshal string"},
		{`{"cdnpurge_followup":{"distribution_id":"E1"}}`, true, "follow-up: no "}, // Validate's own message
	} {
		_, ok, err := followup.ParseEvent([]byte(tt.raw))
		if ok != tt.ok || (err != nil) != (tt.wantErr != "") {
			t.Errorf("ParseEvent(%s) = ok %v, err %v", tt.raw, ok, err)
			continue
		}
		if err != nil && !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("ParseEvent(%s): error %q, want it to start %q", tt.raw, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "<nil>") {
			t.Errorf("ParseEvent(%s): error %q", tt.raw, err)
		}
	}
	// A JSON error is wrapped, for errors.As.
	_, _, err = followup.ParseEvent([]byte(`{"cdnpurge_followup":"I1"}`))
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		t.Errorf("the JSON error is not wrapped: %#v", err)
	}
}

// FuzzParseEvent: any payload is either not a follow-up, a broken one, or a
// valid request.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"cdnpurge_followup":{"distribution_id":"E1","invalidation_id":"I1","response_url":"x","started":"2026-01-01T00:00:00Z"},"hop":1}`))
	f.Add([]byte(`{"version":"2.0"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, ok, err := followup.ParseEvent(raw)
		if ok && err == nil && ev.Followup.Validate() != nil {
			t.Fatalf("accepted an invalid request: %+v", ev.Followup)
		}
	})
}

// TestFollowCreates: a request still to be created is created with its own
// CallerReference, announced by the started message, then followed to the
// end with the approver named; a refusal ends it at once, saying nothing
// was purged.
func TestFollowCreates(t *testing.T) {
	t.Run("created, then completed", func(t *testing.T) {
		f, req, in := setup(t, 50*time.Millisecond)
		req.InvalidationID, req.CallerReference, req.Paths, req.ApprovedBy = "", "f-create-"+t.Name(), []string{"/created"}, "U2"
		out, err := f.Follow(context.Background(), &req)
		if out != followup.Completed || err != nil || req.InvalidationID == "" {
			t.Fatalf("Follow = %s, %v, invalidation %q", out, err, req.InvalidationID)
		}
		if m := in.Next(t); !m.ReplaceOriginal || !strings.Contains(m.Text, "Purging 1 path") {
			t.Fatalf("started: %s", m.Text)
		}
		if m := in.Next(t); !strings.Contains(m.Text, "Purged 1 path") {
			t.Fatalf("completed: %s", m.Text)
		}
	})
	t.Run("refused", func(t *testing.T) {
		f, req, in := setup(t, 0)
		req.InvalidationID, req.CallerReference, req.Paths, req.DistributionID = "", "f-refused", []string{"/x"}, "ENOSUCHDIST00"
		out, err := f.Follow(context.Background(), &req)
		if out != followup.Failed || err != nil {
			t.Fatalf("Follow = %s, %v", out, err)
		}
		if m := in.Next(t); !m.ReplaceOriginal || !strings.Contains(m.Text, "Could not purge 1 path") || !strings.Contains(m.Text, "Nothing was purged") {
			t.Fatalf("final message: %s", m.Text)
		}
	})
}

// TestPoolFreesCreatedFollowUps: a follow-up that created its invalidation
// leaves the pool when it ends, under the key it was scheduled with, so a
// pool of one takes the next.
func TestPoolFreesCreatedFollowUps(t *testing.T) {
	f, req, in := setup(t, 20*time.Millisecond)
	p := followup.NewPool(f, 1, nil)
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	for i := range 2 {
		r := req
		r.InvalidationID, r.CallerReference, r.Paths = "", fmt.Sprintf("f-pool-%d", i), []string{"/pooled"}
		if err := p.Schedule(context.Background(), r); err != nil {
			t.Fatalf("follow-up %d: %v", i, err)
		}
		in.Next(t) // started
		in.Next(t) // completed: Follow has returned
		for p.Len() != 0 {
			runtime.Gosched()
		}
	}
}
