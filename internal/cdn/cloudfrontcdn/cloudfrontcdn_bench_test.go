package cloudfrontcdn_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// BenchmarkCreateInvalidation is one CreateInvalidation through the SDK
// (middleware stack, SigV4 signing, XML both ways, retryer) against the
// emulator served in-process, with no socket. The caller reference repeats,
// so that the emulator answers the invalidation it already has, as CloudFront
// does, and its state stays the same size however long the benchmark runs.
//
//	go test -run '^$' -bench CreateInvalidation -benchmem ./internal/cdn/cloudfrontcdn
func BenchmarkCreateInvalidation(b *testing.B) {
	for _, bc := range []struct {
		name  string
		paths []string
	}{
		{"4paths", []string{"/blog/*", "/index.html", "/news/post?id=1&ref=x", "/css/site.css"}},
		{"100paths", manyPaths(100)},
	} {
		batch := purge.Batch{DistributionID: testutil.DistributionID, CallerReference: "cdnpurge-slack-U1-bench", Paths: bc.paths}
		b.Run(bc.name, func(b *testing.B) {
			benchCreate(b, testutil.NewInProcessInvalidator(time.Hour), batch)
		})
		// The SDK alone: the emulator's answer to this batch, recorded once
		// and replayed, so that what remains is the SDK's own work.
		b.Run(bc.name+"/sdk-only", func(b *testing.B) {
			_, client := testutil.NewInProcessEmulator(time.Hour)
			rec := &recorder{next: client.Transport}
			inv := cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: testutil.InProcessEndpoint, HTTPClient: &http.Client{Transport: rec}})
			if _, err := inv.CreateInvalidation(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			replay := cloudfrontcdn.New(testConfig(), cloudfrontcdn.Options{Endpoint: testutil.InProcessEndpoint, HTTPClient: &http.Client{Transport: rec.replay()}})
			benchCreate(b, replay, batch)
		})
	}
}

func benchCreate(b *testing.B, inv *cloudfrontcdn.Invalidator, batch purge.Batch) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inv.CreateInvalidation(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// recorder keeps the last response it passed on.
type recorder struct {
	next   http.RoundTripper
	status int
	header http.Header
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	resp.Body = io.NopCloser(bytes.NewReader(r.body))
	return resp, err
}

// replay answers every request with the recorded response.
func (r *recorder) replay() http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			io.Copy(io.Discard, req.Body)
			req.Body.Close()
		}
		return &http.Response{
			Status: http.StatusText(r.status), StatusCode: r.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: r.header.Clone(), Body: io.NopCloser(bytes.NewReader(r.body)), ContentLength: int64(len(r.body)), Request: req,
		}, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func manyPaths(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "/docs/v2/page-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".html"
	}
	return out
}
