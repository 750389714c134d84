// Command loadgen sends correctly signed /cdn-purge slash commands to a
// cdnpurge server, as fast as a bounded number of workers can, and then
// proves that nothing was lost or done twice: every command the channel was
// told had started has exactly one invalidation in the CloudFront emulator,
// and there is no other.
//
// It runs in one of two modes:
//
//	loadgen --spawn [--bin ./cdnpurge] [--fail-rate 0.3] ...
//	    runs `cdnpurge emulate` (invalidations complete at once) and
//	    `cdnpurge serve` pointed at it, with a random signing secret, as
//	    child processes on 127.0.0.1, and stops them at the end. Without
//	    --bin it builds cdnpurge into a temporary directory with `go build`.
//	loadgen --target http://127.0.0.1:8080 --secret S [--cloudfront-endpoint URL]
//	    loads a `cdnpurge serve` already running; with --cloudfront-endpoint
//	    (its emulator) it also reconciles.
//
// Every address must be on loopback (127.0.0.0/8, ::1 or localhost): loadgen
// refuses any other target and its client dials nothing else. A run is
// bounded in count (--count) and time (--max-duration): no command is sent
// after the time is up, and those in flight finish within 10 s.
//
// It reports the commands sent, throughput, reply latency percentiles,
// status codes, replies by kind (in-channel start, ephemeral warning or
// error), the CloudFront calls per purge that the emulator counted while
// the load was sent (ListInvalidations and GetInvalidation included, the
// reconciliation's own reads not) and the reconciliation, as text or, with -json, as one JSON
// object. It exits 1 when the reconciliation fails and 2 on a usage mistake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	spawn      bool
	bin        string
	target     string
	secret     string
	cfEndpoint string
	dist       string
	channel    string

	count       int
	concurrency int
	maxDuration time.Duration
	paths       int
	timeout     time.Duration
	reconcileBy time.Duration
	json        bool
	verbose     bool

	// Passed to the spawned emulator.
	failRate, throttleRate, busyRate float64
	latency, latencyJitter           time.Duration
	seed                             uint64
	faultOps                         string
}

