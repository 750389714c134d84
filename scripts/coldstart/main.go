// Command coldstart measures the Lambda bootstrap's cold start and warm
// invokes under aws-lambda-rie, the Lambda runtime emulator, against the
// CloudFront emulator, on loopback only.
//
//	go run ./scripts/coldstart [-runs 10] [-warm 20] [-baseline] [-targets]
//	go run ./scripts/coldstart -compare [-runs 9] [-warm 27]
//	go run ./scripts/coldstart -secrets [-runs 10] [-warm 20]
//
// It builds the bootstrap as deploy/build does (buildtags.Lambda, -trimpath,
// -s -w, no build ID or VCS stamp, CGO_ENABLED=0), for this machine's
// architecture so that it runs here. Each run starts a fresh emulator
// (`bootstrap emulate`) and a fresh aws-lambda-rie, sends one signed
// /cdn-purge as a Function URL event (the cold invoke: RIE starts the
// runtime on the first invoke), then -warm more, each with its own
// trigger_id, so that each creates an invalidation. It prints, per run and
// as median [min..max] over the runs:
//
//   - cold: the first invoke as the client sees it (RIE's HTTP API included);
//   - init: RIE's INIT REPORT, from starting the process to its first
//     request for an event (Go runtime, package init, configuration, SDK
//     clients);
//   - first: RIE's INVOKE RTDONE duration of the first invoke, the handler
//     from the event to its response;
//   - warm: the later invokes as the client sees them.
//
// With -baseline it does the same for a Lambda that only answers (its
// source is testdata/hello), the floor of RIE and a Go process. For
// cdnpurge it also prints the CloudFront calls per purge that the emulator
// counted (emulator.CallsPath): CreateInvalidation, ListInvalidations and
// GetInvalidation, each divided by the invokes.
//
// With -compare (defaults -runs 9 -warm 27) it measures three Lambdas in
// the same run against one moto_server, interleaved, each run with a fresh
// RIE and a fresh moto distribution:
//
//   - floor: testdata/floor, built as the bootstrap is, one
//     CreateInvalidation per event and nothing else;
//   - cdnpurge: the bootstrap, with a loopback stand-in as the audit
//     webhook, the response_url and Lambda's Invoke API (the follow-up's
//     self-invocation, answered 202);
//   - tutorial: testdata/tutorial, the tutorial's Python handler with boto3,
//     under a minimal Python runtime standing in for awslambdaric, the
//     webhook on the stand-in.
//
// It prints cold (the first invoke) and warm (each run's median of the warm
// invokes) as the median of the runs [min..max], cdnpurge's ratio to the
// floor, and what the stand-in received.
//
// With -secrets it measures cdnpurge twice, back to back: with the
// signing secret in its environment, then with
// CDNPURGE_SLACK_SIGNING_SECRET_ARN naming a secret in moto_server as
// Secrets Manager (AWS_ENDPOINT_URL_SECRETS_MANAGER), read at init.
//
// aws-lambda-rie must be installed (see README.md, Tests); -compare also
// needs moto_server and python3 with boto3. Everything listens on
// 127.0.0.1 and is stopped at the end, on failure too.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cdnpurge/cdnpurge/internal/buildtags"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

const (
	distributionID = "EDFDVBD6EXAMPLE"
	signingSecret  = "coldstart-signing-secret-0123456" // 32 characters, as Slack's are
)

