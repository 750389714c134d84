package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// The Cloudflare zone and the Fastly service of the tests: the example IDs
// of Cloudflare's and Fastly's API documentation.
const (
	testZone    = "023e105f4ecef8ad9ca31a8372d0c353"
	testService = "SU1Z0isxPaozGVKXdv0eY"
)

// The API tokens of the provider targets below: never to be printed.
const (
	cfTestToken     = "cf-token-SECRET-4b1f0c9e"
	fastlyTestToken = "fastly-token-SECRET-77aa01"
)

// providerTargetsYAML is a targets file with a Cloudflare zone and a
// Fastly service, their tokens in CF_TOKEN and FASTLY_TOKEN, and a
// CloudFront distribution.
const providerTargetsYAML = `default: cf
targets:
  - name: cf
    provider: cloudflare
    zone: ` + testZone + `
    token_env: CF_TOKEN
    domains: [www.example.com, shop.example.com]
    channels: [deploys]
  - name: fastly
    provider: fastly
    service: ` + testService + `
    token_env: FASTLY_TOKEN
    domains: [news.example.org]
    channels: [deploys]
  - name: www
    distribution: ` + testutil.DistributionID + `
    channels: [deploys]
`

// providerEnv serves an emulator with the zone, the service and the
// distribution of providerTargetsYAML, accepting only the test tokens, and
// returns it and the environment of a pipeline aimed at it; faults are
// its injected faults; set overrides variables ("" unsets one).
func providerEnv(t *testing.T, faults emulator.Faults, set ...string) (*emulator.Emulator, func(string) string) {
	t.Helper()
	emu := emulator.New(emulator.Options{
		Distributions:   []string{testutil.DistributionID},
		CloudflareZones: []string{testZone}, CloudflareTokens: []string{cfTestToken},
		FastlyServices: []string{testService}, FastlyTokens: []string{fastlyTestToken},
		CompleteAfter: time.Hour, Faults: faults,
	})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		config.EnvConfigYAML:         providerTargetsYAML,
		config.EnvDevAllowLoopback:   "1",
		config.EnvCloudflareEndpoint: srv.URL + "/client/v4",
		config.EnvFastlyEndpoint:     srv.URL,
		config.EnvCloudFrontEndpoint: srv.URL,
		"CF_TOKEN":                   cfTestToken,
		"FASTLY_TOKEN":               fastlyTestToken,
	}
	for i := 0; i+1 < len(set); i += 2 {
		vars[set[i]] = set[i+1]
	}
	return emu, func(k string) string { return vars[k] }
}

// saw is what the emulator took on the Cloudflare zone and the Fastly
// service, in a form a test can compare: "kind: item item", oldest first.
func saw(emu *emulator.Emulator) []string {
	var out []string
	for _, p := range emu.CloudflarePurges(testZone) {
		out = append(out, "cloudflare "+p.Kind+": "+strings.Join(p.Items, " "))
	}
	// Fastly's URL purges go concurrently: in any order.
	var urls []string
	for _, p := range emu.FastlyURLPurges() {
		urls = append(urls, "fastly url: "+strings.Join(p.Items, " "))
	}
	slices.Sort(urls)
	out = append(out, urls...)
	for _, p := range emu.FastlyPurges(testService) {
		out = append(out, fmt.Sprintf("fastly %s: %s", p.Kind, strings.Join(p.Items, " ")))
	}
	return out
}

// noTokens fails the test if a test token is in what a command printed.
func noTokens(t *testing.T, outputs ...string) {
	t.Helper()
	for _, s := range outputs {
		for _, tok := range []string{cfTestToken, fastlyTestToken, "SECRET"} {
			if strings.Contains(s, tok) {
				t.Errorf("a token is in the output:\n%s", s)
			}
		}
	}
}

