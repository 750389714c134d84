// Package prommetrics is the Prometheus sink of cdnpurge's metrics: what
// `serve` counts, as counters, histograms and a gauge on a registry that
// /metrics serves. It is its own package so that only `serve` links the
// Prometheus client; the Lambda writes CloudWatch EMF (metrics.EMF)
// instead.
//
// A Sink is made with the Registerer it registers on, never the global
// default registry: each app and each test has its own.
package prommetrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cdnpurge/cdnpurge/internal/metrics"
)

// Sink holds cdnpurge's metrics on a Prometheus registry; it is a
// metrics.Sink. It is safe for concurrent use.
type Sink struct {
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

var _ metrics.Sink = (*Sink)(nil)

// New registers cdnpurge's metrics on reg and returns them. It panics if
// reg already has them (a programming error, as with prometheus.MustRegister).
func New(reg prometheus.Registerer) *Sink {
	s := &Sink{
		reg: reg,
		purges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metrics.NamePurges, Help: "Purges made, by provider, target and outcome (ok, repeat, partial, retrying, failed).",
		}, []string{metrics.LabelProvider, metrics.LabelTarget, metrics.LabelOutcome}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metrics.NameRefusals, Help: "Requests refused by a target's rules, by the rule that refused.",
		}, []string{metrics.LabelRule}),
		reply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metrics.NameReplyDuration, Help: "Time from a Slack request read to its reply written, by transport (http, lambda, socket_mode).",
			Buckets: metrics.ReplyBuckets,
		}, []string{metrics.LabelTransport}),
		cdnRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metrics.NameCDNRequests, Help: "HTTP requests to the CDNs' APIs, each attempt once, by provider, operation and result (ok or the error class).",
		}, []string{metrics.LabelProvider, metrics.LabelOperation, metrics.LabelResult}),
		cdnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metrics.NameCDNRequestDuration, Help: "Latency of the HTTP requests to the CDNs' APIs, by provider and operation.",
			Buckets: metrics.CDNBuckets,
		}, []string{metrics.LabelProvider, metrics.LabelOperation}),
		slackFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metrics.NameSlackDeliveryFailures, Help: "Slack messages lost after their retries, by destination (webhook, response_url).",
		}, []string{metrics.LabelDestination}),
	}
	reg.MustRegister(s.purges, s.refusals, s.reply, s.cdnRequests, s.cdnDuration, s.slackFailures)
	s.purgeBy = map[[3]string]prometheus.Counter{}
	s.replyBy = map[string]prometheus.Observer{}
	for _, t := range []string{metrics.TransportHTTP, metrics.TransportLambda, metrics.TransportSocketMode} {
		s.replyBy[t] = s.reply.WithLabelValues(t)
	}
	return s
}

// NewRegistry returns a registry with the Go runtime's and the process's
// collectors, for an app's metrics and its /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Purge counts a purge on target, through provider, with its outcome.
func (s *Sink) Purge(provider, target, outcome string) {
	key := [3]string{provider, target, outcome}
	s.purgeMu.RLock()
	c, ok := s.purgeBy[key]
	s.purgeMu.RUnlock()
	if !ok {
		c = s.purges.WithLabelValues(provider, target, outcome)
		s.purgeMu.Lock()
		s.purgeBy[key] = c
		s.purgeMu.Unlock()
	}
	c.Inc()
}

// Refused counts a request refused by rule.
func (s *Sink) Refused(rule string) {
	s.refusals.WithLabelValues(rule).Inc()
}

// Reply observes the time d a reply took over transport.
func (s *Sink) Reply(transport string, d time.Duration) {
	o, ok := s.replyBy[transport]
	if !ok {
		o = s.reply.WithLabelValues(transport)
	}
	o.Observe(d.Seconds())
}

// CDNCall counts one HTTP request to a CDN's API and observes its latency.
func (s *Sink) CDNCall(provider, operation, result string, d time.Duration) {
	s.cdnRequests.WithLabelValues(provider, operation, result).Inc()
	s.cdnDuration.WithLabelValues(provider, operation).Observe(d.Seconds())
}

// FollowupsInFlight registers the gauge of follow-ups in flight, read from
// running (followup.Pool.Len) at each scrape. Call it once.
func (s *Sink) FollowupsInFlight(running func() int) {
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: metrics.NameFollowupsInFlight, Help: "Follow-ups of invalidations running in this process.",
	}, func() float64 { return float64(running()) }))
}

// SlackDeliveryFailed counts a Slack message lost after its retries, sent
// to destination.
func (s *Sink) SlackDeliveryFailed(destination string) {
	s.slackFailures.WithLabelValues(destination).Inc()
}
