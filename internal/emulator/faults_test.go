package emulator_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// faultAnswer is what one request to an emulator with faults got.
type faultAnswer struct {
	status  int
	errType string // ErrorResponse Type, "" on success
	code    string // ErrorResponse Code, "" on success
	message string
}

// faultRequest sends one request to op straight to e's ServeHTTP: a
// CreateInvalidation with caller reference ref, a ListInvalidations, or a
// GetInvalidation of an invalidation that does not exist; on testTenant for
// their ForDistributionTenant twins.
func faultRequest(tb testing.TB, ctx context.Context, e *emulator.Emulator, op, ref string) faultAnswer {
	tb.Helper()
	base := distPath
	if action, ok := strings.CutSuffix(op, "ForDistributionTenant"); ok {
		base, op = tenantPath, action
	}
	var req *http.Request
	switch op {
	case emulator.OpCreateInvalidation:
		body := `<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>` + ref +
			`</CallerReference><Paths><Quantity>1</Quantity><Items><Path>/f/` + ref + `</Path></Items></Paths></InvalidationBatch>`
		req = httptest.NewRequestWithContext(ctx, http.MethodPost, base, strings.NewReader(body))
	case emulator.OpListInvalidations:
		req = httptest.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	case emulator.OpGetInvalidation:
		req = httptest.NewRequestWithContext(ctx, http.MethodGet, base+"/INOSUCHTHING", nil)
	default:
		tb.Fatalf("unknown operation %q", op)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	a := faultAnswer{status: rec.Code}
	if rec.Code >= 300 {
		var doc struct {
			Error struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			tb.Fatalf("%s: status %d with a body that is not an ErrorResponse: %v: %s", op, rec.Code, err, rec.Body)
		}
		a.errType, a.code, a.message = doc.Error.Type, doc.Error.Code, doc.Error.Message
	}
	return a
}

// faultEmulator returns an emulator for testDistribution and testTenant
// with faults f whose invalidations never complete, so that nothing but
// injected faults limits them (paths stay under the 3,000 in progress).
func faultEmulator(f emulator.Faults) *emulator.Emulator {
	return emulator.New(emulator.Options{Distributions: []string{testDistribution}, Tenants: []string{testTenant}, Faults: f})
}

// created counts the invalidations e holds.
func created(tb testing.TB, e *emulator.Emulator) int {
	tb.Helper()
	return len(e.CallerReferences(testDistribution))
}

func TestFaultRates(t *testing.T) {
	const n = 1000
	create := emulator.OpCreateInvalidation
	tests := []struct {
		name   string
		faults emulator.Faults
		op     string
		// Expected shares of 503, Throttling and TooManyInvalidationsInProgress.
		unavailable, throttled, busy float64
	}{
		{"none", emulator.Faults{}, create, 0, 0, 0},
		{"503", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.3}}, create, 0.3, 0, 0},
		{"throttling", emulator.Faults{All: emulator.FaultRates{Throttle: 0.2}}, create, 0, 0.2, 0},
		{"busy", emulator.Faults{All: emulator.FaultRates{Busy: 0.1}}, create, 0, 0, 0.1},
		{"mixed", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.2, Throttle: 0.1, Busy: 0.1}}, create, 0.2, 0.1, 0.1},
		{"always 503", emulator.Faults{All: emulator.FaultRates{Unavailable: 1}}, create, 1, 0, 0},
		{"busy is CreateInvalidation's only", emulator.Faults{All: emulator.FaultRates{Busy: 1}}, emulator.OpListInvalidations, 0, 0, 0},
		{"per operation replaces all", emulator.Faults{
			All:         emulator.FaultRates{Unavailable: 1},
			ByOperation: map[string]emulator.FaultRates{create: {Throttle: 0.5}},
		}, create, 0, 0.5, 0},
		{"other operations keep all", emulator.Faults{
			All:         emulator.FaultRates{Unavailable: 0.4},
			ByOperation: map[string]emulator.FaultRates{create: {}},
		}, emulator.OpListInvalidations, 0.4, 0, 0},
		{"only the operation named", emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{create: {Unavailable: 1}},
		}, emulator.OpGetInvalidation, 0, 0, 0},
		{"tenant create", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.2, Busy: 0.1}},
			emulator.OpCreateInvalidationForDistributionTenant, 0.2, 0, 0.1},
		{"busy is not the tenant list's", emulator.Faults{All: emulator.FaultRates{Busy: 1}},
			emulator.OpListInvalidationsForDistributionTenant, 0, 0, 0},
		{"the tenant twin is another operation", emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{create: {Unavailable: 1}},
		}, emulator.OpCreateInvalidationForDistributionTenant, 0, 0, 0},
		{"tenant get by name", emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{emulator.OpGetInvalidationForDistributionTenant: {Throttle: 0.3}},
		}, emulator.OpGetInvalidationForDistributionTenant, 0, 0.3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.faults.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			e := faultEmulator(tt.faults)
			got := map[string]int{}
			for i := range n {
				a := faultRequest(t, context.Background(), e, tt.op, fmt.Sprint("ref-", i))
				switch a.code {
				case "ServiceUnavailable":
					if a.status != http.StatusServiceUnavailable || a.errType != "Receiver" {
						t.Fatalf("503: %+v", a)
					}
				case "Throttling":
					if a.status != http.StatusBadRequest || a.errType != "Sender" || a.message != "Rate exceeded" {
						t.Fatalf("throttling: %+v", a)
					}
				case "TooManyInvalidationsInProgress":
					if a.status != http.StatusBadRequest || a.errType != "Sender" {
						t.Fatalf("busy: %+v", a)
					}
				case "", "NoSuchInvalidation": // served: GetInvalidation asks for an ID that does not exist
				default:
					t.Fatalf("unexpected answer %+v", a)
				}
				got[a.code]++
			}
			for _, c := range []struct {
				code  string
				share float64
			}{{"ServiceUnavailable", tt.unavailable}, {"Throttling", tt.throttled}, {"TooManyInvalidationsInProgress", tt.busy}} {
				// Four standard deviations of a binomial: a seeded source
				// makes this deterministic anyway.
				want := c.share * n
				if slack := 4 * math.Sqrt(n*c.share*(1-c.share)); math.Abs(float64(got[c.code])-want) > slack {
					t.Errorf("%s: %d of %d, want %.0f ± %.0f", c.code, got[c.code], n, want, slack)
				}
			}
			counts := e.InjectedFaults(tt.op)
			if counts.Unavailable != got["ServiceUnavailable"] || counts.Throttled != got["Throttling"] || counts.Busy != got["TooManyInvalidationsInProgress"] {
				t.Errorf("InjectedFaults(%s) = %+v, the wire saw %v", tt.op, counts, got)
			}
			if all := e.InjectedFaults(""); all != counts {
				t.Errorf("InjectedFaults(\"\") = %+v, want %+v: only %s was called", all, counts, tt.op)
			}
			if tt.op == create || tt.op == emulator.OpCreateInvalidationForDistributionTenant {
				served := n - got["ServiceUnavailable"] - got["Throttling"] - got["TooManyInvalidationsInProgress"]
				if c := len(e.CallerReferences(testDistribution)) + len(e.CallerReferences(testTenant)); c != served {
					t.Errorf("%d invalidations created, want %d: an injected error must leave nothing behind", c, served)
				}
			}
		})
	}
}

