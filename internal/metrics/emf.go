package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// EMF limits, from CloudWatch's embedded metric format specification.
const (
	emfMaxValues     = 100 // values of one metric in one document
	emfMaxDimensions = 30  // dimension keys in one dimension set
)

// EMF is the Sink of the Lambda: it keeps what is counted between two
// calls of Write and writes it as CloudWatch Embedded Metric Format, JSON
// lines that CloudWatch Logs turns into metrics in the namespace cdnpurge,
// with no agent and no IAM permission beyond writing logs. It has the
// names and labels of the Prometheus sink `serve` shows on /metrics: the
// counters as their increments since the previous Write, the latencies as
// the values observed (Unit Seconds), each one exact, not a bucket.
//
// It has no gauge of the follow-ups in flight: that is serve's pool; on
// Lambda each follow-up is an invocation of its own.
//
// It is a hand-written encoder because AWS's Go library for EMF
// (aws-embedded-metrics-go) is not a dependency worth its own metric API
// for one log line per invocation.
type EMF struct {
	now func() time.Time

	mu     sync.Mutex
	counts map[series]float64   // counter increments since the last Write
	values map[series][]float64 // latencies observed since the last Write
}

// series is one metric's label set: the labels sorted by name, n of them.
// It is a comparable array, not a slice, so that counting an increment
// allocates nothing once the series is known.
type series struct {
	name   string
	n      int
	labels [3][2]string
}

func labels1(name, k, v string) series { return series{name: name, n: 1, labels: [3][2]string{{k, v}}} }

// NewEMF returns an empty EMF. now is the clock (nil: time.Now), for the
// documents' Timestamp.
func NewEMF(now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	return &EMF{now: now, counts: map[series]float64{}, values: map[series][]float64{}}
}

func (e *EMF) count(s series) {
	e.mu.Lock()
	e.counts[s]++
	e.mu.Unlock()
}

func (e *EMF) observe(s series, d time.Duration) {
	e.mu.Lock()
	e.values[s] = append(e.values[s], d.Seconds())
	e.mu.Unlock()
}

// Purge counts a purge.
func (e *EMF) Purge(provider, target, outcome string) {
	e.count(series{name: NamePurges, n: 3, labels: [3][2]string{{LabelOutcome, outcome}, {LabelProvider, provider}, {LabelTarget, target}}})
}

// Refused counts a refusal.
func (e *EMF) Refused(rule string) { e.count(labels1(NameRefusals, LabelRule, rule)) }

// Reply keeps a reply's latency.
func (e *EMF) Reply(transport string, d time.Duration) {
	e.observe(labels1(NameReplyDuration, LabelTransport, transport), d)
}

// CDNCall counts a call to a CDN's API and keeps its latency.
func (e *EMF) CDNCall(provider, operation, result string, d time.Duration) {
	e.count(series{name: NameCDNRequests, n: 3, labels: [3][2]string{{LabelOperation, operation}, {LabelProvider, provider}, {LabelResult, result}}})
	e.observe(series{name: NameCDNRequestDuration, n: 2, labels: [3][2]string{{LabelOperation, operation}, {LabelProvider, provider}}}, d)
}

// SlackDeliveryFailed counts a Slack message lost.
func (e *EMF) SlackDeliveryFailed(destination string) {
	e.count(labels1(NameSlackDeliveryFailures, LabelDestination, destination))
}

// moved is one series that moved: a metric name, its labels, and its value
// in the document (a number or an array of numbers).
type moved struct {
	name   string
	unit   string
	labels [][2]string // sorted by name
	value  any
}

// Write writes to w the EMF documents of what was counted since the
// previous Write (since NewEMF for the first), and forgets it: one JSON
// line, or none when nothing moved. Two series of one metric with
// different label values cannot share a document (a document has one
// value per dimension and per metric name), nor can more than 100 values
// of one metric, so then it writes one more line for each; a Lambda
// invocation moves one purge and one reply, and writes one line.
func (e *EMF) Write(w io.Writer) error {
	e.mu.Lock()
	moves := e.take()
	e.mu.Unlock()
	ts := e.now().UnixMilli()
	for _, doc := range pack(moves) {
		b, err := json.Marshal(doc.document(ts))
		if err != nil {
			return fmt.Errorf("emf: %w", err)
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("emf: write: %w", err)
		}
	}
	return nil
}

