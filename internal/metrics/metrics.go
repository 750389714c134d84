// Package metrics is what cdnpurge counts, as Prometheus metrics: purges
// by provider, target and outcome, refusals by rule, the latency of each
// reply, the calls to the CDNs' APIs with their latency, the follow-ups in
// flight and the Slack deliveries lost.
//
// A Metrics is made with the Registerer it registers on, never the global
// default registry: each app and each test has its own. Its methods are
// what the domain calls at the place each fact is decided; every one of
// them is a no-op on a nil *Metrics, so that code and tests that pass none
// keep working. The packages that count see only small interfaces of their
// own (service.Metrics, httpapi's, slack's), which a *Metrics satisfies.
//
// Labels are bounded: provider and target names from the targets file,
// operation names and result classes from a fixed set, never a path, a
// user, a channel or an ID.
//
// On Lambda, EMF turns what moved in the registry during an invocation
// into one CloudWatch Embedded Metric Format log line.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

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

// Metrics holds cdnpurge's metrics. A nil *Metrics counts nothing. It is
// safe for concurrent use.
type Metrics struct {
	reg           prometheus.Registerer
	purges        *prometheus.CounterVec
	refusals      *prometheus.CounterVec
	reply         *prometheus.HistogramVec
	cdnRequests   *prometheus.CounterVec
	cdnDuration   *prometheus.HistogramVec
	slackFailures *prometheus.CounterVec
	// replyBy is reply's observer of each transport, made once: a reply is
	// on the hot path, and WithLabelValues allocates its variadic labels
	// each time.
	replyBy map[string]prometheus.Observer
	// purgeBy caches purges' counter of each label set, for the same
	// reason: a purge is on the hot path too.
	purgeMu sync.RWMutex
	purgeBy map[[3]string]prometheus.Counter
}

// New registers cdnpurge's metrics on reg and returns them. It panics if
// reg already has them (a programming error, as with prometheus.MustRegister).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		purges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePurges, Help: "Purges made, by provider, target and outcome (ok, repeat, partial, retrying, failed).",
		}, []string{"provider", "target", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameRefusals, Help: "Requests refused by a target's rules, by the rule that refused.",
		}, []string{"rule"}),
		reply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameReplyDuration, Help: "Time from a Slack request read to its reply written, by transport (http, lambda, socket_mode).",
			Buckets: ReplyBuckets,
		}, []string{"transport"}),
		cdnRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameCDNRequests, Help: "HTTP requests to the CDNs' APIs, each attempt once, by provider, operation and result (ok or the error class).",
		}, []string{"provider", "operation", "result"}),
		cdnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameCDNRequestDuration, Help: "Latency of the HTTP requests to the CDNs' APIs, by provider and operation.",
			Buckets: CDNBuckets,
		}, []string{"provider", "operation"}),
		slackFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameSlackDeliveryFailures, Help: "Slack messages lost after their retries, by destination (webhook, response_url).",
		}, []string{"destination"}),
	}
	reg.MustRegister(m.purges, m.refusals, m.reply, m.cdnRequests, m.cdnDuration, m.slackFailures)
	m.purgeBy = map[[3]string]prometheus.Counter{}
	m.replyBy = map[string]prometheus.Observer{}
	for _, t := range []string{TransportHTTP, TransportLambda, TransportSocketMode} {
		m.replyBy[t] = m.reply.WithLabelValues(t)
	}
	return m
}

// NewRegistry returns a registry with the Go runtime's and the process's
// collectors, for an app's metrics and its /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Purge counts a purge on target, through provider, with its outcome.
func (m *Metrics) Purge(provider, target, outcome string) {
	if m == nil {
		return
	}
	key := [3]string{provider, target, outcome}
	m.purgeMu.RLock()
	c, ok := m.purgeBy[key]
	m.purgeMu.RUnlock()
	if !ok {
		c = m.purges.WithLabelValues(provider, target, outcome)
		m.purgeMu.Lock()
		m.purgeBy[key] = c
		m.purgeMu.Unlock()
	}
	c.Inc()
}

// Refused counts a request refused by rule (access.Rule…).
func (m *Metrics) Refused(rule string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(rule).Inc()
}

// Reply observes the time d a reply took over transport.
func (m *Metrics) Reply(transport string, d time.Duration) {
	if m == nil {
		return
	}
	o, ok := m.replyBy[transport]
	if !ok {
		o = m.reply.WithLabelValues(transport)
	}
	o.Observe(d.Seconds())
}

// CDNCall counts one HTTP request to a CDN's API and observes its latency.
func (m *Metrics) CDNCall(provider, operation, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.cdnRequests.WithLabelValues(provider, operation, result).Inc()
	m.cdnDuration.WithLabelValues(provider, operation).Observe(d.Seconds())
}

// FollowupsInFlight registers the gauge of follow-ups in flight, read from
// running (followup.Pool.Len) at each scrape. Call it once.
func (m *Metrics) FollowupsInFlight(running func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: NameFollowupsInFlight, Help: "Follow-ups of invalidations running in this process.",
	}, func() float64 { return float64(running()) }))
}

// SlackDeliveryFailed counts a Slack message lost after its retries, sent
// to destination (DestinationWebhook, DestinationResponseURL).
func (m *Metrics) SlackDeliveryFailed(destination string) {
	if m == nil {
		return
	}
	m.slackFailures.WithLabelValues(destination).Inc()
}
