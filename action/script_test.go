package action

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// zone is the Cloudflare zone of testdata/targets.yaml's target shop.
const zone = "023e105f4ecef8ad9ca31a8372d0c353"

// cloudflareToken is the token of target shop, in the variable its
// token_env names; like the AWS keys, it must never be printed.
const cloudflareToken = "ActionTestCloudflareTokenNeverShown0123"

// secrets are the values no run may print or write to its outputs.
var secrets = []string{testutil.AWSAccessKeyID, testutil.AWSSecretKey, testutil.AWSSessionToken, cloudflareToken}

// stand is a CloudFront (and Cloudflare) emulator in the test's process,
// and what run.sh needs to purge on it: the cdnpurge binary and a
// workspace to run in.
type stand struct {
	emu       *emulator.Emulator
	endpoint  string
	bin       string
	workspace string
	// vars are more variables of the run's environment: the runner's
	// GITHUB_* variables (repository, run, attempt, job) and any a test adds.
	vars map[string]string
}

// mustStand starts the emulator, knowing testutil.DistributionID and zone,
// with the options tweak changes (nil: none), for bin (built by mustBuild).
// It stops with the test.
func mustStand(t *testing.T, bin string, completeAfter time.Duration, tweak func(*emulator.Options)) *stand {
	t.Helper()
	opts := emulator.Options{Distributions: []string{testutil.DistributionID}, CompleteAfter: completeAfter, CloudflareZones: []string{zone}}
	if tweak != nil {
		tweak(&opts)
	}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &stand{
		emu: emu, endpoint: srv.URL, bin: bin, workspace: t.TempDir(),
		vars: map[string]string{"GITHUB_REPOSITORY": "example/site", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy"},
	}
}

// mustBuild builds cdnpurge as the action does, for every run of the test
// and its subtests: it runs action.yml's key and build steps with bash, the
// repository as $GITHUB_ACTION_PATH and a directory of t's as
// $RUNNER_TEMP, then the key step again, which must find the binary built.
// It returns the binary's path.
func mustBuild(t *testing.T) string {
	t.Helper()
	m, _ := mustMetadata(t)
	temp := t.TempDir()
	key := runStep(t, m.step(t, "key"), temp, nil)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(key["hash"]) || key["dir"] != filepath.Join(temp, "cdnpurge-action") || key["built"] != "" {
		t.Fatalf("the key step's outputs: %v", key)
	}
	runStep(t, m.step(t, "build"), temp, key)
	if again := runStep(t, m.step(t, "key"), temp, nil); again["built"] != "true" || again["hash"] != key["hash"] {
		t.Fatalf("after the build, the key step's outputs are %v, want built=true and the same hash", again)
	}
	return filepath.Join(key["dir"], "cdnpurge")
}

// keyOutput is an expression of action.yml that names an output of the
// key step.
var keyOutput = regexp.MustCompile(`\$\{\{ steps\.key\.outputs\.([a-z-]+) \}\}`)

// runStep runs a run: step of action.yml as the runner runs a bash step,
// with this process's environment, the runner's variables for temp, the
// repository as the action's path, and the step's env: with the key step's
// outputs (key) in place of their expressions. It returns what the step
// wrote to $GITHUB_OUTPUT.
func runStep(t *testing.T, s step, temp string, key map[string]string) map[string]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script, outFile := filepath.Join(dir, "step.sh"), filepath.Join(dir, "output")
	if err := os.WriteFile(script, []byte(s.Run), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RUNNER_OS=Linux", "RUNNER_TEMP="+temp, "GITHUB_ACTION_PATH="+root, "GITHUB_OUTPUT="+outFile)
	for k, v := range s.Env {
		v = keyOutput.ReplaceAllStringFunc(v, func(expr string) string { return key[keyOutput.FindStringSubmatch(expr)[1]] })
		if strings.Contains(v, "${{") {
			t.Fatalf("step %s: env %s=%q holds an expression the test cannot evaluate", s.ID, k, v)
		}
		env = append(env, k+"="+v)
	}
	// No timeout of its own: a go build with a cold cache on a loaded
	// machine may take minutes; go test's -timeout still ends a hang.
	cmd := exec.CommandContext(t.Context(), "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("step %s: %v\n%s", s.ID, err, out)
	}
	return mustOutputs(t, outFile)
}

// mustOutputs reads the name=value lines of a $GITHUB_OUTPUT file; a
// missing file is no outputs.
func mustOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	outputs := map[string]string{}
	raw, _ := os.ReadFile(file)
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if !ok {
			t.Errorf("$GITHUB_OUTPUT line %q is not name=value", line)
			continue
		}
		if _, dup := outputs[k]; dup {
			t.Errorf("$GITHUB_OUTPUT sets %s twice", k)
		}
		outputs[k] = v
	}
	return outputs
}

