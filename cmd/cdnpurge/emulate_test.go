package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestEmulateTenantFlag(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
	}{
		{"no prefix", "2wjDZi3hD1ivOXf6rpZJOSNE1AB"},
		{"a distribution ID", "EDFDVBD6EXAMPLE"},
		{"prefix only", "dt_"},
		{"a slash", "dt_a/b"},
		{"upper-case prefix", "DT_2wjDZi3hD1ivOXf6rpZJOSNE1AB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, nil, "emulate", "--addr", "127.0.0.1:0", "--tenant", tt.tenant)
			if code != 2 || !strings.Contains(errOut, "not a distribution tenant ID") {
				t.Errorf("exit %d, stderr %q; want 2 and a usage error", code, errOut)
			}
		})
	}
}

// runningEmulate is a `cdnpurge emulate` running in the test's process.
type runningEmulate struct {
	// Endpoint is its CloudFront endpoint, http://127.0.0.1:PORT, as its
	// banner says.
	Endpoint string
	stdout   *testutil.LockedBuffer
	stderr   *testutil.LockedBuffer
	cancel   context.CancelFunc
	done     chan int
}

// emulateAddr finds the address in the banner's first line.
var emulateAddr = regexp.MustCompile(`CloudFront emulator on (http://127\.0\.0\.1:\d+) `)

// mustRunEmulate starts `cdnpurge emulate --addr 127.0.0.1:0` with args and
// waits until its banner holds ready (the last line the test reads) and
// its address. The test's end stops it, and checks that it exited 0.
func mustRunEmulate(t *testing.T, ready string, args ...string) *runningEmulate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningEmulate{stdout: &testutil.LockedBuffer{}, stderr: &testutil.LockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, env{
			args:   append([]string{"emulate", "--addr", "127.0.0.1:0"}, args...),
			getenv: func(string) string { return "" },
			stdout: r.stdout, stderr: r.stderr,
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := r.stdout.String()
		if m := emulateAddr.FindStringSubmatch(out); m != nil && strings.Contains(out, ready) {
			r.Endpoint = m[1]
			break
		}
		select {
		case code := <-r.done:
			cancel()
			t.Fatalf("emulate exited %d: %s%s", code, out, r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("emulate did not start:\n%s%s", out, r.stderr.String())
		}
	}
	t.Cleanup(func() {
		if code := r.stop(t); code != 0 {
			t.Errorf("emulate exited %d after its context ended: %s", code, r.stderr.String())
		}
	})
	return r
}

// stop ends the emulator, once, and returns its exit code.
func (r *runningEmulate) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // for a later stop
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop")
	}
	return -1
}

// Banner returns what emulate has printed.
func (r *runningEmulate) Banner() string { return r.stdout.String() }

