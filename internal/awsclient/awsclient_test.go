package awsclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// bodyType records the request body each call sees.
type bodyType struct{ writerTo []bool }

func (b *bodyType) Do(req *http.Request) (*http.Response, error) {
	_, ok := req.Body.(io.WriterTo)
	b.writerTo = append(b.writerTo, ok)
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestPlainBodyClient(t *testing.T) {
	tests := []struct {
		name string
		body io.Reader
	}{
		// A *bytes.Reader behind NopCloser has WriteTo, as smithy-go's body has.
		{"body with WriteTo", io.NopCloser(bytes.NewReader([]byte("x")))},
		{"no body", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := &bodyType{}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := PlainBodyClient(seen).Do(req); err != nil {
				t.Fatal(err)
			}
			if len(seen.writerTo) != 1 || seen.writerTo[0] {
				t.Errorf("the wrapped client saw a body with WriteTo: %v", seen.writerTo)
			}
		})
	}
}

func TestPlainBodyClientDefault(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := PlainBodyClient(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "payload" {
		t.Errorf("echo = %q, want the body sent", b)
	}
}

func TestRetryer(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		maxBackoff  time.Duration
	}{
		{"three", 3, 250 * time.Millisecond},
		{"one", 1, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Retryer(tt.maxAttempts, tt.maxBackoff)
			if got := r.MaxAttempts(); got != tt.maxAttempts {
				t.Errorf("MaxAttempts() = %d, want %d", got, tt.maxAttempts)
			}
			for attempt := 1; attempt < 100; attempt++ {
				d, err := r.RetryDelay(attempt, errors.New("x"))
				if err != nil || d > tt.maxBackoff {
					t.Fatalf("RetryDelay(%d) = %s, %v; want at most %s", attempt, d, err, tt.maxBackoff)
				}
			}
			// No retry quota: a long burst of failures never runs out of
			// retry tokens.
			for i := range 1000 {
				if _, err := r.GetRetryToken(context.Background(), &aws.RequestCanceledError{}); err != nil {
					t.Fatalf("GetRetryToken after %d failures: %v", i, err)
				}
			}
		})
	}
}