// errUsage marks a command-line mistake: exit code 2.
var errUsage = errors.New("usage")

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `loadgen: a bounded load generator for cdnpurge, on loopback only.

Usage:
  loadgen --spawn [--bin PATH] [flags]                  run the emulator and the server as children
  loadgen --target URL --secret S [--cloudfront-endpoint URL] [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.spawn, "spawn", false, "run cdnpurge emulate and cdnpurge serve as child processes on 127.0.0.1")
	fs.StringVar(&o.bin, "bin", "", "the cdnpurge `binary` for --spawn; empty: go build it into a temporary directory")
	fs.StringVar(&o.target, "target", "", "base `URL` of a running cdnpurge serve (loopback only)")
	fs.StringVar(&o.secret, "secret", "", "the target's Slack signing secret (CDNPURGE_SLACK_SIGNING_SECRET); also read from $LOADGEN_SECRET")
	fs.StringVar(&o.cfEndpoint, "cloudfront-endpoint", "", "with --target: the CloudFront emulator the target uses, to reconcile against (loopback only)")
	fs.StringVar(&o.dist, "distribution", "EDFDVBD6EXAMPLE", "the distribution ID the target purges")
	fs.StringVar(&o.channel, "channel", "C0LOADGEN1", "the channel the commands come from (ID and name); with --target, one it allows")
	fs.IntVar(&o.count, "count", 5000, "commands to send")
	fs.IntVar(&o.concurrency, "concurrency", 32, "commands in flight at once")
	fs.DurationVar(&o.maxDuration, "max-duration", 60*time.Second, "send no command after this long (hard stop; those in flight finish)")
	fs.IntVar(&o.paths, "paths-per-command", 1, "paths each command purges")
	fs.DurationVar(&o.timeout, "request-timeout", 10*time.Second, "give up on one reply after this long")
	fs.DurationVar(&o.reconcileBy, "reconcile-timeout", 60*time.Second, "bound on reading the emulator back")
	fs.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fs.BoolVar(&o.verbose, "v", false, "copy the children's log lines to stderr")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "--spawn: share of emulator requests answered 503 ServiceUnavailable")
	fs.Float64Var(&o.throttleRate, "throttle-rate", 0, "--spawn: share answered 400 Throttling")
	fs.Float64Var(&o.busyRate, "busy-rate", 0, "--spawn: share of CreateInvalidation answered TooManyInvalidationsInProgress")
	fs.DurationVar(&o.latency, "latency", 0, "--spawn: delay the emulator adds to every request")
	fs.DurationVar(&o.latencyJitter, "latency-jitter", 0, "--spawn: a further random delay in [0, D)")
	fs.Uint64Var(&o.seed, "seed", 1, "--spawn: seed of the emulator's faults")
	fs.StringVar(&o.faultOps, "fault-operations", "", "--spawn: operations the faults apply to, comma-separated; empty for all")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.secret == "" {
		o.secret = os.Getenv("LOADGEN_SECRET")
	}
	faultSet := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "fail-rate", "throttle-rate", "busy-rate", "latency", "latency-jitter", "seed", "fault-operations":
			faultSet = true
		}
	})
	var errs []error
	switch {
	case o.spawn && o.target != "":
		errs = append(errs, errors.New("--spawn and --target exclude each other"))
	case !o.spawn && o.target == "":
		errs = append(errs, errors.New("give --spawn or --target"))
	case o.target != "":
		if o.secret == "" {
			errs = append(errs, errors.New("--target needs --secret (or $LOADGEN_SECRET)"))
		}
		if faultSet {
			errs = append(errs, errors.New("fault flags configure the spawned emulator: they need --spawn"))
		}
		if err := checkLoopbackURL(o.target); err != nil {
			errs = append(errs, fmt.Errorf("--target: %w", err))
		}
		if o.cfEndpoint != "" {
			if err := checkLoopbackURL(o.cfEndpoint); err != nil {
				errs = append(errs, fmt.Errorf("--cloudfront-endpoint: %w", err))
			}
		}
	}
	if o.count < 1 || o.concurrency < 1 || o.paths < 1 || o.paths > 3000 {
		errs = append(errs, errors.New("--count and --concurrency must be at least 1, --paths-per-command 1 to 3000"))
	}
	if o.maxDuration <= 0 || o.timeout <= 0 || o.reconcileBy <= 0 {
		errs = append(errs, errors.New("durations must be positive"))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("%w: %w", errUsage, errors.Join(errs...))
	}
	return o, nil
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	rep, err := loadAndReconcile(ctx, o, stderr)
	if rep != nil {
		if o.json {
			err = errors.Join(err, rep.writeJSON(stdout))
		} else {
			rep.writeText(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	if rep.Reconciliation.Checked && !rep.Reconciliation.OK {
		fmt.Fprintln(stderr, "loadgen: reconciliation failed")
		return 1
	}
	return 0
}

// loadAndReconcile starts the children (with --spawn), sends the load,
// reads the emulator back, and stops the children.
func loadAndReconcile(ctx context.Context, o options, stderr io.Writer) (*report, error) {
	rep := &report{Mode: "target", Commands: o.count, Concurrency: o.concurrency, PathsPerCommand: o.paths}
	target, secret, cfEndpoint := o.target, o.secret, o.cfEndpoint
	var kids *children
	if o.spawn {
		rep.Mode = "spawn"
		var err error
		kids, err = spawn(ctx, o, stderr)
		if err != nil {
			return nil, err
		}
		defer kids.stop()
		target, secret, cfEndpoint = kids.serveURL, kids.secret, kids.emulatorURL
		rep.Faults = kids.faults
	}
	rep.Target = target
	client := newLoopbackClient(o.concurrency, o.timeout)

	// The emulator's counts before and after the load, before the
	// reconciliation reads it back with calls of its own.
	var callsBefore, callsAfter map[string]int
	var callsErr error
	if cfEndpoint != "" {
		callsBefore, callsErr = readCalls(ctx, client, cfEndpoint)
	}
	before := cpuNow(kids)
	res := sendLoad(ctx, client, loadSpec{
		target: target, secret: secret, channel: o.channel, count: o.count, concurrency: o.concurrency,
		paths: o.paths, deadline: time.Now().Add(o.maxDuration), runID: randomHex(4),
	})
	rep.fill(res)
	rep.CPU = cpuSince(before, cpuNow(kids), res.elapsed)
	if cfEndpoint != "" {
		if callsErr == nil {
			callsAfter, callsErr = readCalls(ctx, client, cfEndpoint)
		}
		rep.CloudFront = callsDuring(callsBefore, callsAfter, callsErr, res.started)
	}
	// Connections dialed but never used would hold a server's graceful
	// shutdown for 5 s (net/http treats them as busy until then).
	client.CloseIdleConnections()

	if cfEndpoint == "" {
		rep.Reconciliation.Skipped = "no --cloudfront-endpoint to read the invalidations back from"
		return rep, nil
	}
	rctx, cancel := context.WithTimeout(ctx, o.reconcileBy)
	defer cancel()
	rclient := newLoopbackClient(32, o.timeout)
	rec, err := reconcile(rctx, rclient, cfEndpoint, o.dist, res)
	rclient.CloseIdleConnections()
	rep.Reconciliation = rec
	if err != nil {
		return rep, fmt.Errorf("reading the emulator back: %w", err)
	}
	if kids != nil {
		kids.stop()
		rep.InjectedFaults = kids.injected()
	}
	return rep, nil
}
