package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// EMF limits, from CloudWatch's embedded metric format specification.
const (
	emfMaxValues     = 100 // values of one metric in one document
	emfMaxDimensions = 30  // dimension keys in one dimension set
)

// EMF writes what moved in a registry between two calls of Write as
// CloudWatch Embedded Metric Format: a JSON line that CloudWatch Logs
// turns into metrics in the namespace cdnpurge, with no agent and no IAM
// permission beyond writing logs. The registry stays the one source of the
// figures: the Lambda writes what `serve` would show on /metrics, as the
// increments of its counters and the observations of its histograms since
// the previous invocation.
//
// It is a hand-written encoder because the Prometheus client has none for
// EMF, and AWS's Go library for it (aws-embedded-metrics-go) is not a
// dependency worth its own metric API for one log line.
type EMF struct {
	g   prometheus.Gatherer
	now func() time.Time

	mu   sync.Mutex
	prev map[string]seen // by series key, what the previous Write saw
}

// seen is a series' state at a Write.
type seen struct {
	value   float64  // counter or gauge
	count   uint64   // histogram
	sum     float64  // histogram
	buckets []uint64 // histogram, cumulative, as Prometheus gives them
}

// NewEMF returns an EMF of what g gathers. now is the clock (nil:
// time.Now), for the documents' Timestamp.
func NewEMF(g prometheus.Gatherer, now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	return &EMF{g: g, now: now, prev: map[string]seen{}}
}

// moved is one series that moved: a metric name, its labels, and its value
// in the document (a number or an array of numbers).
type moved struct {
	name   string
	unit   string
	labels [][2]string // sorted by name
	value  any
}

// Write writes to w the EMF document of what moved since the previous
// Write (since NewEMF for the first): one JSON line, or none when nothing
// moved. Two series of one metric that moved with different label values
// cannot share a document (a document has one value per dimension and
// per metric name), so then it writes one more line for each; a Lambda
// invocation moves one purge and one reply, and writes one line.
func (e *EMF) Write(w io.Writer) error {
	families, err := e.g.Gather()
	if err != nil {
		return fmt.Errorf("emf: gather: %w", err)
	}
	e.mu.Lock()
	moves := e.diff(families)
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

// diff returns what moved in families since e.prev, and remembers them.
func (e *EMF) diff(families []*dto.MetricFamily) []moved {
	var out []moved
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, Namespace+"_") {
			continue // the Go and process collectors: the Lambda's own metrics show those
		}
		for _, m := range f.GetMetric() {
			labels := make([][2]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, [2]string{l.GetName(), l.GetValue()})
			}
			slices.SortFunc(labels, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			key := seriesKey(name, labels)
			before := e.prev[key]
			mv := moved{name: name, labels: labels, unit: "Count"}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				now := seen{value: m.GetCounter().GetValue()}
				e.prev[key] = now
				if d := now.value - before.value; d > 0 {
					mv.value = d
					out = append(out, mv)
				}
			case dto.MetricType_GAUGE:
				now := seen{value: m.GetGauge().GetValue()}
				_, had := e.prev[key]
				e.prev[key] = now
				if !had || now.value != before.value {
					mv.value = now.value
					out = append(out, mv)
				}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				now := seen{count: h.GetSampleCount(), sum: h.GetSampleSum()}
				var bounds []float64
				for _, b := range h.GetBucket() {
					now.buckets = append(now.buckets, b.GetCumulativeCount())
					bounds = append(bounds, b.GetUpperBound())
				}
				e.prev[key] = now
				if now.count > before.count {
					mv.unit = "Seconds"
					mv.value = observations(before, now, bounds)
					out = append(out, mv)
				}
			}
		}
	}
	return out
}

// observations turns what a histogram gained between before and now into
// values for EMF: the observation itself when there was one (its sum), or
// else each bucket's upper bound once per observation it gained (the
// largest finite bound for those above it), at most emfMaxValues.
func observations(before, now seen, bounds []float64) []float64 {
	if now.count-before.count == 1 {
		return []float64{now.sum - before.sum}
	}
	var out []float64
	var prevCum, prevBefore uint64
	for i, bound := range bounds {
		b := uint64(0)
		if i < len(before.buckets) {
			b = before.buckets[i]
		}
		gained := (now.buckets[i] - prevCum) - (b - prevBefore)
		prevCum, prevBefore = now.buckets[i], b
		for ; gained > 0 && len(out) < emfMaxValues; gained-- {
			out = append(out, bound)
		}
	}
	// Above the last bucket: Prometheus's implicit +Inf bucket.
	last := 0.0
	if len(bounds) > 0 {
		last = bounds[len(bounds)-1]
	}
	above := (now.count - prevCum) - (before.count - prevBefore)
	for ; above > 0 && len(out) < emfMaxValues && !math.IsInf(last, 0); above-- {
		out = append(out, last)
	}
	return out
}

func seriesKey(name string, labels [][2]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range labels {
		b.WriteString("\xff" + l[0] + "=" + l[1])
	}
	return b.String()
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
