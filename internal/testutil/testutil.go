// Package testutil holds helpers that tests in several packages share: a
// CloudFront emulator behind the real backend, and a buffer that a server
// and a test may use at once. Only tests import it.
package testutil

import (
	"bytes"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// DistributionID is the distribution every emulator started here knows:
// the example ID of the AWS documentation.
const DistributionID = "EDFDVBD6EXAMPLE"

// AWSSecretKey is the secret key the backends here sign with; tests check
// that it never leaks.
const AWSSecretKey = "AWSSECRETKEYNEVERSHOWN"

// MustEmulator starts the CloudFront emulator on a loopback port, knowing
// DistributionID, and returns its URL. It stops with the test.
func MustEmulator(tb testing.TB, completeAfter time.Duration) string {
	tb.Helper()
	srv := httptest.NewServer(emulator.New(emulator.Options{Distributions: []string{DistributionID}, CompleteAfter: completeAfter}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// NewInvalidator returns the real CloudFront backend aimed at endpoint, with
// static placeholder credentials.
func NewInvalidator(endpoint string) *cloudfrontcdn.Invalidator {
	return cloudfrontcdn.New(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", AWSSecretKey, ""),
	}, cloudfrontcdn.Options{Endpoint: endpoint})
}

// MustEmulatedInvalidator is MustEmulator with the backend aimed at it.
func MustEmulatedInvalidator(tb testing.TB, completeAfter time.Duration) *cloudfrontcdn.Invalidator {
	tb.Helper()
	return NewInvalidator(MustEmulator(tb, completeAfter))
}

// LockedBuffer is a bytes.Buffer safe for one writer (a logger, a child
// process) and one reader (the test) at once.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
