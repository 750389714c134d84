package main

// -compare: three Lambdas under aws-lambda-rie against one moto_server, in
// the same run, interleaved.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The placeholder credentials every Lambda gets, in the variables Lambda
// sets; moto_server checks no signature.
const (
	placeholderKeyID  = "AKIACOLDSTARTEXAMPLE"
	placeholderSecret = "coldstart-placeholder-secret"
	placeholderToken  = "coldstart-placeholder-session-token"
)

// lambdaUnderTest is one of the Lambdas -compare measures.
type lambdaUnderTest struct {
	name    string
	command []string // the runtime RIE starts: a bootstrap and its arguments
	dir     string   // the runtime's working directory; "" for this one
	// env is the Lambda's own configuration, given the distribution it
	// purges, moto_server's URL and the stand-in's.
	env func(dist, moto, standIn string) []string
}

// runCompare measures the floor, cdnpurge and the tutorial's Lambda: runs
// times each, interleaved (run i starts with the Lambda i mod 3), each run
// with a fresh RIE and a fresh distribution in the one moto_server, so that
// a Lambda's ListInvalidations reads only its own run's invalidations (moto
// has no paging and would otherwise answer with a growing list).
func runCompare(runs, warm int) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	rie, err := testutil.FindRIE()
	if err != nil {
		return err
	}
	python, err := findPython()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cdnpurge-coldstart-")
	if err != nil {
		return err
	}
	defer whileRunning(func() { os.RemoveAll(tmp) })()
	bootstrap, floor := filepath.Join(tmp, "bootstrap"), filepath.Join(tmp, "floor")
	if err := build(root, "./cmd/cdnpurge", bootstrap); err != nil {
		return err
	}
	if err := build(root, "./scripts/coldstart/testdata/floor", floor); err != nil {
		return err
	}
	// The tutorial's files are copied out, so that nothing is written into
	// the source tree.
	tutorial := filepath.Join(tmp, "tutorial")
	if err := os.Mkdir(tutorial, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"bootstrap.py", "tutorial.py"} {
		b, err := os.ReadFile(filepath.Join(root, "scripts", "coldstart", "testdata", "tutorial", name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tutorial, name), b, 0o644); err != nil {
			return err
		}
	}
	fixture, err := os.ReadFile(filepath.Join(root, "cmd", "cdnpurge", "testdata", "function_url_event.json"))
	if err != nil {
		return err
	}

	moto, stopMoto, err := testutil.StartMoto()
	if err != nil {
		return err
	}
	defer whileRunning(stopMoto)()
	si, err := startStandIn()
	if err != nil {
		return err
	}
	defer whileRunning(si.close)()

	lambdas := []lambdaUnderTest{
		{name: "floor", command: []string{floor}, env: func(dist, moto, _ string) []string {
			return []string{"DISTRIBUTION_ID=" + dist, "AWS_ENDPOINT_URL_CLOUDFRONT=" + moto}
		}},
		{name: "cdnpurge", command: []string{bootstrap}, env: func(dist, moto, standIn string) []string {
			return []string{
				"CDNPURGE_DISTRIBUTION_ID=" + dist,
				"CDNPURGE_SLACK_SIGNING_SECRET=" + signingSecret,
				"CDNPURGE_SLACK_CHANNEL=deploys",
				"CDNPURGE_SLACK_WEBHOOK_URL=" + standIn + webhookPath,
				"CDNPURGE_DEV_ALLOW_LOOPBACK=1", // the webhook and response_url are the stand-in
				"CDNPURGE_CLOUDFRONT_ENDPOINT=" + moto,
				// The follow-up's self-invocation (Lambda Invoke), by
				// cdnpurge's setting and by the SDK's.
				"CDNPURGE_LAMBDA_ENDPOINT=" + standIn, "AWS_ENDPOINT_URL_LAMBDA=" + standIn,
			}
		}},
		{name: "tutorial", command: []string{python, filepath.Join(tutorial, "bootstrap.py")}, dir: tutorial,
			env: func(dist, moto, standIn string) []string {
				return []string{
					"DISTRIBUTION_ID=" + dist, "SIGNING_KEY=" + signingSecret, "SLACK_CHANNEL=deploys",
					"SLACK_URL=" + standIn + webhookPath, "AWS_ENDPOINT_URL_CLOUDFRONT=" + moto,
					"_HANDLER=tutorial.handler", "PYTHONDONTWRITEBYTECODE=1",
				}
			}},
	}
	fmt.Printf("aws-lambda-rie %s; moto_server %s; %s\n%d runs, %d warm invokes each, interleaved; a fresh RIE and moto distribution for each\n",
		rie, moto, python, runs, warm)
	all := map[string][]sample{}
	seen := map[string]standInCounts{}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(placeholderKeyID, placeholderSecret, "")}
	for i := range runs {
		for k := range lambdas {
			l := lambdas[(i+k)%len(lambdas)]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			dist, err := testutil.CreateDistribution(ctx, cfg, moto)
			cancel()
			if err != nil {
				return fmt.Errorf("moto_server: %w", err)
			}
			before := si.counts()
			s, err := measureLambda(rie, l, dist, moto, si.url, fixture, warm, i)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", l.name, i+1, err)
			}
			seen[l.name] = seen[l.name].add(si.counts().sub(before))
			all[l.name] = append(all[l.name], s)
			fmt.Printf("  run %d %-9s cold %7.2f ms (init %6.2f ms, first invoke %6.2f ms), warm median %6.2f ms\n",
				i+1, l.name, ms(s.cold), ms(s.init), ms(s.first), ms(median(s.warm)))
		}
	}
	printComparison(all, seen, runs, warm)
	return nil
}