func main() {
	runs := flag.Int("runs", 0, "cold starts to measure, each with a fresh RIE and emulator (default 10, with -compare 9)")
	warm := flag.Int("warm", 0, "warm invokes after each cold one (default 20, with -compare 27)")
	baseline := flag.Bool("baseline", false, "also measure a Lambda that only answers (testdata/hello)")
	compare := flag.Bool("compare", false, "measure the floor (testdata/floor), cdnpurge and the tutorial's Python Lambda (testdata/tutorial) side by side against moto_server")
	secrets := flag.Bool("secrets", false, "measure cdnpurge with the signing secret in its environment, then read from moto_server as Secrets Manager (CDNPURGE_SLACK_SIGNING_SECRET_ARN)")
	flag.BoolVar(&withTargets, "targets", false, "configure three targets inline (CDNPURGE_CONFIG_YAML), the default one on the emulated distribution, as a multi-target stack does")
	flag.Parse()
	if *compare {
		*runs, *warm = cmp.Or(*runs, 9), cmp.Or(*warm, 27)
	} else {
		*runs, *warm = cmp.Or(*runs, 10), cmp.Or(*warm, 20)
	}
	if *runs < 1 || *warm < 1 || *compare && (*baseline || withTargets || *secrets) {
		fmt.Fprintln(os.Stderr, "coldstart: -runs and -warm must be at least 1; -compare measures its own three Lambdas, without -baseline or -targets")
		os.Exit(2)
	}
	stopOnSignal()
	var err error
	if *compare {
		err = runCompare(*runs, *warm)
	} else {
		err = run(*runs, *warm, *baseline, *secrets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(runs, warm int, baseline, secrets bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	rie, err := testutil.FindRIE()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cdnpurge-coldstart-")
	if err != nil {
		return err
	}
	defer whileRunning(func() { os.RemoveAll(tmp) })()
	bootstrap := filepath.Join(tmp, "bootstrap")
	if err := build(root, "./cmd/cdnpurge", bootstrap); err != nil {
		return err
	}
	fixture, err := os.ReadFile(filepath.Join(root, "cmd", "cdnpurge", "testdata", "function_url_event.json"))
	if err != nil {
		return err
	}
	fi, _ := os.Stat(bootstrap)
	fmt.Printf("bootstrap %s/%s, %d bytes; aws-lambda-rie %s; %d runs, %d warm invokes each\n",
		runtime.GOOS, runtime.GOARCH, fi.Size(), rie, runs, warm)
	if err := measure("cdnpurge", bootstrap, rie, fixture, runs, warm, true); err != nil {
		return err
	}
	if secrets {
		moto, stop, err := testutil.StartMoto()
		if err != nil {
			return err
		}
		defer whileRunning(stop)()
		arn, err := createSigningSecret(moto)
		if err != nil {
			return err
		}
		secretEnv = []string{"CDNPURGE_SLACK_SIGNING_SECRET=", "CDNPURGE_SLACK_SIGNING_SECRET_ARN=" + arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + moto}
		if err := measure("cdnpurge, signing secret from Secrets Manager (moto_server)", bootstrap, rie, fixture, runs, warm, true); err != nil {
			return err
		}
	}
	if baseline {
		hello := filepath.Join(tmp, "hello")
		if err := build(root, "./scripts/coldstart/testdata/hello", hello); err != nil {
			return err
		}
		return measure("baseline (testdata/hello)", hello, rie, fixture, runs, warm, false)
	}
	return nil
}

// build compiles pkg as deploy/build does, for this machine.
func build(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-tags", strings.Join(buildtags.Lambda(), ","), "-trimpath", "-ldflags", "-s -w -buildid=",
		"-buildvcs=false", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	// An interrupt kills the build, which would write into the temporary
	// directory after it is removed.
	stop := whileRunning(func() { cmd.Process.Kill() })
	err := cmd.Wait()
	stop()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, output.String())
	}
	return nil
}

type sample struct {
	cold, init, first time.Duration
	warm              []time.Duration
	// calls are the emulator's counts of requests per operation at the end
	// of the run, over purges invokes; nil without an emulator, or when it
	// reports none.
	calls  map[string]int
	purges int
}

func measure(name, bootstrap, rie string, fixture []byte, runs, warm int, emulated bool) error {
	fmt.Printf("\n%s\n", name)
	var all []sample
	for i := range runs {
		s, err := once(bootstrap, rie, fixture, warm, emulated, i)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		all = append(all, s)
		fmt.Printf("  run %2d: cold %6.2f ms (init %5.2f ms, first invoke %5.2f ms), warm median %5.2f ms\n",
			i+1, ms(s.cold), ms(s.init), ms(s.first), ms(median(s.warm)))
	}
	pick := func(f func(sample) time.Duration) []time.Duration {
		var out []time.Duration
		for _, s := range all {
			out = append(out, f(s))
		}
		return out
	}
	var warms []time.Duration
	for _, s := range all {
		warms = append(warms, s.warm...)
	}
	fmt.Printf("  cold start (first invoke, client-side): median %6.2f ms  range %s\n", ms(median(pick(func(s sample) time.Duration { return s.cold }))), span(pick(func(s sample) time.Duration { return s.cold })))
	fmt.Printf("    init (RIE INIT REPORT):               median %6.2f ms  range %s\n", ms(median(pick(func(s sample) time.Duration { return s.init }))), span(pick(func(s sample) time.Duration { return s.init })))
	fmt.Printf("    first invoke (RIE RTDONE):            median %6.2f ms  range %s\n", ms(median(pick(func(s sample) time.Duration { return s.first }))), span(pick(func(s sample) time.Duration { return s.first })))
	fmt.Printf("  warm invoke (client-side, %d invokes): median %6.2f ms  range %s\n", len(warms), ms(median(warms)), span(warms))
	if emulated {
		fmt.Printf("  CloudFront calls per purge (emulator): %s\n", callsPerPurge(all))
	}
	return nil
}

// callsPerPurge is the emulator's count of each invalidation operation over
// the runs, divided by the purges (invokes) made.
func callsPerPurge(all []sample) string {
	total, purges := map[string]int{}, 0
	for _, s := range all {
		if s.calls == nil {
			return "not reported by the emulator"
		}
		for op, n := range s.calls {
			total[op] += n
		}
		purges += s.purges
	}
	var parts []string
	sum := 0
	for _, op := range []string{emulator.OpCreateInvalidation, emulator.OpListInvalidations, emulator.OpGetInvalidation} {
		parts = append(parts, fmt.Sprintf("%s %.2f", op, float64(total[op])/float64(purges)))
		sum += total[op]
	}
	return fmt.Sprintf("%s; %.2f in all (%d purges)", strings.Join(parts, ", "), float64(sum)/float64(purges), purges)
}

var (
	initRE   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	rtdoneRE = regexp.MustCompile(`INVOKE RTDONE\(status: success, produced bytes: \d+, duration: ([0-9.]+)ms\)`)
)

// withTargets makes every run configure targetsYAML.
var withTargets bool

// secretEnv, when set, replaces the signing secret in every run's
// environment with its ARN and Secrets Manager's endpoint (-secrets).
var secretEnv []string

// createSigningSecret stores signingSecret in moto_server as a Secrets
// Manager secret and returns its ARN.
func createSigningSecret(moto string) (string, error) {
	cfg := testutil.AWSConfig()
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(moto) })
	out, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("cdnpurge/coldstart-signing"), SecretString: aws.String(signingSecret)})
	if err != nil {
		return "", fmt.Errorf("CreateSecret: %w", err)
	}
	return aws.ToString(out.ARN), nil
}