// TestInvalidateProviderTarget runs `invalidate --target` on a Cloudflare
// and a Fastly target against the emulator: what it sent (the emulator's
// record), what it printed, and the exit code; a refused item sends
// nothing.
func TestInvalidateProviderTarget(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		wantSaw  []string // nil: nothing sent
	}{
		{
			name: "cloudflare, every kind but everything",
			args: []string{"invalidate", "--target", "cf", "/a", "https://shop.example.com/b?x=1", "/blog/*", "#News", "https://shop.example.com/*", "/a"},
			wantOut: []string{"purged 5 items on cf (Cloudflare) in 4 requests\n", "items         /a\n", "              https://shop.example.com/b?x=1\n",
				"              #News\n", "dropped       1 of 6 given (duplicates)", "purge IDs     "},
			wantSaw: []string{
				"cloudflare files: https://www.example.com/a https://shop.example.com/b?x=1",
				"cloudflare prefixes: www.example.com/blog/",
				"cloudflare tags: News",
				"cloudflare hosts: shop.example.com",
			},
		},
		{
			name:    "cloudflare, everything, --wait",
			args:    []string{"invalidate", "--target", "cf", "--wait", "/*"},
			wantOut: []string{"purged 1 item on cf (Cloudflare) in 1 request\n"},
			wantErr: []string{"--wait: Cloudflare has no status to follow", "nothing to wait for"},
			wantSaw: []string{"cloudflare everything: "},
		},
		{
			name:    "fastly, a URL, a path and keys",
			args:    []string{"invalidate", "--target", "fastly", "https://news.example.org/story?id=7", "#front", "/index.html", "#Sport"},
			wantOut: []string{"purged 4 items on fastly (Fastly) in 3 requests\n"},
			wantSaw: []string{"fastly url: news.example.org/index.html", "fastly url: news.example.org/story?id=7", "fastly keys: front Sport"},
		},
		{
			name:     "fastly refuses a prefix, before anything is sent",
			args:     []string{"invalidate", "--target", "fastly", "/index.html", "/blog/*"},
			wantCode: exitRefused,
			wantErr:  []string{"Fastly cannot purge by prefix (`/blog/*`): use a surrogate key (`#tag`) or purge everything (`/*`)"},
		},
		{
			name:     "fastly refuses a URL on another host, before anything is sent",
			args:     []string{"invalidate", "--target", "fastly", "#front", "https://www.example.com/a"},
			wantCode: exitRefused,
			wantErr:  []string{"`https://www.example.com/a` is not on this Fastly service's domains (news.example.org)"},
		},
		{
			name:     "a bad path",
			args:     []string{"invalidate", "--target", "cf", "/a*b"},
			wantCode: exitRefused,
			wantErr:  []string{`"/a*b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, getenv := providerEnv(t, emulator.Faults{})
			code, out, errOut := runCmd(t, getenv, tt.args...)
			noTokens(t, out, errOut)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			wantOutput(t, out, errOut, tt.wantOut, tt.wantErr)
			if got := saw(emu); !slices.Equal(got, tt.wantSaw) {
				t.Errorf("the emulator saw\n  %q\nwant\n  %q", got, tt.wantSaw)
			}
			if tt.wantSaw == nil {
				if n := emu.CloudflareCalls(); n != 0 {
					t.Errorf("%d requests reached Cloudflare's API", n)
				}
				for op, n := range emu.FastlyCallCounts() {
					if n != 0 {
						t.Errorf("%d %s requests reached Fastly's API", n, op)
					}
				}
			}
		})
	}
}

// TestInvalidateProviderJSON checks invalidate --json on targets with no
// status: the provider, the items as sent, the requests and the IDs the
// provider answered; on failure, one object with the error.
func TestInvalidateProviderJSON(t *testing.T) {
	emu, getenv := providerEnv(t, emulator.Faults{})
	code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "cf", "--json", "/a", "#news", "/a")
	noTokens(t, out, errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got purgedJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var ids []string
	for _, p := range emu.CloudflarePurges(testZone) {
		ids = append(ids, p.ID)
	}
	if got.Target != "cf" || got.Provider != "Cloudflare" || got.Status != purge.StatusCompleted ||
		!slices.Equal(got.Items, []string{"/a", "#news"}) || got.Requests != 2 || !slices.Equal(got.IDs, ids) || len(ids) != 2 ||
		got.Dropped != 1 || got.Soft || got.Elapsed < 0 || got.Elapsed > 30 || got.Error != nil {
		t.Errorf("JSON: %+v (the emulator's IDs %v)", got, ids)
	}
	for _, key := range []string{`"target"`, `"provider"`, `"status"`, `"items"`, `"requests"`, `"ids"`, `"dropped"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s:\n%s", key, out)
		}
	}

	t.Run("no IDs is an empty list", func(t *testing.T) {
		_, getenv := providerEnv(t, emulator.Faults{})
		code, out, _ := runCmd(t, getenv, "invalidate", "--target", "fastly", "--json", "/*")
		if code != 0 || !strings.Contains(out, `"ids": []`) {
			t.Errorf("purge all on Fastly: %d\n%s", code, out)
		}
	})

	t.Run("refused", func(t *testing.T) {
		code, out, _ := runCmd(t, getenv, "invalidate", "--target", "fastly", "--json", "/blog/*")
		var got struct {
			Error *errorJSON `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitRefused || got.Error == nil ||
			got.Error.Code != purge.Invalid || !strings.Contains(got.Error.Message, "Fastly cannot purge by prefix") {
			t.Errorf("exit %d, %v\n%s", code, err, out)
		}
	})
}

// TestInvalidateProviderRateLimited purges a Fastly service that answers
// every key purge with 429 and Retry-After: after the provider's own
// retries, the command fails with exit 4 and says when to retry, in words
// and, with --json, in seconds. (Fastly, not Cloudflare: Fastly's retries
// are bounded by count, Cloudflare's by the context's deadline, which
// runCmd sets a minute away.)
func TestInvalidateProviderRateLimited(t *testing.T) {
	_, getenv := providerEnv(t, emulator.Faults{ByOperation: map[string]emulator.FaultRates{emulator.OpFastlyPurgeKeys: {Throttle: 1}}})
	code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "fastly", "--json", "#news")
	noTokens(t, out, errOut)
	var got struct {
		Error *errorJSON `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitCDN || got.Error == nil || got.Error.Code != purge.RateLimited {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if got.Error.RetryAfter != 1 || !strings.Contains(errOut, "try again in 1s") {
		t.Errorf("retry_after %v, stderr %q; want 1 and when to try again", got.Error.RetryAfter, errOut)
	}
}

// TestInvalidateProviderTokenStaysSecret runs invalidate, status and list
// on the provider targets through successes and failures (a token the API
// refuses, an API that cannot be reached, a token not set) and searches
// stdout and stderr for the tokens.
func TestInvalidateProviderTokenStaysSecret(t *testing.T) {
	refusing := "http://" + testutil.MustRefusingAddr(t)
	tests := []struct {
		name     string
		set      []string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"purged", nil, []string{"invalidate", "--target", "cf", "--json", "/a"}, 0, ""},
		{"cloudflare refuses the token", []string{"CF_TOKEN", "cf-token-SECRET-wrong"}, []string{"invalidate", "--target", "cf", "/a"}, exitCDN, "did not accept the API token"},
		{"fastly refuses the token", []string{"FASTLY_TOKEN", "fastly-token-SECRET-wrong"}, []string{"invalidate", "--target", "fastly", "--json", "#k"}, exitCDN, ""},
		{"cloudflare unreachable", []string{config.EnvCloudflareEndpoint, refusing + "/client/v4"}, []string{"invalidate", "--target", "cf", "/a"}, exitCDN, ""},
		{"fastly unreachable", []string{config.EnvFastlyEndpoint, refusing}, []string{"invalidate", "--target", "fastly", "#k"}, exitCDN, ""},
		{"token not set", []string{"CF_TOKEN", ""}, []string{"invalidate", "--target", "cf", "/a"}, exitFailure, `target "cf": CF_TOKEN is not set`},
		{"token holds an ARN that does not parse", []string{"CF_TOKEN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-token-SECRET wrong"}, []string{"invalidate", "--target", "cf", "/a"}, exitFailure, `CF_TOKEN (token_env of target "cf") holds an ARN that does not parse`},
		{"endpoint off loopback", []string{config.EnvDevAllowLoopback, ""}, []string{"invalidate", "--target", "cf", "/a"}, exitFailure, config.EnvCloudflareEndpoint},
		{"status", nil, []string{"status", "--target", "cf"}, 2, "keeps no record"},
		{"list --json", nil, []string{"list", "--target", "fastly", "--json"}, 2, "keeps no record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, getenv := providerEnv(t, emulator.Faults{}, tt.set...)
			code, out, errOut := runCmd(t, getenv, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d (want %d), stderr %q lacks %q", code, tt.wantCode, errOut, tt.wantErr)
			}
			noTokens(t, out, errOut)
			for i := 1; i < len(tt.set); i += 2 {
				if strings.Contains(tt.set[i], "SECRET") && strings.Contains(out+errOut, tt.set[i]) {
					t.Errorf("the value of %s shows: stdout %q, stderr %q", tt.set[i-1], out, errOut)
				}
			}
		})
	}
}

// TestProviderNoHistory runs status and list on targets whose provider
// keeps no record of purges: a clear message and exit 2, "not_found" with
// --json; a CloudFront target of the same file still answers.
func TestProviderNoHistory(t *testing.T) {
	_, getenv := providerEnv(t, emulator.Faults{})
	for _, args := range [][]string{
		{"status", "--target", "cf"},
		{"status", "--target", "fastly", "I2J0I21PCUYOIK"},
		{"list", "--target", "cf"},
		{"list", "--target", "fastly", "--max", "3"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, getenv, args...)
			want := fmt.Sprintf("target %q is on %s, which keeps no record of purges: `cdnpurge %s` has nothing to show",
				args[2], map[string]string{"cf": "Cloudflare", "fastly": "Fastly"}[args[2]], args[0])
			if code != 2 || out != "" || !strings.Contains(errOut, want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, want)
			}
			code, out, _ = runCmd(t, getenv, append(args, "--json")...)
			var got struct {
				Error *errorJSON `json:"error"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != 2 || got.Error == nil || got.Error.Code != purge.NotFound ||
				!strings.Contains(got.Error.Message, want) {
				t.Errorf("--json: exit %d, %v\n%s", code, err, out)
			}
		})
	}
	if code, out, errOut := runCmd(t, getenv, "list", "--target", "www"); code != 0 || !strings.Contains(out, "has no invalidations") {
		t.Errorf("list --target www: %d\n%s%s", code, out, errOut)
	}
}

// mustVarnishGet fetches uri on host through v and reports whether Varnish
// answered from its cache (X-Varnish holds two transaction IDs).
func mustVarnishGet(t *testing.T, v *testutil.Varnish, host, uri string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, v.URL+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s through Varnish: %d", host, uri, resp.StatusCode)
	}
	return len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2
}

// TestInvalidateVarnishTarget purges a Varnish target through the real
// varnishd running the shipped cdnpurge.vcl: what the command names is a
// miss on the next fetch, what it does not stays a hit, and status says
// Varnish keeps no record.
func TestInvalidateVarnishTarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
	}))
	t.Cleanup(srv.Close)
	v := testutil.MustStartVarnish(t, testutil.CdnpurgeVCL(t), srv.Listener.Addr().String())
	const host = "www.example.com"
	vars := map[string]string{config.EnvConfigYAML: "targets:\n  - name: cache\n    provider: varnish\n    url: " + v.URL +
		"\n    domains: [" + host + "]\n    channels: [deploys]\n"}
	getenv := func(k string) string { return vars[k] }

	purged, kept := []string{"/page", "/blog/1", "/blog/2?x=1"}, []string{"/keep", "/blogs"}
	for _, uri := range slices.Concat(purged, kept) {
		if mustVarnishGet(t, v, host, uri) || !mustVarnishGet(t, v, host, uri) {
			t.Fatalf("%s: want a miss, then a hit", uri)
		}
	}
	code, out, errOut := runCmd(t, getenv, "invalidate", "--target", "cache", "--json", "/page", "https://www.example.com/blog/*")
	if code != 0 {
		t.Fatalf("invalidate --target cache: %d\n%s%s", code, out, errOut)
	}
	var got purgedJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Provider != "Varnish" || got.Requests != 2 ||
		!slices.Equal(got.Items, []string{"/page", "https://www.example.com/blog/*"}) || len(got.IDs) != 0 {
		t.Errorf("JSON: %+v %v\n%s", got, err, out)
	}
	for _, uri := range purged {
		if mustVarnishGet(t, v, host, uri) {
			t.Errorf("%s: still cached after the purge", uri)
		}
	}
	for _, uri := range kept {
		if !mustVarnishGet(t, v, host, uri) {
			t.Errorf("%s: purged, but the command did not name it", uri)
		}
	}
	if code, _, errOut := runCmd(t, getenv, "status", "--target", "cache"); code != 2 || !strings.Contains(errOut, "on Varnish, which keeps no record of purges") {
		t.Errorf("status --target cache: %d %s", code, errOut)
	}
}
