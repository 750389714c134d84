package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// defaultDistributionID is the example ID of the AWS documentation, used by
// the emulator and the demo when none is given.
const defaultDistributionID = "EDFDVBD6EXAMPLE"

// runEmulate is `cdnpurge emulate`: a local CloudFront API, for
// distributions and for distribution tenants.
func runEmulate(ctx context.Context, e env) error {
	fs := newFlagSet("emulate", e)
	addr := fs.String("addr", "127.0.0.1:4510", "address to listen on, HOST:PORT")
	var dists, tenants stringList
	fs.Var(&dists, "distribution", "a distribution ID that exists (repeatable; default "+defaultDistributionID+")")
	fs.Var(&tenants, "tenant", "a distribution tenant ID that exists, "+purge.TenantPrefix+"... (repeatable; default none), "+
		"for the ...ForDistributionTenant operations")
	completeAfter := fs.Duration("complete-after", 5*time.Second, "how long an invalidation stays InProgress")
	var rates emulator.FaultRates
	fs.Float64Var(&rates.Unavailable, "fail-rate", 0, "share of requests answered 503 ServiceUnavailable, 0 to 1 (injected before the operation: nothing is created)")
	fs.Float64Var(&rates.Throttle, "throttle-rate", 0, "share of requests answered 400 Throttling, \"Rate exceeded\", 0 to 1")
	fs.Float64Var(&rates.Busy, "busy-rate", 0, "share of CreateInvalidation (and CreateInvalidationForDistributionTenant) requests answered TooManyInvalidationsInProgress, 0 to 1")
	fs.DurationVar(&rates.Latency, "latency", 0, "delay added to every request, before it is served")
	fs.DurationVar(&rates.LatencyJitter, "latency-jitter", 0, "a further random delay, uniform in [0, D)")
	seed := fs.Uint64("seed", 1, "seed of the random source that picks the faults: the same seed and order of requests give the same faults")
	faultOps := fs.String("fault-operations", "", "comma-separated operations the faults apply to ("+
		strings.Join(emulator.Operations(), ", ")+"); empty for all")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	faults, err := emulatorFaults(rates, *seed, *faultOps)
	if err != nil {
		return err
	}
	if len(dists) == 0 {
		dists = stringList{defaultDistributionID}
	}
	for _, d := range dists {
		if !config.IsDistributionID(d) {
			return fmt.Errorf("%w: --distribution %q is not a distribution ID (upper-case letters and digits)", errUsage, d)
		}
	}
	for _, t := range tenants {
		if !isTenantID(t) {
			return fmt.Errorf("%w: --tenant %q is not a distribution tenant ID (%s and then letters and digits)", errUsage, t, purge.TenantPrefix)
		}
	}
	log := newLogger(e, slog.LevelInfo)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	emu := emulator.New(emulator.Options{Distributions: dists, Tenants: tenants, CompleteAfter: *completeAfter, Logger: log, Faults: faults})
	srv := &http.Server{
		Handler:           emu,
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Fprintf(e.stdout, "CloudFront emulator on http://%s (distributions: %s; invalidations complete after %s)\n"+
		"Try, with AWS_DEFAULT_REGION and any AWS credentials set (the AWS CLI needs them):\n"+
		"  aws cloudfront create-invalidation --endpoint-url http://%[1]s --distribution-id %[4]s --paths '/*'\n"+
		"  CDNPURGE_CLOUDFRONT_ENDPOINT=http://%[1]s cdnpurge invalidate --distribution %[4]s --wait '/*'\n",
		ln.Addr(), strings.Join(dists, ", "), *completeAfter, dists[0])
	if len(tenants) > 0 {
		fmt.Fprintf(e.stdout, "Distribution tenants: %s\n"+
			"  aws cloudfront create-invalidation-for-distribution-tenant --endpoint-url http://%s --id %s "+
			"--invalidation-batch 'Paths={Quantity=1,Items=[/*]},CallerReference=try-1'\n",
			strings.Join(tenants, ", "), ln.Addr(), tenants[0])
	}
	if rates != (emulator.FaultRates{}) {
		ops := *faultOps
		if ops == "" {
			ops = "all operations"
		}
		fmt.Fprintf(e.stdout, "Injecting faults into %s: 503 %g, Throttling %g, TooManyInvalidationsInProgress %g, latency %s + up to %s (seed %d)\n",
			ops, rates.Unavailable, rates.Throttle, rates.Busy, rates.Latency, rates.LatencyJitter, *seed)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	serr := srv.Shutdown(sctx)
	if serr != nil {
		srv.Close()
	}
	if rates != (emulator.FaultRates{}) {
		c := emu.InjectedFaults("")
		log.Info("cloudfront emulator injected faults", "requests", c.Requests, "unavailable", c.Unavailable,
			"throttled", c.Throttled, "busy", c.Busy, "delayed", c.Delayed, "delay_seconds", c.Delay.Seconds(), "abandoned", c.Abandoned)
	}
	if serr != nil {
		return fmt.Errorf("shutdown: %w", serr)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// isTenantID reports whether id is shaped like a distribution tenant ID:
// purge.TenantPrefix and then letters and digits, as CloudFront issues them
// (dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB).
func isTenantID(id string) bool {
	rest, ok := strings.CutPrefix(id, purge.TenantPrefix)
	if !ok || rest == "" {
		return false
	}
	for _, c := range []byte(rest) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// emulatorFaults turns the fault flags of `emulate` into emulator.Faults:
// rates for every operation, or only for those listed in ops.
func emulatorFaults(rates emulator.FaultRates, seed uint64, ops string) (emulator.Faults, error) {
	f := emulator.Faults{Seed: seed}
	if ops == "" {
		f.All = rates
	} else {
		f.ByOperation = map[string]emulator.FaultRates{}
		for op := range strings.SplitSeq(ops, ",") {
			f.ByOperation[strings.TrimSpace(op)] = rates
		}
	}
	if err := f.Validate(); err != nil {
		return f, fmt.Errorf("%w: %v", errUsage, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return f, nil
}
