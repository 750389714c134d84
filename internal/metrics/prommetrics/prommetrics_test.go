package prommetrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdnpurge/cdnpurge/internal/metrics"
)

// MustNew returns a Sink on a registry of its own, and Metrics that
// forward to it.
func MustNew(tb testing.TB) (*Sink, *metrics.Metrics, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	s := New(reg)
	return s, metrics.New(s), reg
}

// TestCounts counts through metrics.Metrics, as the app does, and reads
// the series back.
func TestCounts(t *testing.T) {
	s, m, reg := MustNew(t)
	m.Purge("cloudfront", "www", metrics.OutcomeOK)
	m.Purge("cloudfront", "www", metrics.OutcomeOK)
	m.Purge("fastly", "news", metrics.OutcomeFailed)
	m.Refused("channels")
	m.Reply(metrics.TransportHTTP, 20*time.Millisecond)
	m.Reply("other", time.Second)
	m.CDNCall("varnish", "ban", metrics.ResultUnreachable, time.Millisecond)
	m.SlackDeliveryFailed(metrics.DestinationResponseURL)
	running := 3
	m.FollowupsInFlight(func() int { return running })

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"purges ok", s.purges.WithLabelValues("cloudfront", "www", metrics.OutcomeOK), 2},
		{"purges failed", s.purges.WithLabelValues("fastly", "news", metrics.OutcomeFailed), 1},
		{"refusals", s.refusals.WithLabelValues("channels"), 1},
		{"cdn requests", s.cdnRequests.WithLabelValues("varnish", "ban", metrics.ResultUnreachable), 1},
		{"slack failures", s.slackFailures.WithLabelValues(metrics.DestinationResponseURL), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := promtest.ToFloat64(tt.c); got != tt.want {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
	want := `
# HELP cdnpurge_followups_in_flight Follow-ups of invalidations running in this process.
# TYPE cdnpurge_followups_in_flight gauge
cdnpurge_followups_in_flight 3
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(want), metrics.NameFollowupsInFlight); err != nil {
		t.Error(err)
	}
	if n := promtest.CollectAndCount(s.reply); n != 4 {
		t.Errorf("%d reply series, want 4 (http, lambda, socket_mode from the start; other)", n)
	}
	if n := promtest.CollectAndCount(s.cdnDuration); n != 1 {
		t.Errorf("%d CDN latency series, want 1", n)
	}
}

// TestRegistryCollectors: NewRegistry has the Go and process collectors
// beside cdnpurge's metrics.
func TestRegistryCollectors(t *testing.T) {
	reg := NewRegistry()
	metrics.New(New(reg)).Purge("cloudfront", "www", metrics.OutcomeOK)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"go_goroutines", "process_start_time_seconds", metrics.NamePurges} {
		if !names[want] {
			t.Errorf("the registry lacks %s", want)
		}
	}
}