// measureLambda runs l once under a fresh RIE: the cold invoke and warm more.
func measureLambda(rie string, l lambdaUnderTest, dist, moto, standIn string, fixture []byte, warm, run int) (sample, error) {
	var s sample
	env := append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + placeholderKeyID, "AWS_SECRET_ACCESS_KEY=" + placeholderSecret, "AWS_SESSION_TOKEN=" + placeholderToken,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_LAMBDA_FUNCTION_NAME=coldstart-" + l.name,
	}, l.env(dist, moto, standIn)...)
	fn, err := startRIE(rie, l.command, l.dir, env)
	if err != nil {
		return s, err
	}
	defer fn.stop()
	if err := fn.invokes(fixture, warm, run, standIn+responsePath, &s); err != nil {
		return s, err
	}
	return s, fn.reports(&s)
}

// printComparison prints the table: cold and warm, median over the runs and
// [min..max], and cdnpurge's ratio to the floor; then what the stand-in saw.
func printComparison(all map[string][]sample, seen map[string]standInCounts, runs, warm int) {
	cold := func(s sample) time.Duration { return s.cold }
	warmMedian := func(s sample) time.Duration { return median(s.warm) }
	pick := func(name string, f func(sample) time.Duration) []time.Duration {
		var out []time.Duration
		for _, s := range all[name] {
			out = append(out, f(s))
		}
		return out
	}
	cell := func(ds []time.Duration) string {
		return fmt.Sprintf("%7.2f ms [%.2f..%.2f]", ms(median(ds)), ms(slices.Min(ds)), ms(slices.Max(ds)))
	}
	fmt.Printf("\nmedian of %d runs [min..max over the runs]; warm: each run's median of %d warm invokes\n", runs, warm)
	fmt.Printf("  %-9s  %-32s  %-32s\n", "", "cold (first invoke)", "warm")
	for _, name := range []string{"floor", "cdnpurge", "tutorial"} {
		fmt.Printf("  %-9s  %-32s  %-32s\n", name, cell(pick(name, cold)), cell(pick(name, warmMedian)))
	}
	ratio := func(f func(sample) time.Duration) float64 {
		return float64(median(pick("cdnpurge", f))) / float64(median(pick("floor", f)))
	}
	fmt.Printf("  cdnpurge / floor: cold %.2fx, warm %.2fx (target: at most 1.35x cold, 1.3x warm)\n", ratio(cold), ratio(warmMedian))
	fmt.Println("\nthe loopback stand-in for Slack and Lambda received, per Lambda over all its invokes:")
	for _, name := range []string{"floor", "cdnpurge", "tutorial"} {
		c := seen[name]
		fmt.Printf("  %-9s  %d webhook posts, %d response_url posts, %d Lambda Invoke calls (self-invocations), %d other\n",
			name, c.webhook, c.response, c.invoke, c.other)
	}
}

// findPython returns the path of the python3 that has boto3, resolved past
// shims (pyenv) so that it runs with a clean environment.
func findPython() (string, error) {
	path, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("python3 not found: %w", err)
	}
	out, err := exec.Command(path, "-c", "import sys, boto3; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("python3 with boto3 (the tutorial's Lambda needs it): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// The stand-in's paths: the audit webhook and response_url (Slack), and
// Lambda's Invoke API, POST /2015-03-31/functions/{name}/invocations.
const (
	webhookPath  = "/services/T0001/B0001/WEBHOOKTOKEN"
	responsePath = "/commands/T0001/1/RESPONSETOKEN"
)

// standIn answers, on loopback, what the Lambdas call besides CloudFront:
// Slack's webhook and response_url (200 "ok") and Lambda's asynchronous
// Invoke (202 with an empty body, as Lambda answers InvocationType Event).
type standIn struct {
	url                              string
	srv                              *http.Server
	webhook, response, invoke, other atomic.Int64
}

// standInCounts is what a standIn received.
type standInCounts struct{ webhook, response, invoke, other int64 }

func (a standInCounts) add(b standInCounts) standInCounts {
	return standInCounts{a.webhook + b.webhook, a.response + b.response, a.invoke + b.invoke, a.other + b.other}
}

func (a standInCounts) sub(b standInCounts) standInCounts {
	return standInCounts{a.webhook - b.webhook, a.response - b.response, a.invoke - b.invoke, a.other - b.other}
}

func startStandIn() (*standIn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	si := &standIn{url: "http://" + ln.Addr().String()}
	si.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == webhookPath:
			si.webhook.Add(1)
			w.Write([]byte("ok"))
		case r.Method == http.MethodPost && r.URL.Path == responsePath:
			si.response.Add(1)
			w.Write([]byte("ok"))
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") && strings.HasSuffix(r.URL.Path, "/invocations"):
			si.invoke.Add(1)
			w.WriteHeader(http.StatusAccepted)
		default:
			si.other.Add(1)
			http.NotFound(w, r)
		}
	})}
	go si.srv.Serve(ln)
	return si, nil
}

func (si *standIn) counts() standInCounts {
	return standInCounts{si.webhook.Load(), si.response.Load(), si.invoke.Load(), si.other.Load()}
}

func (si *standIn) close() { si.srv.Close() }
