// Package testutil holds what the tests of several packages share: a
// CloudFront emulator behind the real backend (over loopback or in
// process), stand-ins for Slack (a response_url inbox, the Web API, Socket
// Mode), a clock set by hand, moto_server and aws-lambda-rie found or
// skipped, and a buffer that a server and a test may use at once. The measuring programs
// under scripts/ (coldstart, rss) import it too, for moto_server,
// aws-lambda-rie and loopback addresses; the cdnpurge binary does not.
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
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// DistributionID is the distribution every emulator started here knows:
// the example ID of the AWS documentation.
const DistributionID = "EDFDVBD6EXAMPLE"

// Fake AWS credentials the backends in tests sign with; tests check that
// none of them leaks into an error, a log line or a message.
const (
	AWSAccessKeyID  = "AKIAFAKEKEYID0123456"
	AWSSecretKey    = "AWSSECRETKEYNEVERSHOWN/abcdefghijklmnopqrstuvwxyz"
	AWSSessionToken = "FakeSessionTokenQWERTYUIOP0123456789"
)

// AWSConfig is an AWS configuration with the fake credentials, region
// us-east-1, and no look-ups of the environment or the metadata service.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(AWSAccessKeyID, AWSSecretKey, AWSSessionToken),
	}
}

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
	return cloudfrontcdn.New(AWSConfig(), cloudfrontcdn.Options{Endpoint: endpoint})
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

// MustEmulatorWithOutage starts the emulator on a loopback port, knowing
// distributionID, failing every CreateInvalidation with 503 until the
// outage ends, then healthy; invalidations complete completeAfter after they
// are created. It stops with the test.
func MustEmulatorWithOutage(tb testing.TB, distributionID string, completeAfter time.Duration, outageEnds time.Time) (*emulator.Emulator, string) {
	tb.Helper()
	emu := emulator.New(emulator.Options{
		Distributions: []string{distributionID},
		CompleteAfter: completeAfter,
		Faults: emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Unavailable: 1}},
			Until:       outageEnds,
		},
	})
	srv := httptest.NewServer(emu)
	tb.Cleanup(srv.Close)
	return emu, srv.URL
}

// MustItems parses raw as a command's items (purge.ParseItem), failing the
// test on the first that does not parse.
func MustItems(tb testing.TB, raw ...string) []purge.Item {
	tb.Helper()
	items := make([]purge.Item, len(raw))
	for i, r := range raw {
		it, err := purge.ParseItem(r)
		if err != nil {
			tb.Fatalf("ParseItem(%q): %v", r, err)
		}
		items[i] = it
	}
	return items
}
