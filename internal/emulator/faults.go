package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The operations the emulator serves, by CloudFront's names: the keys of
// Faults.ByOperation and the arguments of InjectedFaults.
const (
	OpCreateInvalidation = "CreateInvalidation"
	OpGetInvalidation    = "GetInvalidation"
	OpListInvalidations  = "ListInvalidations"

	OpCreateInvalidationForDistributionTenant = OpCreateInvalidation + tenantSuffix
	OpGetInvalidationForDistributionTenant    = OpGetInvalidation + tenantSuffix
	OpListInvalidationsForDistributionTenant  = OpListInvalidations + tenantSuffix
)

// Operations lists the operations the emulator serves.
func Operations() []string {
	return []string{
		OpCreateInvalidation, OpGetInvalidation, OpListInvalidations,
		OpCreateInvalidationForDistributionTenant, OpGetInvalidationForDistributionTenant,
		OpListInvalidationsForDistributionTenant,
	}
}

// Faults makes the emulator fail and stall the way CloudFront does at a
// peak, so that a client's retries, deadlines and idempotency can be tested
// against the real wire format. The zero value injects nothing.
//
// Faults are decided after routing and before the operation: an injected
// error leaves the emulator's state untouched (nothing is created), which is
// what CloudFront's transient errors mean to a retrying SDK. A delay is also
// served before the operation; a client that gives up during it (its
// connection closes) gets nothing done either.
//
// Each request draws from one random source seeded with Seed, the same
// number of draws whatever the rates, so the same seed and the same order of
// requests give the same faults. Concurrent requests draw in the order they
// arrive, which the scheduler decides.
type Faults struct {
	// All applies to every operation that has no entry in ByOperation.
	All FaultRates
	// ByOperation replaces All for the operations it names (see
	// Operations). A distribution's operation and its tenant twin are
	// separate: OpCreateInvalidation does not name
	// OpCreateInvalidationForDistributionTenant.
	ByOperation map[string]FaultRates
	// Seed seeds the random source.
	Seed uint64
	// Until, when set, ends the faults: a request that arrives at or after
	// it, by the emulator's clock, is served as usual (an outage that ends).
	// Zero means they never end.
	Until time.Time
}

// FaultRates are the faults injected into one operation. Rates are
// probabilities in [0, 1], at most 1 together: each request is answered with
// at most one error, chosen by one draw (Unavailable 0.2 and Throttle 0.1:
// 20% get 503, another 10% Throttling, the rest are served).
type FaultRates struct {
	// Unavailable is the rate of 503 ServiceUnavailable (error Type
	// Receiver): CloudFront's transient failure, which SDKs retry.
	Unavailable float64
	// Throttle is the rate of 400 Throttling, "Rate exceeded", which SDKs
	// retry after a backoff.
	Throttle float64
	// Busy is the rate of 400 TooManyInvalidationsInProgress, which SDKs do
	// not retry. CloudFront returns it from CreateInvalidation and
	// CreateInvalidationForDistributionTenant only, so it applies to nothing
	// else.
	Busy float64
	// Latency is added to every request of the operation, before it runs.
	Latency time.Duration
	// LatencyJitter adds a further uniformly random delay in
	// [0, LatencyJitter).
	LatencyJitter time.Duration
}

func (r FaultRates) zero() bool { return r == FaultRates{} }

