package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// MustNew returns Metrics on a registry of their own.
func MustNew(tb testing.TB) (*Metrics, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	return New(reg), reg
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
}

func TestCounts(t *testing.T) {
	m, reg := MustNew(t)
	m.Purge("cloudfront", "www", OutcomeOK)
	m.Purge("cloudfront", "www", OutcomeOK)
	m.Purge("fastly", "news", OutcomeFailed)
	m.Refused("channels")
	m.Reply(TransportHTTP, 20*time.Millisecond)
	m.Reply("other", time.Second)
	m.CDNCall("varnish", "ban", ResultUnreachable, time.Millisecond)
	m.SlackDeliveryFailed(DestinationResponseURL)
	running := 3
	m.FollowupsInFlight(func() int { return running })

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"purges ok", m.purges.WithLabelValues("cloudfront", "www", OutcomeOK), 2},
		{"purges failed", m.purges.WithLabelValues("fastly", "news", OutcomeFailed), 1},
		{"refusals", m.refusals.WithLabelValues("channels"), 1},
		{"cdn requests", m.cdnRequests.WithLabelValues("varnish", "ban", ResultUnreachable), 1},
		{"slack failures", m.slackFailures.WithLabelValues(DestinationResponseURL), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := promtest.ToFloat64(tt.c); got != tt.want {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
	want := `
# HELP cdnpurge_followups_in_flight Follow-ups of invalidations running in this process.
# TYPE cdnpurge_followups_in_flight gauge
cdnpurge_followups_in_flight 3
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(want), NameFollowupsInFlight); err != nil {
		t.Error(err)
	}
	if n := promtest.CollectAndCount(m.reply); n != 4 {
		t.Errorf("%d reply series, want 4 (http, lambda, socket_mode from the start; other)", n)
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
			m, _ := MustNew(t)
			c := &http.Client{Transport: m.Transport(nil, "fastly", func(*http.Request) string { return "purge" })}
			resp, err := c.Post(srv.URL+"/service/x/purge", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := promtest.ToFloat64(m.cdnRequests.WithLabelValues("fastly", "purge", tt.want)); got != 1 {
				t.Errorf("%s counted %v times", tt.want, got)
			}
			if n := promtest.CollectAndCount(m.cdnRequests); n != 1 {
				t.Errorf("%d series, want 1", n)
			}
			if n := promtest.CollectAndCount(m.cdnDuration); n != 1 {
				t.Errorf("%d latency series, want 1", n)
			}
		})
	}
	t.Run("refused connection", func(t *testing.T) {
		m, _ := MustNew(t)
		c := &http.Client{Transport: m.Transport(nil, "varnish", func(*http.Request) string { return "purge" })}
		if _, err := c.Post("http://"+testutil.MustRefusingAddr(t)+"/", "", nil); err == nil {
			t.Fatal("a refused connection succeeded")
		}
		if got := promtest.ToFloat64(m.cdnRequests.WithLabelValues("varnish", "purge", ResultUnreachable)); got != 1 {
			t.Errorf("unreachable counted %v times", got)
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
	m, _ := MustNew(t)
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
	for _, c := range []struct {
		op, result string
		want       float64
	}{
		{"ListInvalidations", ResultOK, 1},
		{"GetInvalidation", ResultUnavailable, 2},
	} {
		if got := promtest.ToFloat64(m.cdnRequests.WithLabelValues("cloudfront", c.op, c.result)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.op, c.result, got, c.want)
		}
	}
	if got, want := promtest.CollectAndCount(m.cdnRequests), 2; got != want {
		t.Errorf("%d series, want %d", got, want)
	}
	if got, want := emu.Calls(emulator.OpGetInvalidation), 2; got != want {
		t.Errorf("the emulator saw %d GetInvalidation calls, want %d", got, want)
	}
}