// needBash skips the test when bash or jq, which run.sh needs, is missing.
func needBash(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it): %v", tool, err)
		}
	}
}

// scriptRun is what one run of run.sh did.
type scriptRun struct {
	code           int
	stdout, stderr string
	// outputs are the name=value lines it wrote to $GITHUB_OUTPUT.
	outputs map[string]string
	summary string
}

// errorLines returns the ::error:: workflow commands of stdout.
func (r scriptRun) errorLines() []string {
	var lines []string
	for line := range strings.Lines(r.stdout) {
		if strings.HasPrefix(line, "::error ") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

func (r scriptRun) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr + "\nsummary:\n" + r.summary
}

// inputEnv is the variable action.yml passes input name in: INPUT_ and the
// name in upper case, with _ for -.
func inputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// run runs run.sh with inputs (by their action.yml names) the way the
// action's step does, in the workspace, with an environment made here and
// nothing inherited but PATH. It fails the test if any secret appears in
// what the run printed or wrote.
func (s *stand) run(t *testing.T, inputs map[string]string) scriptRun {
	t.Helper()
	dir := t.TempDir()
	outFile, summaryFile := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + testutil.AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + testutil.AWSSecretKey,
		"AWS_SESSION_TOKEN=" + testutil.AWSSessionToken,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		"CDNPURGE_CLOUDFRONT_ENDPOINT=" + s.endpoint,
		"CDNPURGE_CLOUDFLARE_ENDPOINT=" + s.endpoint + "/client/v4",
		"CDNPURGE_DEV_ALLOW_LOOPBACK=1",
		"ACTION_TEST_CLOUDFLARE_TOKEN=" + cloudflareToken,
		"CDNPURGE_BIN=" + s.bin,
		"GITHUB_OUTPUT=" + outFile,
		"GITHUB_STEP_SUMMARY=" + summaryFile,
	}
	for k, v := range s.vars {
		env = append(env, k+"="+v)
	}
	for name, v := range inputs {
		env = append(env, inputEnv(name)+"="+v)
	}
	script, err := filepath.Abs("run.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir, cmd.Env = s.workspace, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var r scriptRun
	if err := cmd.Run(); err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("bash run.sh: %v", err)
		}
		r.code = exit.ExitCode()
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.outputs = mustOutputs(t, outFile)
	out, _ := os.ReadFile(outFile)
	summary, _ := os.ReadFile(summaryFile)
	r.summary = string(summary)
	for _, secret := range secrets {
		for what, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "$GITHUB_OUTPUT": string(out), "the summary": r.summary} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds a secret (%.8s...)", what, secret)
			}
		}
	}
	return r
}