func TestFaultsAreReproducible(t *testing.T) {
	faults := emulator.Faults{All: emulator.FaultRates{Unavailable: 0.3, Throttle: 0.2}, Seed: 42}
	sequence := func(f emulator.Faults) string {
		e := faultEmulator(f)
		var b strings.Builder
		for i := range 200 {
			a := faultRequest(t, context.Background(), e, emulator.OpCreateInvalidation, fmt.Sprint("r", i))
			b.WriteString(a.code[:min(1, len(a.code))] + ".")
		}
		return b.String()
	}
	first, again := sequence(faults), sequence(faults)
	if first != again {
		t.Fatalf("the same seed gave other faults:\n%s\n%s", first, again)
	}
	jittered := faults
	jittered.All.LatencyJitter = time.Microsecond
	if got := sequence(jittered); got != first {
		t.Errorf("adding jitter changed which requests fail:\n%s\n%s", first, got)
	}
	other := faults
	other.Seed = 43
	if sequence(other) == first {
		t.Error("another seed gave the same faults")
	}
}

func TestFaultLatency(t *testing.T) {
	const latency, jitter, n = 20 * time.Millisecond, 10 * time.Millisecond, 10
	e := faultEmulator(emulator.Faults{ByOperation: map[string]emulator.FaultRates{
		emulator.OpCreateInvalidation: {Latency: latency, LatencyJitter: jitter},
	}})
	for i := range n {
		start := time.Now()
		if a := faultRequest(t, context.Background(), e, emulator.OpCreateInvalidation, fmt.Sprint("slow-", i)); a.status != http.StatusCreated {
			t.Fatalf("delayed request failed: %+v", a)
		}
		if took := time.Since(start); took < latency {
			t.Errorf("request %d took %s, less than the latency %s", i, took, latency)
		}
	}
	c := e.InjectedFaults(emulator.OpCreateInvalidation)
	if c.Requests != n || c.Delayed != n || c.Delay < n*latency || c.Delay >= n*(latency+jitter) {
		t.Errorf("counts %+v: want %d delayed by %s to %s in all", c, n, n*latency, n*(latency+jitter))
	}
	if faultRequest(t, context.Background(), e, emulator.OpListInvalidations, "").status != http.StatusOK {
		t.Error("ListInvalidations failed")
	}
	if c := e.InjectedFaults(emulator.OpListInvalidations); c.Delayed != 0 || c.Requests != 1 {
		t.Errorf("ListInvalidations counts %+v: the latency was set for CreateInvalidation only", c)
	}

	t.Run("client gives up during the delay", func(t *testing.T) {
		e := faultEmulator(emulator.Faults{All: emulator.FaultRates{Latency: time.Minute}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		faultRequest(t, ctx, e, emulator.OpCreateInvalidation, "gone")
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("the emulator held the request %s after its client went away", took)
		}
		if c := e.InjectedFaults(""); c.Abandoned != 1 || c.Delayed != 0 {
			t.Errorf("counts %+v, want 1 abandoned", c)
		}
		if n := created(t, e); n != 0 {
			t.Errorf("%d invalidations created for a request its client abandoned", n)
		}
	})
}

func TestFaultsConcurrent(t *testing.T) {
	const workers, each = 8, 100
	e := faultEmulator(emulator.Faults{All: emulator.FaultRates{Unavailable: 0.25, Throttle: 0.25, LatencyJitter: time.Millisecond}, Seed: 7})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if a := faultRequest(t, context.Background(), e, emulator.OpCreateInvalidation, fmt.Sprintf("w%d-%d", w, i)); a.status != http.StatusCreated {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	c := e.InjectedFaults("")
	if c.Requests != workers*each || c.Unavailable+c.Throttled != failed || c.Delayed+c.Abandoned > c.Requests {
		t.Errorf("counts %+v, %d requests failed", c, failed)
	}
	if n := created(t, e); n != workers*each-failed {
		t.Errorf("%d invalidations created, want %d", n, workers*each-failed)
	}
}

// TestFaultsThroughTheBackend checks that the backend classifies injected
// faults as CloudFront's and that its retries get through transient ones
// without creating anything twice.
func TestFaultsThroughTheBackend(t *testing.T) {
	tests := []struct {
		name     string
		rates    emulator.FaultRates
		attempts int
		want     purge.Code // "" for success
	}{
		{"503 exhausts the retries", emulator.FaultRates{Unavailable: 1}, 3, purge.Unavailable},
		{"throttling exhausts the retries", emulator.FaultRates{Throttle: 1}, 3, purge.RateLimited},
		{"busy is not retried", emulator.FaultRates{Busy: 1}, 3, purge.RateLimited},
		{"retries get through 503s", emulator.FaultRates{Unavailable: 0.5}, 20, ""},
		{"retries get through throttling", emulator.FaultRates{Throttle: 0.5}, 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := MustStartEmulator(t, emulator.Options{Faults: emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: tt.rates}}})
			inv := cloudfrontcdn.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "fake", "")},
				cloudfrontcdn.Options{Endpoint: srv.URL, MaxAttempts: tt.attempts, MaxBackoff: time.Millisecond})
			for i := range 20 {
				got, err := inv.CreateInvalidation(context.Background(), purge.Batch{
					DistributionID: testDistribution, CallerReference: fmt.Sprint("backend-", i), Paths: []string{"/x"},
				})
				if tt.want == "" {
					if err != nil {
						t.Fatalf("CreateInvalidation: %v", err)
					}
					if got.ID == "" {
						t.Fatal("no invalidation ID")
					}
					continue
				}
				var perr *purge.Error
				if !errors.As(err, &perr) || perr.Code != tt.want {
					t.Fatalf("error %v, want code %s", err, tt.want)
				}
			}
			c := e.InjectedFaults(emulator.OpCreateInvalidation)
			wantCreated := 0
			if tt.want == "" {
				wantCreated = 20
			}
			if n := created(t, e); n != wantCreated {
				t.Errorf("%d invalidations, want %d (faults injected: %+v)", n, wantCreated, c)
			}
			if tt.want == purge.RateLimited && tt.rates.Busy > 0 && c.Requests != 20 {
				t.Errorf("%d requests for 20 calls: TooManyInvalidationsInProgress was retried", c.Requests)
			}
			if tt.want != "" && tt.rates.Busy == 0 && c.Requests != 20*tt.attempts {
				t.Errorf("%d requests for 20 calls of %d attempts", c.Requests, tt.attempts)
			}
		})
	}
}

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		name   string
		faults emulator.Faults
		want   string // "" for valid
	}{
		{"zero", emulator.Faults{}, ""},
		{"every kind", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.5, Throttle: 0.25, Busy: 0.25, Latency: time.Second, LatencyJitter: time.Second}}, ""},
		{"per operation", emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpGetInvalidation: {Unavailable: 1}}}, ""},
		{"rate above 1", emulator.Faults{All: emulator.FaultRates{Unavailable: 1.5}}, "not in [0, 1]"},
		{"negative rate", emulator.Faults{All: emulator.FaultRates{Throttle: -0.1}}, "not in [0, 1]"},
		{"NaN", emulator.Faults{All: emulator.FaultRates{Busy: math.NaN()}}, "not in [0, 1]"},
		{"sum above 1", emulator.Faults{All: emulator.FaultRates{Unavailable: 0.6, Throttle: 0.6}}, "add up to"},
		{"negative latency", emulator.Faults{All: emulator.FaultRates{Latency: -time.Second}}, "negative latency"},
		{"unknown operation", emulator.Faults{ByOperation: map[string]emulator.FaultRates{"DeleteDistribution": {}}}, "unknown operation"},
		{"bad per-operation rate", emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Busy: 2}}}, "CreateInvalidation: Busy rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.faults.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestFaultsUntil: an outage with an end fails every request before Until,
// by the emulator's clock, and serves every one from Until on.
func TestFaultsUntil(t *testing.T) {
	clk := newFakeClock()
	_, srv := MustStartEmulator(t, emulator.Options{
		Distributions: []string{"EDFDVBD6EXAMPLE"},
		Now:           clk.Now,
		Faults: emulator.Faults{
			ByOperation: map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Unavailable: 1}},
			Until:       clk.Now().Add(20 * time.Second),
		},
	})
	client := MustSDKClient(t, srv)
	for _, tt := range []struct {
		advance time.Duration
		wantErr bool
	}{
		{0, true},
		{19 * time.Second, true},
		{time.Second, false}, // at Until
		{time.Hour, false},
	} {
		clk.Advance(tt.advance)
		_, err := client.CreateInvalidation(context.Background(), batch(fmt.Sprintf("until-%s", clk.Now()), "/a"), func(o *cloudfront.Options) { o.RetryMaxAttempts = 1 })
		if (err != nil) != tt.wantErr {
			t.Errorf("at %s: err = %v, want an error: %v", clk.Now(), err, tt.wantErr)
		}
	}
}
