package metrics

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// recorder is a Sink that remembers each call as a line.
type recorder struct {
	mu      sync.Mutex
	calls   map[string]int
	running func() int
}

func newRecorder() *recorder { return &recorder{calls: map[string]int{}} }

func (r *recorder) add(call string) {
	r.mu.Lock()
	r.calls[call]++
	r.mu.Unlock()
}

func (r *recorder) Purge(provider, target, outcome string) {
	r.add("purge " + provider + " " + target + " " + outcome)
}
func (r *recorder) Refused(rule string) { r.add("refused " + rule) }
func (r *recorder) Reply(transport string, d time.Duration) {
	r.add("reply " + transport)
}
func (r *recorder) CDNCall(provider, operation, result string, d time.Duration) {
	r.add("cdn " + provider + " " + operation + " " + result)
}
func (r *recorder) SlackDeliveryFailed(destination string) { r.add("slack " + destination) }

// gaugeRecorder is a recorder that also takes the follow-ups' gauge.
type gaugeRecorder struct{ *recorder }

func (g gaugeRecorder) FollowupsInFlight(running func() int) { g.running = running }

// snapshot returns the calls so far.
func (r *recorder) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Purge("cloudfront", "www", OutcomeOK)
	m.Refused("channels")
	m.Reply(TransportHTTP, time.Millisecond)
	m.CDNCall("fastly", "purge", ResultOK, time.Millisecond)
	m.SlackDeliveryFailed(DestinationWebhook)
	m.FollowupsInFlight(func() int { return 1 })
	if rt := m.Transport(nil, "fastly", func(*http.Request) string { return "purge" }); rt != http.DefaultTransport {
		t.Errorf("a nil Metrics' Transport is %T, want http.DefaultTransport", rt)
	}
	if err := m.AWSAPIOption("cloudfront")(nil); err != nil {
		t.Errorf("a nil Metrics' AWS option: %v", err)
	}
	// No sink at all counts nothing either.
	New().Purge("cloudfront", "www", OutcomeOK)
	New(nil).Reply(TransportHTTP, time.Millisecond)
}

// TestForwards: every call reaches every sink, and the follow-ups' gauge
// only the sinks that have one.
func TestForwards(t *testing.T) {
	plain, gauge := newRecorder(), gaugeRecorder{newRecorder()}
	m := New(plain, nil, gauge)
	m.Purge("cloudfront", "www", OutcomeOK)
	m.Purge("cloudfront", "www", OutcomeOK)
	m.Refused("channels")
	m.Reply(TransportLambda, time.Millisecond)
	m.CDNCall("varnish", "ban", ResultUnreachable, time.Millisecond)
	m.SlackDeliveryFailed(DestinationResponseURL)
	m.FollowupsInFlight(func() int { return 3 })
	want := map[string]int{
		"purge cloudfront www ok": 2, "refused channels": 1, "reply lambda": 1,
		"cdn varnish ban unreachable": 1, "slack response_url": 1,
	}
	for name, r := range map[string]*recorder{"plain": plain, "gauge": gauge.recorder} {
		if got := r.snapshot(); !maps.Equal(got, want) {
			t.Errorf("%s sink: %v, want %v", name, got, want)
		}
	}
	if gauge.running == nil || gauge.running() != 3 {
		t.Error("the gauge sink did not get the follow-ups' count")
	}
}

// TestSinksAllocateNothing: once a series is known, forwarding a count to
// the EMF sink allocates nothing (the hot path of a reply).
func TestSinksAllocateNothing(t *testing.T) {
	m := New(NewEMF(nil))
	m.Purge("cloudfront", "www", OutcomeOK)
	if n := testing.AllocsPerRun(100, func() { m.Purge("cloudfront", "www", OutcomeOK) }); n != 0 {
		t.Errorf("Purge allocates %v times, want 0", n)
	}
}

func TestTransportResults(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{http.StatusOK, ResultOK},
		{http.StatusNoContent, ResultOK},
		{http.StatusTooManyRequests, ResultRateLimited},
		{http.StatusUnauthorized, ResultDenied},
		{http.StatusForbidden, ResultDenied},
		{http.StatusBadRequest, ResultInvalid},
		{http.StatusNotFound, ResultInvalid},
		{http.StatusServiceUnavailable, ResultUnavailable},
		{http.StatusBadGateway, ResultUnavailable},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
			defer srv.Close()
			r := newRecorder()
			m := New(r)
			c := &http.Client{Transport: m.Transport(nil, "fastly", func(*http.Request) string { return "purge" })}
			resp, err := c.Post(srv.URL+"/service/x/purge", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := r.snapshot(), map[string]int{"cdn fastly purge " + tt.want: 1}; !maps.Equal(got, want) {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
	t.Run("refused connection", func(t *testing.T) {
		r := newRecorder()
		c := &http.Client{Transport: New(r).Transport(nil, "varnish", func(*http.Request) string { return "purge" })}
		if _, err := c.Post("http://"+testutil.MustRefusingAddr(t)+"/", "", nil); err == nil {
			t.Fatal("a refused connection succeeded")
		}
		if got, want := r.snapshot(), map[string]int{"cdn varnish purge unreachable": 1}; !maps.Equal(got, want) {
			t.Errorf("%v, want %v", got, want)
		}
	})
}

func TestAWSResult(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"ok", nil, 201, ResultOK},
		{"throttling", &smithy.GenericAPIError{Code: "Throttling"}, 400, ResultRateLimited},
		{"too many invalidations", &cftypes.TooManyInvalidationsInProgress{}, 400, ResultRateLimited},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, 403, ResultDenied},
		{"no such distribution", &cftypes.NoSuchDistribution{}, 404, ResultInvalid},
		{"server error", &smithy.GenericAPIError{Code: "ServiceUnavailable"}, 503, ResultUnavailable},
		{"deadline", context.DeadlineExceeded, 0, ResultUnavailable},
		{"unknown", errors.New("boom"), 0, ResultError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := awsResult(tt.err, tt.status); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// TestAWSAPIOption counts each attempt of a CloudFront call against the
// emulator: a call the SDK retries (503, then served) is two.
func TestAWSAPIOption(t *testing.T) {
	emu := emulator.New(emulator.Options{
		Distributions: []string{testutil.DistributionID},
		Faults: emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{emulator.OpGetInvalidation: {Unavailable: 1}},
		},
	})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	r := newRecorder()
	m := New(r)
	cfg := testutil.AWSConfig()
	cfg.APIOptions = append(cfg.APIOptions, m.AWSAPIOption("cloudfront"))
	client := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) {
		o.BaseEndpoint = &srv.URL
		o.RetryMaxAttempts = 2
	})
	ctx := t.Context()
	if _, err := client.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testutil.DistributionID)}); err != nil {
		t.Fatal(err)
	}
	id := "INOPE"
	if _, err := client.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(testutil.DistributionID), Id: &id}); err == nil {
		t.Fatal("GetInvalidation succeeded through a 503")
	}
	want := map[string]int{"cdn cloudfront ListInvalidations ok": 1, "cdn cloudfront GetInvalidation unavailable": 2}
	if got := r.snapshot(); !maps.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if got, want := emu.Calls(emulator.OpGetInvalidation), 2; got != want {
		t.Errorf("the emulator saw %d GetInvalidation calls, want %d", got, want)
	}
}
