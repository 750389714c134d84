package followup_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
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