// TestEmulateTenant starts `cdnpurge emulate` with two tenants and purges
// one of them through the real backend.
func TestEmulateTenant(t *testing.T) {
	const tenant = "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"
	r := mustRunEmulate(t, "create-invalidation-for-distribution-tenant", "--tenant", tenant, "--tenant", "dt_Other1", "--complete-after", "0s")
	for _, want := range []string{"Distribution tenants: " + tenant + ", dt_Other1", "create-invalidation-for-distribution-tenant", "--id " + tenant} {
		if !strings.Contains(r.Banner(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Banner())
		}
	}

	inv, err := cloudfrontcdn.New(testutil.AWSConfig(), cloudfrontcdn.Options{Endpoint: r.Endpoint}).CreateInvalidation(t.Context(),
		purge.Batch{DistributionID: tenant, CallerReference: "emulate-test", Paths: []string{"/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if inv.DistributionID != tenant || inv.Status != purge.StatusCompleted {
		t.Errorf("CreateInvalidation on the tenant = %+v", inv)
	}
}

func TestEmulateProviderFlagsRefused(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"zone not hex", []string{"--cloudflare-zone", "my-zone"}, `--cloudflare-zone "my-zone" is not a Cloudflare zone ID`},
		{"zone upper-case", []string{"--cloudflare-zone", strings.ToUpper(testZone)}, "not a Cloudflare zone ID (32 lower-case hex digits)"},
		{"zone too short", []string{"--cloudflare-zone", testZone[1:]}, "not a Cloudflare zone ID"},
		{"service with a dash", []string{"--fastly-service", "my-service"}, `--fastly-service "my-service" is not a Fastly service ID`},
		{"service too short", []string{"--fastly-service", "abc"}, "not a Fastly service ID"},
		{"empty token", []string{"--cloudflare-zone", testZone, "--cloudflare-token", " "}, "a --cloudflare-token is empty or holds white space"},
		{"token with a space", []string{"--fastly-service", testService, "--fastly-token", "a b"}, "a --fastly-token is empty"},
		{"unknown fault operation", []string{"--throttle-rate", "1", "--fault-operations", "CloudflarePurge"}, `unknown operation "CloudflarePurge"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, append([]string{"emulate", "--addr", "127.0.0.1:0"}, tt.args...)...)
			if code != 2 || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, tt.wantErr)
			}
		})
	}
}

// TestEmulateCloudflareAndFastly starts `cdnpurge emulate` with a zone, a
// service and their tokens, and purges through it as its banner says: the
// banner's curl line in Cloudflare's wire format, plain net/http, and
// `cdnpurge invalidate --target` pointed at it with the banner's variables.
func TestEmulateCloudflareAndFastly(t *testing.T) {
	const cfToken, fastlyToken = "emulate-cf-token-5d1e", "emulate-fastly-token-9a2c"
	r := mustRunEmulate(t, "Fastly API on", "--cloudflare-zone", testZone, "--cloudflare-token", cfToken,
		"--fastly-service", testService, "--fastly-token", fastlyToken)
	banner := r.Banner()
	cfEndpoint := r.Endpoint + "/client/v4"
	for _, want := range []string{
		"Cloudflare API on " + cfEndpoint + " (zones: " + testZone + "; only the 1 token given with --cloudflare-token)",
		config.EnvDevAllowLoopback + "=1 " + config.EnvCloudflareEndpoint + "=" + cfEndpoint,
		"curl -X POST " + cfEndpoint + "/zones/" + testZone + "/purge_cache -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\"",
		`--data '{"files":["https://www.example.com/index.html"]}'`,
		"Fastly API on " + r.Endpoint + " (services: " + testService + ";",
		config.EnvDevAllowLoopback + "=1 " + config.EnvFastlyEndpoint + "=" + r.Endpoint,
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, cfToken) || strings.Contains(banner, fastlyToken) {
		t.Errorf("the banner shows a token:\n%s", banner)
	}

	t.Run("the banner's curl line", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl is not installed")
		}
		line := regexp.MustCompile(`(?m)^  (curl .*/purge_cache .*)$`).FindStringSubmatch(banner)
		if line == nil {
			t.Fatalf("no curl line for Cloudflare in:\n%s", banner)
		}
		cmd := exec.CommandContext(t.Context(), "bash", "-c", line[1]+" --silent --show-error")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CLOUDFLARE_API_TOKEN=" + cfToken}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"success":true`) {
			t.Fatalf("%s: %v\n%s", line[1], err, out)
		}
		if got := emulatedCloudflarePurges(t, r.Endpoint, testZone); len(got) != 1 || got[0].Kind != "files" ||
			len(got[0].Items) != 1 || got[0].Items[0] != "https://www.example.com/index.html" {
			t.Errorf("the emulator saw %+v", got)
		}
	})

	t.Run("net/http, Cloudflare's wire format", func(t *testing.T) {
		tests := []struct {
			name, token, body string
			wantStatus        int
			wantBody          string
		}{
			{"tags", cfToken, `{"tags":["news","sports"]}`, http.StatusOK, `"success":true`},
			{"purge everything", cfToken, `{"purge_everything":true}`, http.StatusOK, `"success":true`},
			{"another token", "not-the-token", `{"tags":["news"]}`, http.StatusUnauthorized, `"code":10000`},
			{"two kinds", cfToken, `{"tags":["a"],"hosts":["www.example.com"]}`, http.StatusBadRequest, `"success":false`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, body := postCloudflare(t, cfEndpoint, testZone, tt.token, tt.body)
				if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
					t.Errorf("%d %s; want %d and %s", status, body, tt.wantStatus, tt.wantBody)
				}
			})
		}
	})

	t.Run("invalidate --target through it", func(t *testing.T) {
		vars := map[string]string{
			config.EnvConfigYAML: "targets:\n" +
				"  - {name: cf, provider: cloudflare, zone: " + testZone + ", token_env: CF_TOKEN, domains: [www.example.com], channels: [deploys]}\n" +
				"  - {name: fastly, provider: fastly, service: " + testService + ", token_env: FASTLY_TOKEN, domains: [news.example.org], channels: [deploys]}\n" +
				"default: cf\n",
			config.EnvDevAllowLoopback: "1", config.EnvCloudflareEndpoint: cfEndpoint, config.EnvFastlyEndpoint: r.Endpoint,
			"CF_TOKEN": cfToken, "FASTLY_TOKEN": fastlyToken,
		}
		getenv := func(k string) string { return vars[k] }
		before := len(emulatedCloudflarePurges(t, r.Endpoint, testZone))
		if code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "cf", "/blog/*"); code != 0 || !strings.Contains(out, "purged 1 item on cf (Cloudflare)") {
			t.Fatalf("invalidate --target cf: %d\n%s%s", code, out, errOut)
		}
		got := emulatedCloudflarePurges(t, r.Endpoint, testZone)
		if len(got) != before+1 || got[before].Kind != "prefixes" || len(got[before].Items) != 1 || got[before].Items[0] != "www.example.com/blog/" {
			t.Errorf("the emulator saw %+v", got[before:])
		}
		if code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "fastly", "#news"); code != 0 || !strings.Contains(out, "purged 1 item on fastly (Fastly)") {
			t.Fatalf("invalidate --target fastly: %d\n%s%s", code, out, errOut)
		}
	})
}

