package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
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
// distributions and for distribution tenants, and with --cloudflare-zone
// and --fastly-service Cloudflare's and Fastly's purge APIs on the same
// address.
func runEmulate(ctx context.Context, e env) error {
	fs := newFlagSet("emulate", e)
	addr := fs.String("addr", "127.0.0.1:4510", "address to listen on, HOST:PORT")
	var dists, tenants stringList
	fs.Var(&dists, "distribution", "a distribution ID that exists (repeatable; default "+defaultDistributionID+")")
	fs.Var(&tenants, "tenant", "a distribution tenant ID that exists, "+purge.TenantPrefix+"... (repeatable; default none), "+
		"for the ...ForDistributionTenant operations")
	completeAfter := fs.Duration("complete-after", 5*time.Second, "how long an invalidation stays InProgress")
	var zones, cfTokens, services, fastlyTokens stringList
	fs.Var(&zones, "cloudflare-zone", "a Cloudflare zone ID (32 hex digits) that exists for the emulated Cloudflare API at /client/v4 (repeatable; default none)")
	fs.Var(&cfTokens, "cloudflare-token", "a Cloudflare API token the emulated Cloudflare API accepts (repeatable; default any well-formed token)")
	fs.Var(&services, "fastly-service", "a Fastly service ID (letters and digits) that exists for the emulated Fastly API (repeatable; default none)")
	fs.Var(&fastlyTokens, "fastly-token", "a Fastly API token (Fastly-Key) the emulated Fastly API accepts (repeatable; default any token)")
	var rates emulator.FaultRates
	fs.Float64Var(&rates.Unavailable, "fail-rate", 0, "share of requests answered 503 (CloudFront's ServiceUnavailable, and Cloudflare's and Fastly's own), 0 to 1 "+
		"(injected before the operation: nothing is created or purged)")
	fs.Float64Var(&rates.Throttle, "throttle-rate", 0, "share of requests throttled, 0 to 1: CloudFront answers 400 Throttling, \"Rate exceeded\"; "+
		"Cloudflare and Fastly answer 429 Too Many Requests with Retry-After")
	fs.Float64Var(&rates.Busy, "busy-rate", 0, "share of CreateInvalidation (and CreateInvalidationForDistributionTenant) requests answered TooManyInvalidationsInProgress, 0 to 1")
	fs.DurationVar(&rates.Latency, "latency", 0, "delay added to every request, before it is served")
	fs.DurationVar(&rates.LatencyJitter, "latency-jitter", 0, "a further random delay, uniform in [0, D)")
	seed := fs.Uint64("seed", 1, "seed of the random source that picks the faults: the same seed and order of requests give the same faults")
	faultOps := fs.String("fault-operations", "", "comma-separated operations the faults apply to ("+
		strings.Join(faultOperations(), ", ")+"); empty for all")
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
		if !purge.ValidTenantID(t) {
			return fmt.Errorf("%w: --tenant %q is not a distribution tenant ID (%s and then letters and digits)", errUsage, t, purge.TenantPrefix)
		}
	}
	for _, z := range zones {
		if !config.IsZoneID(z) {
			return fmt.Errorf("%w: --cloudflare-zone %q is not a Cloudflare zone ID (32 lower-case hex digits)", errUsage, z)
		}
	}
	for _, id := range services {
		if !config.IsServiceID(id) {
			return fmt.Errorf("%w: --fastly-service %q is not a Fastly service ID (8 to 64 letters and digits)", errUsage, id)
		}
	}
	for _, tokens := range []struct {
		flag string
		list stringList
	}{{"--cloudflare-token", cfTokens}, {"--fastly-token", fastlyTokens}} {
		for _, tok := range tokens.list {
			// The token itself is never echoed.
			if strings.TrimSpace(tok) == "" || strings.ContainsAny(tok, " \t\r\n") {
				return fmt.Errorf("%w: a %s is empty or holds white space", errUsage, tokens.flag)
			}
		}
	}
	log := newLogger(e, slog.LevelInfo)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	emu := emulator.New(emulator.Options{
		Distributions: dists, Tenants: tenants, CompleteAfter: *completeAfter, Logger: log, Faults: faults,
		// nil, not empty, when no flag is given: the emulator then accepts
		// any token.
		CloudflareZones: zones, CloudflareTokens: cfTokens, FastlyServices: services, FastlyTokens: fastlyTokens,
	})
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
	if len(zones) > 0 {
		cloudflareBanner(ln.Addr().String(), zones, len(cfTokens)).print(e.stdout)
	}
	if len(services) > 0 {
		fastlyBanner(ln.Addr().String(), services, len(fastlyTokens)).print(e.stdout)
	}
	if rates != (emulator.FaultRates{}) {
		ops := *faultOps
		if ops == "" {
			ops = "all operations"
		}
		fmt.Fprintf(e.stdout, "Injecting faults into %s: 503 %g, Throttling (429 with Retry-After on Cloudflare and Fastly) %g, "+
			"TooManyInvalidationsInProgress %g, latency %s + up to %s (seed %d)\n",
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
		log.Info("emulator injected faults", "requests", c.Requests, "unavailable", c.Unavailable,
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

// faultOperations are the operations --fault-operations takes: CloudFront's,
// Fastly's and Cloudflare's purge.
func faultOperations() []string {
	return slices.Concat(emulator.Operations(), emulator.FastlyOperations(), []string{emulator.OpCloudflarePurgeCache})
}

// apiBanner is what emulate's banner says of one of the providers' APIs it
// emulates: where it is, how to point cdnpurge at it, and a curl line in
// the provider's own wire format. The tokens are never printed.
type apiBanner struct {
	provider    string   // "Cloudflare"
	endpoint    string   // the API's base URL
	envEndpoint string   // the variable that points cdnpurge at it
	noun        string   // what ids are: "zones"
	ids         []string // the zones or services that exist
	tokenFlag   string   // the flag that restricts the tokens
	tokens      int      // how many were given; 0: any is accepted
	// tokenVar holds the token in the curl line when tokens are
	// restricted; localToken stands in when any is accepted.
	tokenVar, localToken string
	// target is a targets-file entry for it, %s the first ID; curl the
	// curl line, %[1]s the endpoint, %[2]s the first ID, %[3]s the token.
	target, curl string
}

func (b apiBanner) print(w io.Writer) {
	token, accepted := b.localToken, "any API token accepted"
	if b.tokens > 0 {
		token, accepted = "$"+b.tokenVar, fmt.Sprintf("only the %s given with %s", count(b.tokens, "token", "tokens"), b.tokenFlag)
	}
	fmt.Fprintf(w, "%s API on %s (%s: %s; %s)\n  point cdnpurge at it: %s=1 %s=%s, with a target such as\n    %s\n  %s\n",
		b.provider, b.endpoint, b.noun, strings.Join(b.ids, ", "), accepted,
		config.EnvDevAllowLoopback, b.envEndpoint, b.endpoint,
		fmt.Sprintf(b.target, b.ids[0]), fmt.Sprintf(b.curl, b.endpoint, b.ids[0], token))
}

// cloudflareBanner is the banner of the emulated Cloudflare API at addr.
func cloudflareBanner(addr string, zones []string, tokens int) apiBanner {
	return apiBanner{
		provider: "Cloudflare", endpoint: "http://" + addr + "/client/v4", envEndpoint: config.EnvCloudflareEndpoint,
		noun: "zones", ids: zones, tokenFlag: "--cloudflare-token", tokens: tokens,
		tokenVar: "CLOUDFLARE_API_TOKEN", localToken: "local-cloudflare-token",
		target: "{name: cf, provider: cloudflare, zone: %s, token_env: CLOUDFLARE_API_TOKEN, domains: [www.example.com], channels: [deploys]}",
		curl: `curl -X POST %s/zones/%s/purge_cache -H "Authorization: Bearer %s" -H 'Content-Type: application/json' ` +
			`--data '{"files":["https://www.example.com/index.html"]}'`,
	}
}

// fastlyBanner is the banner of the emulated Fastly API at addr.
func fastlyBanner(addr string, services []string, tokens int) apiBanner {
	return apiBanner{
		provider: "Fastly", endpoint: "http://" + addr, envEndpoint: config.EnvFastlyEndpoint,
		noun: "services", ids: services, tokenFlag: "--fastly-token", tokens: tokens,
		tokenVar: "FASTLY_API_TOKEN", localToken: "local-fastly-token",
		target: "{name: fastly, provider: fastly, service: %s, token_env: FASTLY_API_TOKEN, domains: [www.example.com], channels: [deploys]}",
		curl:   `curl -X POST %s/service/%s/purge -H "Fastly-Key: %s" -H 'Content-Type: application/json' --data '{"surrogate_keys":["news"]}'`,
	}
}