// take returns what was counted, in the order Prometheus gathers it (by
// metric name, then by label values), and empties e.
func (e *EMF) take() []moved {
	var out []moved
	for s, v := range e.counts {
		out = append(out, moved{name: s.name, unit: "Count", labels: s.labels[:s.n:s.n], value: v})
	}
	for s, vs := range e.values {
		// At most emfMaxValues in one document: more spill over into
		// further moves of the same metric, which pack puts apart.
		for chunk := range slices.Chunk(vs, emfMaxValues) {
			out = append(out, moved{name: s.name, unit: "Seconds", labels: s.labels[:s.n:s.n], value: chunk})
		}
	}
	clear(e.counts)
	clear(e.values)
	slices.SortStableFunc(out, func(a, b moved) int {
		return cmp.Or(strings.Compare(a.name, b.name), slices.CompareFunc(a.labels, b.labels, func(x, y [2]string) int {
			return strings.Compare(x[1], y[1])
		}))
	})
	return out
}

// emfDoc is one EMF document being filled: its dimensions' values and its
// metrics.
type emfDoc struct {
	dims  map[string]string
	moves []moved
}

// fits reports whether mv can join d: no metric of its name yet, and no
// dimension of its with another value.
func (d *emfDoc) fits(mv moved) bool {
	for _, m := range d.moves {
		if m.name == mv.name {
			return false
		}
	}
	for _, l := range mv.labels {
		if v, ok := d.dims[l[0]]; ok && v != l[1] {
			return false
		}
	}
	return len(mv.labels) <= emfMaxDimensions
}

// pack puts the moves into as few documents as fit them, in order.
func pack(moves []moved) []*emfDoc {
	var docs []*emfDoc
	for _, mv := range moves {
		i := slices.IndexFunc(docs, func(d *emfDoc) bool { return d.fits(mv) })
		if i < 0 {
			docs = append(docs, &emfDoc{dims: map[string]string{}})
			i = len(docs) - 1
		}
		d := docs[i]
		for _, l := range mv.labels {
			d.dims[l[0]] = l[1]
		}
		d.moves = append(d.moves, mv)
	}
	return docs
}

// EMF's document structure (the field names are the specification's).
type (
	emfMetadata struct {
		Timestamp         int64
		CloudWatchMetrics []emfDirective
	}
	emfDirective struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []emfMetric
	}
	emfMetric struct {
		Name string
		Unit string
	}
)

// document is d as EMF's root object at ts (Unix milliseconds): the
// dimensions and the values as its members, and a metric directive for each
// set of dimension keys among its metrics.
func (d *emfDoc) document(ts int64) map[string]any {
	root := make(map[string]any, len(d.dims)+len(d.moves)+1)
	for k, v := range d.dims {
		root[k] = v
	}
	meta := emfMetadata{Timestamp: ts}
	bySet := map[string]int{}
	for _, mv := range d.moves {
		root[mv.name] = mv.value
		keys := make([]string, len(mv.labels))
		for i, l := range mv.labels {
			keys[i] = l[0]
		}
		set := strings.Join(keys, ",")
		i, ok := bySet[set]
		if !ok {
			i = len(meta.CloudWatchMetrics)
			bySet[set] = i
			meta.CloudWatchMetrics = append(meta.CloudWatchMetrics, emfDirective{Namespace: Namespace, Dimensions: [][]string{keys}})
		}
		meta.CloudWatchMetrics[i].Metrics = append(meta.CloudWatchMetrics[i].Metrics, emfMetric{Name: mv.name, Unit: mv.unit})
	}
	root["_aws"] = meta
	return root
}
