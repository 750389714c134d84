// Package metrics is what cdnpurge counts: purges by provider, target and
// outcome, refusals by rule, the latency of each reply, the calls to the
// CDNs' APIs with their latency, the follow-ups in flight and the Slack
// deliveries lost.
//
// A Metrics forwards each fact to its sinks: in `serve` the Prometheus
// sink (package prommetrics, behind /metrics), on Lambda the EMF sink of
// this package, which writes CloudWatch Embedded Metric Format log lines.
// The same calls feed both, so the names, labels and values are the same.
// This package imports no Prometheus package, so that the Lambda build,
// which has no use for one, does not link it (the deployment zip stays
// under 5 MB).
//
// A Metrics' methods are what the domain calls at the place each fact is
// decided; every one of them is a no-op on a nil *Metrics, so that code and
// tests that pass none keep working. The packages that count see only small
// interfaces of their own (service.Metrics, httpapi's, slack's), which a
// *Metrics satisfies.
//
// Labels are bounded: provider and target names from the targets file,
// operation names and result classes from a fixed set, never a path, a
// user, a channel or an ID.
package metrics

import "time"

// Namespace prefixes every metric name, and is the CloudWatch namespace of
// the EMF lines.
const Namespace = "cdnpurge"

// The metric names, as Prometheus shows them.
const (
	NamePurges                = "cdnpurge_purges_total"
	NameRefusals              = "cdnpurge_refusals_total"
	NameReplyDuration         = "cdnpurge_reply_duration_seconds"
	NameCDNRequests           = "cdnpurge_cdn_requests_total"
	NameCDNRequestDuration    = "cdnpurge_cdn_request_duration_seconds"
	NameFollowupsInFlight     = "cdnpurge_followups_in_flight"
	NameSlackDeliveryFailures = "cdnpurge_slack_delivery_failures_total"
)

// The label names, which are the EMF lines' dimension names too.
const (
	LabelProvider    = "provider"
	LabelTarget      = "target"
	LabelOutcome     = "outcome"
	LabelRule        = "rule"
	LabelTransport   = "transport"
	LabelOperation   = "operation"
	LabelResult      = "result"
	LabelDestination = "destination"
)

// The transports of a reply (the transport label).
const (
	TransportHTTP       = "http"
	TransportLambda     = "lambda"
	TransportSocketMode = "socket_mode"
)

// The outcomes of a purge (the outcome label).
const (
	// OutcomeOK is a purge the provider took.
	OutcomeOK = "ok"
	// OutcomeRepeat is a purge an earlier delivery made; nothing new was
	// purged.
	OutcomeRepeat = "repeat"
	// OutcomePartial is a purge the provider made in part.
	OutcomePartial = "partial"
	// OutcomeRetrying is a purge the provider did not take in time, which
	// a follow-up keeps trying.
	OutcomeRetrying = "retrying"
	// OutcomeFailed is a purge that purged nothing.
	OutcomeFailed = "failed"
)

// The destinations of a Slack delivery (the destination label).
const (
	DestinationWebhook     = "webhook"
	DestinationResponseURL = "response_url"
)

// Buckets of the histograms, in seconds.
var (
	// ReplyBuckets spread around Slack's 3-second deadline.
	ReplyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5}
	// CDNBuckets reach the providers' 30-second client timeouts.
	CDNBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Sink is where a Metrics sends what is counted: each method is one fact,
// with its label values. A Sink is safe for concurrent use.
type Sink interface {
	// Purge counts a purge on target, through provider, with its outcome.
	Purge(provider, target, outcome string)
	// Refused counts a request refused by rule.
	Refused(rule string)
	// Reply observes the time d a reply took over transport.
	Reply(transport string, d time.Duration)
	// CDNCall counts one HTTP request to a CDN's API, with its result,
	// and observes its latency d.
	CDNCall(provider, operation, result string, d time.Duration)
	// SlackDeliveryFailed counts a Slack message lost after its retries.
	SlackDeliveryFailed(destination string)
}

// followupsGauge is the Sink that can show the follow-ups in flight.
type followupsGauge interface {
	FollowupsInFlight(running func() int)
}

// Metrics holds cdnpurge's sinks and forwards every fact to each of them.
// A nil *Metrics counts nothing. It is safe for concurrent use.
type Metrics struct {
	sinks []Sink
}

// New returns Metrics that forward to sinks (nil ones left out); with none
// it counts nothing.
func New(sinks ...Sink) *Metrics {
	m := &Metrics{}
	for _, s := range sinks {
		if s != nil {
			m.sinks = append(m.sinks, s)
		}
	}
	return m
}

// Purge counts a purge on target, through provider, with its outcome.
func (m *Metrics) Purge(provider, target, outcome string) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		s.Purge(provider, target, outcome)
	}
}

// Refused counts a request refused by rule (access.Rule…).
func (m *Metrics) Refused(rule string) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		s.Refused(rule)
	}
}

// Reply observes the time d a reply took over transport.
func (m *Metrics) Reply(transport string, d time.Duration) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		s.Reply(transport, d)
	}
}

// CDNCall counts one HTTP request to a CDN's API and observes its latency.
func (m *Metrics) CDNCall(provider, operation, result string, d time.Duration) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		s.CDNCall(provider, operation, result, d)
	}
}

// FollowupsInFlight hands running (followup.Pool.Len) to the sinks that
// show the follow-ups in flight as a gauge (the Prometheus one, read at
// each scrape). Call it once. The EMF sink has no such gauge: on Lambda
// each follow-up is an invocation of its own, not a pool.
func (m *Metrics) FollowupsInFlight(running func() int) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		if g, ok := s.(followupsGauge); ok {
			g.FollowupsInFlight(running)
		}
	}
}

// SlackDeliveryFailed counts a Slack message lost after its retries, sent
// to destination (DestinationWebhook, DestinationResponseURL).
func (m *Metrics) SlackDeliveryFailed(destination string) {
	if m == nil {
		return
	}
	for _, s := range m.sinks {
		s.SlackDeliveryFailed(destination)
	}
}