// Validate reports rates outside [0, 1], rates adding up to more than 1,
// negative delays and unknown operations: CloudFront's (Operations),
// Fastly's (FastlyOperations) and Cloudflare's purge.
func (f Faults) Validate() error {
	var errs []error
	check := func(name string, r FaultRates) {
		for _, x := range []struct {
			what string
			v    float64
		}{{"Unavailable", r.Unavailable}, {"Throttle", r.Throttle}, {"Busy", r.Busy}} {
			if !(x.v >= 0 && x.v <= 1) { // also refuses NaN
				errs = append(errs, fmt.Errorf("%s: %s rate %v is not in [0, 1]", name, x.what, x.v))
			}
		}
		if sum := r.Unavailable + r.Throttle + r.Busy; sum > 1 {
			errs = append(errs, fmt.Errorf("%s: the rates add up to %v, more than 1", name, sum))
		}
		if r.Latency < 0 || r.LatencyJitter < 0 {
			errs = append(errs, fmt.Errorf("%s: negative latency", name))
		}
	}
	check("all operations", f.All)
	known := slices.Concat(Operations(), FastlyOperations(), []string{OpCloudflarePurgeCache})
	for _, op := range slices.Sorted(maps.Keys(f.ByOperation)) {
		if !slices.Contains(known, op) {
			errs = append(errs, fmt.Errorf("unknown operation %q (known: %v)", op, known))
			continue
		}
		check(op, f.ByOperation[op])
	}
	return errors.Join(errs...)
}

// rates returns the rates that apply to op.
func (f Faults) rates(op string) FaultRates {
	if r, ok := f.ByOperation[op]; ok {
		return r
	}
	return f.All
}

// FaultCounts counts what the emulator injected.
type FaultCounts struct {
	// Requests is how many requests reached the injector (those routed to
	// an operation).
	Requests int
	// Unavailable, Throttled and Busy count the errors injected.
	Unavailable, Throttled, Busy int
	// Delayed counts the requests held back, and Delay is their total
	// added latency.
	Delayed int
	Delay   time.Duration
	// Abandoned counts the requests whose client went away during the
	// delay; they were not carried out.
	Abandoned int
}

func (c *FaultCounts) add(o FaultCounts) {
	c.Requests += o.Requests
	c.Unavailable += o.Unavailable
	c.Throttled += o.Throttled
	c.Busy += o.Busy
	c.Delayed += o.Delayed
	c.Delay += o.Delay
	c.Abandoned += o.Abandoned
}

// faultInjector applies Faults. It is safe for concurrent use.
type faultInjector struct {
	faults Faults
	now    func() time.Time

	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]*FaultCounts // by operation
}

// newFaultInjector returns an injector for f, or nil when f injects
// nothing.
func newFaultInjector(f Faults, now func() time.Time) *faultInjector {
	enabled := !f.All.zero()
	for _, r := range f.ByOperation {
		enabled = enabled || !r.zero()
	}
	if !enabled {
		return nil
	}
	f.ByOperation = maps.Clone(f.ByOperation)
	return &faultInjector{
		faults: f,
		now:    now,
		rng:    rand.New(rand.NewPCG(f.Seed, 0x636466617574)), // "cdfaut": any fixed stream
		counts: make(map[string]*FaultCounts),
	}
}

// fault is what the injector decided for one request.
type fault int

const (
	faultNone fault = iota
	faultUnavailable
	faultThrottle
	faultBusy
)

// decide draws the fault and the delay of one request to op, and counts
// the request.
func (fi *faultInjector) decide(op string) (fault, time.Duration) {
	r := fi.faults.rates(op)
	fi.mu.Lock()
	defer fi.mu.Unlock()
	// Always two draws, so that which requests fail does not depend on
	// whether there is jitter.
	u, j := fi.rng.Float64(), fi.rng.Float64()
	c := fi.count(op)
	c.Requests++
	if !fi.faults.Until.IsZero() && !fi.now().Before(fi.faults.Until) {
		return faultNone, 0
	}

	delay := r.Latency + time.Duration(j*float64(r.LatencyJitter))
	busy := r.Busy
	if op != OpCreateInvalidation && op != OpCreateInvalidationForDistributionTenant {
		busy = 0
	}
	f := faultNone
	switch {
	case u < r.Unavailable:
		f = faultUnavailable
	case u < r.Unavailable+r.Throttle:
		f = faultThrottle
	case u < r.Unavailable+r.Throttle+busy:
		f = faultBusy
	}
	return f, delay
}

// count returns op's counters; the caller holds fi.mu.
func (fi *faultInjector) count(op string) *FaultCounts {
	c, ok := fi.counts[op]
	if !ok {
		c = &FaultCounts{}
		fi.counts[op] = c
	}
	return c
}