// invalidations returns the emulator's invalidations of the distribution,
// newest first, with their paths.
func (s *stand) invalidations(t *testing.T) []*purge.Invalidation {
	t.Helper()
	inv := testutil.NewInvalidator(s.endpoint)
	page, err := inv.ListInvalidations(t.Context(), testutil.DistributionID, purge.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []*purge.Invalidation
	for _, sum := range page.Items {
		got, err := inv.GetInvalidation(t.Context(), testutil.DistributionID, sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got)
	}
	return all
}

// calls returns how many requests the emulator has served, every
// operation and provider together.
func (s *stand) calls() int {
	n := s.emu.CloudflareCalls()
	for _, c := range s.emu.CallCounts() {
		n += c
	}
	return n
}

// TestScript runs run.sh as the action runs it, against the emulator.
func TestScript(t *testing.T) {
	needBash(t)
	bin := mustBuild(t)
	targetsFile, err := filepath.Abs("testdata/targets.yaml")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("purges", func(t *testing.T) {
		tests := []struct {
			name          string
			completeAfter time.Duration
			emulator      func(*emulator.Options)
			inputs        map[string]string
			wantCode      int
			wantStatus    string
			// wantPaths are the paths of the one invalidation CloudFront
			// then holds, as cdnpurge sends them; nil: none is expected.
			wantPaths []string
			check     func(t *testing.T, s *stand, r scriptRun)
		}{
			{
				name: "waits until completed", completeAfter: 300 * time.Millisecond,
				inputs:   map[string]string{"paths": "/index.html\n/blog/*\n", "distribution": testutil.DistributionID, "wait": "true", "timeout": "2m"},
				wantCode: 0, wantStatus: "Completed", wantPaths: []string{"/index.html", "/blog/*"},
			},
			{
				name: "without waiting", completeAfter: time.Hour,
				inputs:   map[string]string{"paths": "/index.html", "distribution": testutil.DistributionID, "wait": "false"},
				wantCode: 0, wantStatus: "InProgress", wantPaths: []string{"/index.html"},
			},
			{
				name: "one line, split on spaces", completeAfter: 0,
				inputs:   map[string]string{"paths": "  /a  /b\t/c  ", "distribution": testutil.DistributionID},
				wantCode: 0, wantStatus: "Completed", wantPaths: []string{"/a", "/b", "/c"},
			},
			{
				// Each line reaches cdnpurge as one argument, as written: no
				// word splitting, no glob (blog/ exists in the workspace),
				// no command substitution, nothing read as a flag.
				name: "paths passed literally", completeAfter: 0,
				inputs: map[string]string{"distribution": testutil.DistributionID, "paths": strings.Join([]string{
					"/a b.html", `/q"u'o.html`, "/$(touch pwned)", "/`touch pwned`", "/x;y|z&w", "/blog/*", "/${HOME}", "/--wait", "",
				}, "\n")},
				wantCode: 0, wantStatus: "Completed",
				wantPaths: []string{"/a%20b.html", "/q%22u'o.html", "/$(touch%20pwned)", "/%60touch%20pwned%60", "/x;y%7Cz&w", "/blog/*", "/$%7BHOME%7D", "/--wait"},
				check: func(t *testing.T, s *stand, r scriptRun) {
					if _, err := os.Stat(filepath.Join(s.workspace, "pwned")); err == nil {
						t.Error("a path ran as a command: pwned exists")
					}
					if !strings.Contains(r.summary, "/$(touch pwned)\n") {
						t.Errorf("the summary does not list the paths as given:\n%s", r.summary)
					}
				},
			},
			{
				name: "target from the targets file", completeAfter: 0,
				inputs:   map[string]string{"paths": "https://www.example.com/about?lang=en", "target": "www", "targets-file": targetsFile},
				wantCode: 0, wantStatus: "Completed", wantPaths: []string{"/about?lang=en"},
			},
			{
				name: "a provider with no status to follow", completeAfter: 0,
				inputs:   map[string]string{"paths": "https://shop.example.com/index.html #launch", "target": "shop", "targets-file": targetsFile},
				wantCode: 0, wantStatus: "Completed",
				check: func(t *testing.T, s *stand, r scriptRun) {
					var ids []string
					for _, p := range s.emu.CloudflarePurges(zone) {
						ids = append(ids, p.ID)
					}
					if len(ids) != 2 || r.outputs["invalidation-id"] != strings.Join(ids, ",") {
						t.Errorf("invalidation-id %q; Cloudflare's purge IDs are %v", r.outputs["invalidation-id"], ids)
					}
				},
			},
			{
				name: "unknown distribution", completeAfter: 0,
				inputs:   map[string]string{"paths": "/index.html", "distribution": "ENOSUCHDIST"},
				wantCode: 4,
				check: func(t *testing.T, _ *stand, r scriptRun) {
					if want := "::error title=cdnpurge::CloudFront has no distribution ENOSUCHDIST; check the distribution ID"; !slices.Contains(r.errorLines(), want) {
						t.Errorf("no %q line:\n%s", want, r)
					}
					if !strings.Contains(r.summary, "CDN purge failed") {
						t.Errorf("summary:\n%s", r.summary)
					}
				},
			},
			{
				name: "too many in progress", completeAfter: 0,
				emulator: func(o *emulator.Options) {
					o.Faults.ByOperation = map[string]emulator.FaultRates{emulator.OpCreateInvalidation: {Busy: 1}}
				},
				inputs:   map[string]string{"paths": "/index.html", "distribution": testutil.DistributionID},
				wantCode: 4,
			},
			{
				// Cloudflare refuses the token: the error path names no secret
				// either (checked on every run).
				name: "a token the CDN refuses", completeAfter: 0,
				emulator: func(o *emulator.Options) { o.CloudflareTokens = []string{"SomeOtherToken"} },
				inputs:   map[string]string{"paths": "https://shop.example.com/index.html", "target": "shop", "targets-file": targetsFile},
				wantCode: 4,
			},
			{
				// The invalidation was made: its ID is an output, for a later
				// step to follow, though the step failed.
				name: "wait runs out", completeAfter: time.Hour,
				inputs:   map[string]string{"paths": "/index.html", "distribution": testutil.DistributionID, "timeout": "1s"},
				wantCode: 5, wantStatus: "InProgress", wantPaths: []string{"/index.html"},
				check: func(t *testing.T, _ *stand, r scriptRun) {
					if lines := r.errorLines(); len(lines) != 1 || !strings.Contains(lines[0], "gave up waiting after 1s") {
						t.Errorf("::error lines %q", lines)
					}
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := mustStand(t, bin, tt.completeAfter, tt.emulator)
				if err := os.Mkdir(filepath.Join(s.workspace, "blog"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(s.workspace, "blog", "post.html"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				r := s.run(t, tt.inputs)
				if r.code != tt.wantCode {
					t.Fatalf("want exit %d; %s", tt.wantCode, r)
				}
				if got := r.outputs["status"]; got != tt.wantStatus {
					t.Errorf("output status %q, want %q", got, tt.wantStatus)
				}
				if tt.wantStatus == "" {
					if id, ok := r.outputs["invalidation-id"]; ok {
						t.Errorf("nothing was created, yet invalidation-id is %q", id)
					}
				}
				if tt.wantCode != 0 && len(r.errorLines()) == 0 {
					t.Errorf("a failure with no ::error line; %s", r)
				}
				all := s.invalidations(t)
				switch {
				case tt.wantPaths == nil && len(all) != 0:
					t.Errorf("CloudFront holds %d invalidations, want none", len(all))
				case tt.wantPaths != nil && len(all) != 1:
					t.Errorf("CloudFront holds %d invalidations, want 1", len(all))
				case tt.wantPaths != nil:
					if id := r.outputs["invalidation-id"]; id != all[0].ID {
						t.Errorf("output invalidation-id %q; CloudFront's is %s", id, all[0].ID)
					}
					if !slices.Equal(all[0].Paths, tt.wantPaths) {
						t.Errorf("CloudFront has paths %q, want %q", all[0].Paths, tt.wantPaths)
					}
					if !strings.Contains(r.summary, all[0].ID) {
						t.Errorf("the summary does not name %s:\n%s", all[0].ID, r.summary)
					}
				}
				if tt.check != nil {
					tt.check(t, s, r)
				}
			})
		}
	})

	t.Run("refused before any request", func(t *testing.T) {
		tests := []struct {
			name    string
			inputs  map[string]string
			wantErr string
		}{
			{"both distribution and target", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "target": "www"}, "not both"},
			{"neither distribution nor target", map[string]string{"paths": "/a"}, "give distribution"},
			{"no paths", map[string]string{"paths": "", "distribution": testutil.DistributionID}, "paths is empty"},
			{"blank lines only", map[string]string{"paths": "\n  \n\t\n", "distribution": testutil.DistributionID}, "paths is empty"},
			{"targets-file without target", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "targets-file": "targets.yaml"}, "targets-file is for target"},
			{"wait neither true nor false", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "wait": "yes"}, `wait must be true or false, not "yes"`},
			{"timeout in words", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "timeout": "15 minutes"}, "is not a duration"},
			{"timeout with a fraction", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "timeout": "1.5m"}, "is not a duration"},
			{"timeout of zero", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "timeout": "0s"}, "out of range"},
			{"timeout past a job's life", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "timeout": "6h1s"}, "out of range"},
			{"caller-reference with a control character", map[string]string{"paths": "/a", "distribution": testutil.DistributionID, "caller-reference": "a\x1bb"}, "control character"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := mustStand(t, bin, 0, nil)
				r := s.run(t, tt.inputs)
				if r.code != 2 {
					t.Fatalf("want exit 2; %s", r)
				}
				if lines := r.errorLines(); len(lines) != 1 || !strings.Contains(lines[0], tt.wantErr) {
					t.Errorf("::error lines %q, want one with %q", lines, tt.wantErr)
				}
				if len(r.outputs) != 0 {
					t.Errorf("outputs %v, want none", r.outputs)
				}
				if n := s.calls(); n != 0 {
					t.Errorf("the emulator served %d requests, want none", n)
				}
			})
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		s := mustStand(t, bin, 0, nil)
		inputs := map[string]string{"paths": "/index.html\n/blog/*", "distribution": testutil.DistributionID}
		first, again := s.run(t, inputs), s.run(t, inputs)
		if first.code != 0 || again.code != 0 {
			t.Fatalf("first run: %s\nagain: %s", first, again)
		}
		if id := first.outputs["invalidation-id"]; id == "" || again.outputs["invalidation-id"] != id {
			t.Errorf("the same step run again gave %q, then %q", id, again.outputs["invalidation-id"])
		}
		if ref := first.outputs["caller-reference"]; !strings.HasPrefix(ref, "example/site/4242/1/deploy/") || again.outputs["caller-reference"] != ref {
			t.Errorf("caller references %q, then %q", ref, again.outputs["caller-reference"])
		}
		if n := len(s.invalidations(t)); n != 1 || s.emu.Calls(emulator.OpCreateInvalidation) != 2 {
			t.Errorf("CloudFront holds %d invalidations after %d requests, want 1 after 2", n, s.emu.Calls(emulator.OpCreateInvalidation))
		}

		// Other paths in the same job, a re-run (the next attempt) and a
		// reference of the workflow's own each make their own.
		other := s.run(t, map[string]string{"paths": "/other.html", "distribution": testutil.DistributionID})
		s.vars["GITHUB_RUN_ATTEMPT"] = "2"
		rerun := s.run(t, inputs)
		own := s.run(t, map[string]string{"paths": "/index.html\n/blog/*", "distribution": testutil.DistributionID, "caller-reference": "deploy-77"})
		ids := map[string]bool{first.outputs["invalidation-id"]: true}
		for _, r := range []scriptRun{other, rerun, own} {
			if r.code != 0 || ids[r.outputs["invalidation-id"]] {
				t.Errorf("want a new invalidation; %s\noutputs %v", r, r.outputs)
			}
			ids[r.outputs["invalidation-id"]] = true
		}
		if refs := s.emu.CallerReferences(testutil.DistributionID); !slices.ContainsFunc(refs, func(r string) bool { return strings.HasSuffix(r, "-deploy-77") }) {
			t.Errorf("CloudFront's caller references %q lack deploy-77", refs)
		}
		if n := len(s.invalidations(t)); n != 4 {
			t.Errorf("CloudFront holds %d invalidations, want 4", n)
		}
	})
}
