package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// InProcessEndpoint is the base URL the in-process backends are aimed at. No
// socket is ever opened for it: InProcessTransport answers every request.
const InProcessEndpoint = "http://cloudfront.in-process.invalid"

// InProcessTransport is an http.RoundTripper that serves every request with
// Handler in the calling goroutine, with no socket, so that a benchmark of
// the SDK and the emulator measures code rather than the loopback stack.
type InProcessTransport struct {
	Handler http.Handler
}

// RoundTrip serves req with t.Handler and returns what it wrote.
func (t InProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A server sees a server request: RequestURI set, the body closed after
	// the handler returns, as net/http's transport would close it.
	sreq := req.Clone(req.Context())
	sreq.RequestURI = req.URL.RequestURI()
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, sreq)
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	return resp, nil
}

// NewInProcessEmulator returns an emulator knowing DistributionID and an
// HTTP client that reaches it in-process at InProcessEndpoint.
func NewInProcessEmulator(completeAfter time.Duration) (*emulator.Emulator, *http.Client) {
	emu := emulator.New(emulator.Options{Distributions: []string{DistributionID}, CompleteAfter: completeAfter})
	return emu, &http.Client{Transport: InProcessTransport{Handler: emu}}
}

// NewInProcessInvalidator returns the real CloudFront backend (the SDK, its
// signing, retries and XML) talking to a fresh emulator in-process, with
// static placeholder credentials.
func NewInProcessInvalidator(completeAfter time.Duration) *cloudfrontcdn.Invalidator {
	_, client := NewInProcessEmulator(completeAfter)
	return cloudfrontcdn.New(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", AWSSecretKey, ""),
	}, cloudfrontcdn.Options{Endpoint: InProcessEndpoint, HTTPClient: client})
}
