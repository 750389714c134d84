package followup_test

import (
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/followup"
)

// FuzzEventRoundTrip complements FuzzParseEvent: a payload is refused
// (ok=false) only without an error; a follow-up it accepts is valid, and
// marshalled again for the next hop it reads back as the same request.
//
//	go test ./internal/followup -run '^$' -fuzz '^FuzzEventRoundTrip$' -fuzztime 60s
func FuzzEventRoundTrip(f *testing.F) {
	f.Add([]byte(`{"cdnpurge_followup":{"distribution_id":"E1","invalidation_id":"I1","response_url":"x","started":"2026-01-01T00:00:00+01:00"},"hop":3}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, ok, err := followup.ParseEvent(raw)
		if !ok {
			if err != nil {
				t.Fatalf("not a follow-up, yet an error: %v", err)
			}
			return
		}
		if err != nil {
			return
		}
		if ev.Followup == nil || ev.Followup.Validate() != nil {
			t.Fatalf("accepted an invalid follow-up: %+v", ev.Followup)
		}
		again, err := followup.MarshalEvent(*ev.Followup, ev.Hop)
		if err != nil {
			// Only a time outside JSON's years 0-9999 cannot be written back.
			if ev.Followup.Started.Year() >= 0 && ev.Followup.Started.Year() <= 9999 &&
				ev.Followup.Deadline.Year() >= 0 && ev.Followup.Deadline.Year() <= 9999 {
				t.Fatalf("MarshalEvent: %v", err)
			}
			return
		}
		ev2, ok, err := followup.ParseEvent(again)
		if !ok || err != nil {
			t.Fatalf("re-marshalled event refused: ok %v, %v: %s", ok, err, again)
		}
		a, b := *ev.Followup, *ev2.Followup
		if ev.Hop != ev2.Hop || a.Key() != b.Key() || a.ResponseURL != b.ResponseURL || a.UserID != b.UserID ||
			a.ChannelID != b.ChannelID || a.Requested != b.Requested || !a.Started.Equal(b.Started) || !a.Deadline.Equal(b.Deadline) {
			t.Fatalf("round trip changed the event:\n%+v hop %d\n%+v hop %d", a, ev.Hop, b, ev2.Hop)
		}
	})
}