func (fi *faultInjector) record(op string, f func(*FaultCounts)) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f(fi.count(op))
}

// inject serves the faults of one request r to op: it waits out the delay,
// then returns the error to answer with, or nil to carry the operation out
// with the request it returns (r, or a copy holding r's body in memory).
func (fi *faultInjector) inject(w http.ResponseWriter, r *http.Request, op string) (*http.Request, *apiError) {
	f, delay := fi.decide(op)
	if delay > 0 {
		// net/http notices that a client went away, and cancels the
		// request's context, only once the body has been read: read it
		// first, so that a client giving up during the delay is seen.
		r = bufferBody(w, r)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
			fi.record(op, func(c *FaultCounts) { c.Delayed++; c.Delay += delay })
		case <-r.Context().Done():
			t.Stop()
			fi.record(op, func(c *FaultCounts) { c.Abandoned++ })
			// Nobody reads this answer; it only keeps the operation from
			// running and names the reason in the emulator's log.
			return r, newAPIError(http.StatusServiceUnavailable, codeServiceUnavailable,
				"The client went away during the injected delay.").wrap(r.Context().Err())
		}
	}
	injected := errors.New("injected fault")
	switch f {
	case faultUnavailable:
		fi.record(op, func(c *FaultCounts) { c.Unavailable++ })
		return r, newAPIError(http.StatusServiceUnavailable, codeServiceUnavailable,
			"The request has failed due to a temporary failure of the server.").wrap(injected)
	case faultThrottle:
		fi.record(op, func(c *FaultCounts) { c.Throttled++ })
		return r, newAPIError(http.StatusBadRequest, codeThrottling, "Rate exceeded").wrap(injected)
	case faultBusy:
		fi.record(op, func(c *FaultCounts) { c.Busy++ })
		return r, newAPIError(http.StatusBadRequest, codeTooManyInvalidationsInProgress,
			"Processing your request would cause the maximum number of invalidations in progress for this distribution to be exceeded.").wrap(injected)
	}
	return r, nil
}

// bufferBody reads r's body (at most maxRequestBodyBytes, as
// createInvalidation would) and returns a copy of r that replays it, with
// the read error, if any, after the bytes read.
func bufferBody(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBodyBytes))
	body := io.Reader(bytes.NewReader(b))
	if err != nil {
		body = io.MultiReader(body, errReader{err})
	}
	r2 := r.WithContext(r.Context())
	r2.Body = io.NopCloser(body)
	return r2
}

// errReader is a reader that fails with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// snapshot returns the counters of op, or of every operation for "".
func (fi *faultInjector) snapshot(op string) FaultCounts {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	var out FaultCounts
	for name, c := range fi.counts {
		if op == "" || op == name {
			out.add(*c)
		}
	}
	return out
}

// Codes of the injected errors that CloudFront's own rules never produce.
const (
	codeServiceUnavailable = "ServiceUnavailable"
	codeThrottling         = "Throttling"
)

// InjectedFaults reports what Options.Faults injected so far into op (one
// of the Op constants), or into every operation for "". It is zero when
// no faults are configured.
func (e *Emulator) InjectedFaults(op string) FaultCounts {
	if e.faults == nil {
		return FaultCounts{}
	}
	return e.faults.snapshot(op)
}

// CallerReferences returns the caller references of the invalidations of
// distributionID, or of the distribution tenant with that ID, oldest first,
// or nil if neither exists. It reads the emulator's state directly, past any
// Faults, so that a test or a load run can reconcile what clients were told
// with what was created.
func (e *Emulator) CallerReferences(distributionID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.owners[resource{kindDistribution, distributionID}]
	if !ok {
		d, ok = e.owners[resource{kindTenant, distributionID}]
	}
	if !ok {
		return nil
	}
	refs := make([]string, len(d.invalidations))
	for i, inv := range d.invalidations {
		refs[i] = inv.callerReference
	}
	return refs
}