// targetsYAML is three targets in two channels; the commands go to the
// default, www.
const targetsYAML = `default: www
targets:
  - name: www
    distribution: ` + distributionID + `
    domains: [www.example.com]
    channels: [deploys]
    confirm: full-purge
  - name: docs
    distribution: E3DOCSEXAMPLE1
    domains: [docs.example.com]
    channels: [docs]
    users: [U0ALICE001]
    paths: ["/guide/*", "/api/*"]
  - name: shop
    tenant: dt_shopexample
    domains: [shop.example.net]
    channels: [deploys]
`

// once runs one fresh emulator and RIE, one cold invoke and warm ones.
func once(bootstrap, rie string, fixture []byte, warm int, emulated bool, run int) (sample, error) {
	var s sample
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"CDNPURGE_DISTRIBUTION_ID=" + distributionID,
		"CDNPURGE_SLACK_SIGNING_SECRET=" + signingSecret,
		"CDNPURGE_SLACK_CHANNEL=deploys",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
	}
	if withTargets {
		env = append(env, "CDNPURGE_CONFIG_YAML="+targetsYAML)
	}
	// Later entries win: the signing secret's empty value replaces it.
	env = append(env, secretEnv...)
	var emuURL string
	if emulated {
		emuAddr, err := testutil.FreeAddr()
		if err != nil {
			return s, err
		}
		emu := exec.Command(bootstrap, "emulate", "--addr", emuAddr, "--distribution", distributionID, "--complete-after", "1h")
		emu.Env = env
		if err := emu.Start(); err != nil {
			return s, err
		}
		defer whileRunning(func() {
			emu.Process.Kill()
			emu.Wait()
		})()
		if err := testutil.WaitListening(emuAddr); err != nil {
			return s, err
		}
		emuURL = "http://" + emuAddr
		env = append(env, "CDNPURGE_CLOUDFRONT_ENDPOINT="+emuURL)
	}
	fn, err := startRIE(rie, []string{bootstrap}, "", env)
	if err != nil {
		return s, err
	}
	defer fn.stop()
	if err := fn.invokes(fixture, warm, run, refusedResponseURL, &s); err != nil {
		return s, err
	}
	if emulated {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if calls, err := emulator.ReadCalls(ctx, http.DefaultClient, emuURL); err == nil {
			s.calls, s.purges = calls, warm+1
		}
	}
	return s, fn.reports(&s)
}

// function is a Lambda function running under its own aws-lambda-rie.
type function struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	logs      *lineLog
	invokeURL string
	// stop kills RIE and the runtime under it (their process group), and
	// waits for RIE to exit.
	stop func()
}

