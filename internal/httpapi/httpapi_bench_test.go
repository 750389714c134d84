package httpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/metrics"
	"github.com/cdnpurge/cdnpurge/internal/metrics/prommetrics"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/service"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The handler hot path, end to end with no network: a signed slash command
// through Handler.ServeHTTP, the command flow, the CloudFront backend and the
// reply's JSON.
//
//	go test -run '^$' -bench Handler -benchmem ./internal/httpapi
//
// Sub-benchmarks:
//   - sdk+emulator: the real backend (aws-sdk-go-v2: middleware, SigV4, XML)
//     against the emulator served in-process by an http.RoundTripper;
//   - own-code: a fixed purge.Invalidator instead, isolating cdnpurge's own
//     code (routing, body, signature, form, command, reply, log record);
//   - own-code+json-log: the same, logging as `serve` and the Lambda do (one
//     JSON record per request, to io.Discard);
//   - own-code+metrics: own-code with serve's metrics (the Prometheus
//     sink): the purge counted, the reply's latency observed;
//   - own-code+emf: the same with the Lambda's (the EMF sink, never
//     written out here, so it keeps every latency).
//
// Every request has a trigger_id of its own, so that each is a new purge:
// the emulator creates an invalidation each time, and the handler announces
// and follows it. Signing the next request is left out of the time.
func BenchmarkHandler(b *testing.B) {
	jsonLog := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, bc := range []struct {
		name string
		inv  purge.Invalidator
		log  *slog.Logger
		sink func() metrics.Sink
	}{
		// Invalidations complete at once, so that as many purges as the
		// benchmark makes never meet CloudFront's in-progress limits.
		{"sdk+emulator", testutil.NewInProcessInvalidator(0), nil, nil},
		{"own-code", fixedInvalidator{}, nil, nil},
		{"own-code+json-log", fixedInvalidator{}, jsonLog, nil},
		{"sdk+emulator+json-log", testutil.NewInProcessInvalidator(0), jsonLog, nil},
		{"own-code+metrics", fixedInvalidator{}, nil, func() metrics.Sink { return prommetrics.New(prometheus.NewRegistry()) }},
		{"own-code+emf", fixedInvalidator{}, nil, func() metrics.Sink { return metrics.NewEMF(nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := service.Options{
				DistributionID: testDist,
				SealSecret:     testSecret,
				Channels:       slack.Channels{"deploys", "C0OTHER001"},
				Invalidator:    bc.inv,
				Logger:         bc.log,
				// The follow-up is scheduled (the response_url checked) and
				// dropped: serve's pool would poll the emulator over the
				// network.
				Followups: nopScheduler{},
			}
			h := MustHandler(b, opts)
			if bc.sink != nil {
				m := metrics.New(bc.sink())
				opts.Metrics = m
				h = New(Options{Service: service.New(opts), SigningSecret: opts.SealSecret, Metrics: m})
			}
			benchHandler(b, h, mustForm(b, map[string]string{
				"text":         "/blog/* /index.html <https://www.example.com/news/post?id=1&amp;ref=x|www.example.com/news/post> /css/site.css /blog/2026/05/post.html",
				"response_url": "https://hooks.slack.com/commands/1234/5678/RESPONSEURLTOKEN",
				"trigger_id":   "13345224609.738474920." + triggerPlaceholder,
			}).Encode())
		})
	}
}

// benchHandler serves b.N signed requests, each a new purge: body holds
// triggerPlaceholder, which each iteration overwrites in place with its own
// number and signs again, as Slack signs each delivery (one HMAC over the
// body, about a microsecond, counted). The request and a minimal
// ResponseWriter are reused, so that what is measured is the handler, not
// the test's own allocations.
func benchHandler(b *testing.B, h http.Handler, body string) {
	raw := []byte(body)
	at := bytes.Index(raw, []byte(triggerPlaceholder))
	if at < 0 {
		b.Fatal("the body has no trigger placeholder")
	}
	req := signedRequest(b, "/slack/commands", testSecret, body, 0)
	ts := req.Header.Get("X-Slack-Request-Timestamp")
	rd := bytes.NewReader(raw)
	w := &benchWriter{header: http.Header{}}
	check := func() {
		if w.status != http.StatusOK || !bytes.Contains(w.body.Bytes(), []byte(`"in_channel"`)) {
			b.Fatalf("status %d, reply %s", w.status, w.body.Bytes())
		}
	}
	n := 0
	serve := func() {
		n++
		strconv.AppendInt(raw[at:at], int64(n), 10) // fits: the placeholder is 12 digits wide
		req.Header.Set("X-Slack-Signature", slack.Signature(testSecret, ts, string(raw)))
		rd.Reset(raw)
		req.Body = io.NopCloser(rd)
		clear(w.header)
		w.status = 0
		w.body.Reset()
		h.ServeHTTP(w, req)
	}
	serve()
	check()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
	check()
}

// triggerPlaceholder stands for the trigger_id's number in a benchmark's
// body: as wide as any number benchHandler writes over it.
const triggerPlaceholder = "000000000000"

type benchWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.header }
func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// fixedInvalidator answers every CreateInvalidation with the same
// invalidation, at no cost: it isolates the handler's own code.
type fixedInvalidator struct{ purge.Invalidator }

func (fixedInvalidator) CreateInvalidation(_ context.Context, batch purge.Batch) (*purge.Invalidation, error) {
	return &purge.Invalidation{
		ID: "I2J0I21PCUYOIK", DistributionID: batch.DistributionID, Status: purge.StatusInProgress,
		CreateTime: time.Unix(1767225600, 0), CallerReference: batch.CallerReference, Paths: batch.Paths, New: true,
	}, nil
}

type nopScheduler struct{}

func (nopScheduler) Schedule(context.Context, followup.Request) error { return nil }
