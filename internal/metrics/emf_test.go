package metrics

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// lines splits what EMF wrote into its lines, each checked against the
// specification.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		out = append(out, testutil.MustEMF(t, l))
	}
	b.Reset()
	return out
}

func TestEMF(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	e := NewEMF(func() time.Time { return now })
	// As the Lambda counts: through Metrics, with EMF its one sink. It has
	// no gauge of the follow-ups.
	m := New(e)
	m.FollowupsInFlight(func() int { return 0 })
	var out bytes.Buffer

	tests := []struct {
		name  string
		do    func()
		lines []map[string]any // the members wanted in each line (not _aws)
	}{
		{"nothing moved", func() {}, nil},
		{"one invocation's purge", func() {
			m.Purge("cloudfront", "www", OutcomeOK)
			m.Reply(TransportLambda, 250*time.Millisecond)
			m.CDNCall("cloudfront", "CreateInvalidation", ResultOK, 100*time.Millisecond)
		}, []map[string]any{{
			"provider": "cloudfront", "target": "www", "outcome": "ok", "transport": "lambda",
			"operation": "CreateInvalidation", "result": "ok",
			NamePurges: 1.0, NameReplyDuration: []any{0.25}, NameCDNRequests: 1.0, NameCDNRequestDuration: []any{0.1},
		}}},
		{"only the increments", func() {
			m.Purge("cloudfront", "www", OutcomeOK)
		}, []map[string]any{{"provider": "cloudfront", "target": "www", "outcome": "ok", NamePurges: 1.0}}},
		{"two purges that cannot share a line", func() {
			m.Purge("cloudfront", "www", OutcomeOK)
			m.Purge("fastly", "news", OutcomeFailed)
			m.Refused("channels")
		}, []map[string]any{
			// In Prometheus's order: by label values, outcome first.
			{"provider": "fastly", "target": "news", "outcome": "failed", "rule": "channels", NamePurges: 1.0, NameRefusals: 1.0},
			{"provider": "cloudfront", "target": "www", "outcome": "ok", NamePurges: 1.0},
		}},
		{"several observations, each exact", func() {
			m.Reply(TransportLambda, 3*time.Millisecond)
			m.Reply(TransportLambda, 40*time.Millisecond)
			m.Reply(TransportLambda, time.Minute)
		}, []map[string]any{{"transport": "lambda", NameReplyDuration: []any{0.003, 0.04, 60.0}}}},
		{"a lost Slack message and a refused call", func() {
			m.SlackDeliveryFailed(DestinationWebhook)
			m.CDNCall("fastly", "purge", ResultDenied, 2*time.Second)
		}, []map[string]any{{
			"destination": "webhook", "provider": "fastly", "operation": "purge", "result": "denied",
			NameCDNRequests: 1.0, NameCDNRequestDuration: []any{2.0}, NameSlackDeliveryFailures: 1.0,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if err := e.Write(&out); err != nil {
				t.Fatal(err)
			}
			got := lines(t, &out)
			if len(got) != len(tt.lines) {
				t.Fatalf("%d lines, want %d: %v", len(got), len(tt.lines), got)
			}
			for i, want := range tt.lines {
				aws := got[i]["_aws"].(map[string]any)
				delete(got[i], "_aws")
				if !reflect.DeepEqual(got[i], want) {
					t.Errorf("line %d: %v, want %v", i, got[i], want)
				}
				if aws["Timestamp"] != float64(now.UnixMilli()) {
					t.Errorf("line %d: Timestamp %v", i, aws["Timestamp"])
				}
				for _, d := range aws["CloudWatchMetrics"].([]any) {
					if ns := d.(map[string]any)["Namespace"]; ns != Namespace {
						t.Errorf("namespace %v", ns)
					}
				}
			}
		})
	}
}

// TestEMFDimensions: each metric's directive names its labels as its
// dimensions, and the units are Count and Seconds.
func TestEMFDimensions(t *testing.T) {
	e := NewEMF(nil)
	m := New(e)
	m.Purge("varnish", "media", OutcomePartial)
	m.Reply(TransportHTTP, time.Millisecond)
	var out bytes.Buffer
	if err := e.Write(&out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range testutil.MustEMF(t, bytes.TrimSpace(out.Bytes()))["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
		d := d.(map[string]any)
		var dims []string
		for _, k := range d["Dimensions"].([]any)[0].([]any) {
			dims = append(dims, k.(string))
		}
		for _, mm := range d["Metrics"].([]any) {
			mm := mm.(map[string]any)
			got[mm["Name"].(string)] = mm["Unit"].(string) + " by " + strings.Join(dims, ",")
		}
	}
	want := map[string]string{NamePurges: "Count by outcome,provider,target", NameReplyDuration: "Seconds by transport"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

// TestEMFSpills: more than 100 values of one metric go into further
// documents, 100 at most in each, in the order observed.
func TestEMFSpills(t *testing.T) {
	e := NewEMF(nil)
	for i := range 250 {
		e.Reply(TransportLambda, time.Duration(i)*time.Millisecond)
	}
	e.Purge("cloudfront", "www", OutcomeOK)
	var out bytes.Buffer
	if err := e.Write(&out); err != nil {
		t.Fatal(err)
	}
	got := lines(t, &out)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3", len(got))
	}
	var all []float64
	for i, want := range []int{100, 100, 50} {
		vs := got[i][NameReplyDuration].([]any)
		if len(vs) != want {
			t.Errorf("line %d: %d values, want %d", i, len(vs), want)
		}
		for _, v := range vs {
			all = append(all, v.(float64))
		}
	}
	for i, v := range all {
		if want := float64(i) / 1000; v != want {
			t.Fatalf("value %d is %v, want %v", i, v, want)
		}
	}
	if got[0][NamePurges] != 1.0 {
		t.Errorf("the purge is not in the first line: %v", got[0])
	}
	if err := e.Write(&out); err != nil || out.Len() != 0 {
		t.Errorf("a second Write wrote %q, %v; want nothing", out.String(), err)
	}
}