// startRIE starts aws-lambda-rie on free loopback ports with command as the
// runtime (the bootstrap and its arguments), in dir ("" for this
// directory), with env, and waits until it listens.
func startRIE(rie string, command []string, dir string, env []string) (*function, error) {
	rieAddr, err := testutil.FreeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := testutil.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, "--log-level", "info"}, command...)
	f := &function{cmd: exec.Command(rie, args...), exited: make(chan struct{}), logs: &lineLog{},
		invokeURL: "http://" + rieAddr + "/2015-03-31/functions/function/invocations"}
	f.cmd.Dir, f.cmd.Env = dir, env
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	// Its own process group, so that stop ends the runtime it started too.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { f.cmd.Wait(); close(f.exited) }()
	f.stop = whileRunning(func() {
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.exited
	})
	if err := testutil.WaitListening(rieAddr); err != nil {
		f.stop()
		return nil, fmt.Errorf("%w\n%s", err, f.logs.String())
	}
	return f, nil
}

// invokes sends the cold invoke and warm more, each a signed /cdn-purge
// with its own trigger_id and the given response_url, checks each answer,
// and records the client-side times in s.
func (f *function) invokes(fixture []byte, warm, run int, responseURL string, s *sample) error {
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i <= warm; i++ {
		payload, err := signedEvent(fixture, fmt.Sprintf("coldstart.%d.%d.%d", time.Now().UnixNano(), run, i), responseURL)
		if err != nil {
			return err
		}
		start := time.Now()
		resp, err := client.Post(f.invokeURL, "application/json", bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("invoke %d: %w\n%s", i, err, f.logs.String())
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return err
		}
		if err := checkReply(raw); err != nil {
			return fmt.Errorf("invoke %d: %w\n%s", i, err, f.logs.String())
		}
		if i == 0 {
			s.cold = took
		} else {
			s.warm = append(s.warm, took)
		}
	}
	return nil
}

// reports reads RIE's INIT REPORT and the first INVOKE RTDONE into s.
func (f *function) reports(s *sample) error {
	// RIE logs the reports just after it answers.
	deadline := time.Now().Add(2 * time.Second)
	for {
		text := f.logs.String()
		initM, doneM := initRE.FindStringSubmatch(text), rtdoneRE.FindStringSubmatch(text)
		if initM != nil && doneM != nil {
			s.init = parseMS(initM[1])
			s.first = parseMS(doneM[1])
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("aws-lambda-rie logged no INIT REPORT or INVOKE RTDONE:\n" + text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusedResponseURL is on loopback and refused without
// CDNPURGE_DEV_ALLOW_LOOPBACK: the reply says "check later" and nothing is
// posted or self-invoked.
const refusedResponseURL = "http://127.0.0.1:9/commands/T0001/1/RESPONSETOKEN"

// signedEvent is the fixture's Function URL event carrying a slash command
// signed as Slack signs it, base64-encoded as Function URLs send forms.
func signedEvent(fixture []byte, triggerID, responseURL string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(fixture, &ev); err != nil {
		return nil, err
	}
	body := url.Values{
		"team_id": {"T0001"}, "team_domain": {"example"}, "channel_id": {"C2147483705"}, "channel_name": {"deploys"},
		"user_id": {"U2147483697"}, "user_name": {"steve"}, "command": {"/cdn-purge"},
		// File paths only: CloudFront (and the emulator) allows 15 wildcard
		// paths in progress, fewer than the invokes of a run.
		"text":         {"/index.html /blog/2026/05/post.html <https://www.example.com/news/post?id=1&amp;ref=x|www.example.com/news/post>"},
		"response_url": {responseURL},
		"trigger_id":   {triggerID}, "api_app_id": {"A123456"},
	}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	headers := ev["headers"].(map[string]any)
	headers["x-slack-request-timestamp"] = ts
	headers["x-slack-signature"] = slack.Signature(signingSecret, ts, body)
	ev["body"] = base64.StdEncoding.EncodeToString([]byte(body))
	ev["isBase64Encoded"] = true
	return json.Marshal(ev)
}

func checkReply(raw []byte) error {
	var out struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode != http.StatusOK || !strings.Contains(out.Body, `"in_channel"`) {
		return fmt.Errorf("unexpected answer %s", raw)
	}
	return nil
}

// lineLog collects a process's output for the test to read while it runs.
type lineLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func parseMS(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func span(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f..%.2f ms", ms(slices.Min(ds)), ms(slices.Max(ds)))
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the cdnpurge module")
	}
	return filepath.Dir(gomod), nil
}