// TestEmulateThrottle runs `cdnpurge emulate --throttle-rate 1` on
// Cloudflare's and one of Fastly's operations: those answer 429 with
// Retry-After, as the real APIs do, while the operations not named
// (CloudFront's CreateInvalidation) are served.
func TestEmulateThrottle(t *testing.T) {
	r := mustRunEmulate(t, "Injecting faults", "--cloudflare-zone", testZone, "--fastly-service", testService, "--complete-after", "0s",
		"--throttle-rate", "1", "--fault-operations", emulator.OpCloudflarePurgeCache+","+emulator.OpFastlyPurgeAll)
	status, header, body := postCloudflare(t, r.Endpoint+"/client/v4", testZone, "any-token", `{"purge_everything":true}`)
	if status != http.StatusTooManyRequests || header.Get("Retry-After") == "" || !strings.Contains(body, `"code":971`) {
		t.Errorf("Cloudflare: %d Retry-After %q %s; want 429 with Retry-After and code 971", status, header.Get("Retry-After"), body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, r.Endpoint+"/service/"+testService+"/purge_all", nil)
	req.Header.Set("Fastly-Key", "any-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("Fastly purge_all: %d Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := emulatedCloudflarePurges(t, r.Endpoint, testZone); len(got) != 0 {
		t.Errorf("a throttled purge was made: %+v", got)
	}
	inv, err := cloudfrontcdn.New(testutil.AWSConfig(), cloudfrontcdn.Options{Endpoint: r.Endpoint}).CreateInvalidation(t.Context(),
		purge.Batch{DistributionID: defaultDistributionID, CallerReference: "throttle-test", Paths: []string{"/*"}})
	if err != nil || inv.Status != purge.StatusCompleted {
		t.Errorf("CloudFront, whose operations are not named: %+v, %v", inv, err)
	}
}

// postCloudflare posts body to Cloudflare's purge_cache of zone at
// endpoint (…/client/v4) with token, and returns the answer.
func postCloudflare(t *testing.T, endpoint, zone, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/zones/"+zone+"/purge_cache", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// emulatedCloudflarePurges reads the purges the emulator at base made in
// zone, from its report outside Cloudflare's API.
func emulatedCloudflarePurges(t *testing.T, base, zone string) []emulator.CloudflarePurge {
	t.Helper()
	resp, err := http.Get(base + emulator.CloudflarePurgesPathPrefix + zone + "/purges")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []emulator.CloudflarePurge
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the emulator's purges of %s: %d %v", zone, resp.StatusCode, err)
	}
	return out
}
