package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProviderTargets checks the targets file's provider fields: each
// provider's own fields, and a clear error, at its line, for a field of
// another provider, an unknown provider or a missing one of its own.
func TestProviderTargets(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "four-providers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile("p.yaml", base)
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	var got []string
	for _, tg := range f.Targets {
		got = append(got, tg.Name+"="+tg.ProviderName())
	}
	if want := "www=cloudfront shop=cloudflare news=fastly media=varnish"; strings.Join(got, " ") != want {
		t.Errorf("providers = %q, want %q", strings.Join(got, " "), want)
	}
	if !f.Targets[2].Soft || f.Targets[1].Zone != "023e105f4ecef8ad9ca31a8372d0c353" || f.Targets[3].URL != "http://127.0.0.1:6081" {
		t.Errorf("fields not read: %+v", f.Targets)
	}

	tests := []struct {
		name      string
		old, new  string
		wantError []string
	}{
		{"unknown provider", "provider: fastly", "provider: akamai", []string{"p.yaml:15: targets.2.provider", `"akamai" is not a provider: use cloudfront, cloudflare, fastly, varnish`}},
		{"a field of another provider", "    soft: true\n", "    soft: true\n    distribution: E2QWRUHEXAMPLE\n", []string{"p.yaml:19: targets.2.distribution: is not a field of a fastly target (cloudfront takes it)"}},
		{"zone on fastly", "    soft: true\n", "    soft: true\n    zone: 023e105f4ecef8ad9ca31a8372d0c353\n", []string{"targets.2.zone: is not a field of a fastly target (cloudflare takes it)"}},
		{"soft on cloudfront", "    channels: [deploys]\n  - name: shop", "    channels: [deploys]\n    soft: true\n  - name: shop", []string{"targets.0.soft: is not a field of a cloudfront target (fastly and varnish take it)"}},
		{"token_env on varnish", "    url: http://127.0.0.1:6081\n", "    url: http://127.0.0.1:6081\n    token_env: X\n", []string{"targets.3.token_env: is not a field of a varnish target"}},
		{"no zone", "    zone: 023e105f4ecef8ad9ca31a8372d0c353\n", "", []string{"targets.1.zone: not set: the Cloudflare zone ID"}},
		{"bad zone", "zone: 023e105f4ecef8ad9ca31a8372d0c353", "zone: example.com", []string{`targets.1.zone: "example.com" is not a Cloudflare zone ID`}},
		{"bad service", "service: SU1Z0isxPaozGVKXdv0eY", "service: news-svc", []string{`targets.2.service: "news-svc" is not a Fastly service ID`}},
		{"no token_env", "    token_env: CLOUDFLARE_API_TOKEN\n", "", []string{"targets.1.token_env: not set: name the environment variable that holds the Cloudflare API token"}},
		{"a token in token_env", "token_env: FASTLY_API_TOKEN", "token_env: 9f8e7d6c5b4a3210-secret-value", []string{"targets.2.token_env:", "is not an environment variable name"}},
		{"no domains", "    domains: [news.example.com]\n", "", []string{"targets.2.domains: no domains: a Fastly target needs the host"}},
		{"bad varnish url", "url: http://127.0.0.1:6081", "url: 127.0.0.1:6081", []string{"targets.3.url:", "is not an http(s) URL of the cache"}},
		{"a password in the varnish url", "url: http://127.0.0.1:6081", "url: http://admin:hunter2@127.0.0.1:6081", []string{"targets.3.url: is not an http(s) URL of the cache without a user or password"}},
		{"a password in a varnish url that does not parse", "url: http://127.0.0.1:6081", "url: http://admin:hunter2%zz@127.0.0.1:6081", []string{"targets.3.url: is not an http(s) URL"}},
		{"a password with a space", "url: http://127.0.0.1:6081", `url: "http://admin:hunter2 x@127.0.0.1:6081"`, []string{"targets.3.url: is not an http(s) URL"}},
		{"no varnish url", "    url: http://127.0.0.1:6081\n", "", []string{"targets.3.url: not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(string(base), tt.old, tt.new, 1)
			if data == string(base) {
				t.Fatalf("the test did not change the file")
			}
			_, err := ParseFile("p.yaml", []byte(data))
			if err == nil {
				t.Fatal("ParseFile accepted it")
			}
			for _, w := range tt.wantError {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{"9f8e7d6c5b4a3210-secret-value", "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %q", err)
				}
			}
			assertPlainWords(t, err)
		})
	}
}

// TestProviderTokens checks that a token_env variable must be set, that the
// error names the file, line and variable but never a value, and that the
// endpoints of Cloudflare and Fastly may only be replaced on loopback with
// the dev flag.
func TestProviderTokens(t *testing.T) {
	path := filepath.Join("testdata", "four-providers.yaml")
	const cfToken, fastlyToken = "cf-TOKEN-value-0123456789", "fastly-TOKEN-value-0123456789"
	env := func(kv ...string) func(string) string {
		m := map[string]string{EnvConfigFile: path, EnvSigningSecret: "topsecretsigning-0123456789abcde",
			"CLOUDFLARE_API_TOKEN": cfToken, "FASTLY_API_TOKEN": fastlyToken}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		env     func(string) string
		wantErr []string
	}{
		{"all set", env(), nil},
		{"cloudflare token missing", env("CLOUDFLARE_API_TOKEN", ""), []string{path + ":11: targets.1.token_env: CLOUDFLARE_API_TOKEN is not set in the environment: it must hold the Cloudflare API token of target \"shop\""}},
		{"blank token", env("FASTLY_API_TOKEN", "  "), []string{path + ":17: targets.2.token_env: FASTLY_API_TOKEN is not set"}},
		{"cloudflare endpoint without the dev flag", env(EnvCloudflareEndpoint, "http://127.0.0.1:4510/client/v4"), []string{EnvCloudflareEndpoint + " is not usable", EnvDevAllowLoopback + "=1"}},
		{"cloudflare endpoint on loopback", env(EnvCloudflareEndpoint, "http://127.0.0.1:4510/client/v4", EnvDevAllowLoopback, "1"), nil},
		{"fastly endpoint elsewhere", env(EnvFastlyEndpoint, "https://api.fastly.example.org", EnvDevAllowLoopback, "1"), []string{EnvFastlyEndpoint + " is not usable", "not on loopback"}},
		{"fastly endpoint not a URL", env(EnvFastlyEndpoint, "127.0.0.1:9", EnvDevAllowLoopback, "1"), []string{EnvFastlyEndpoint, "not an http(s) URL"}},
		{"a password in the endpoint", env(EnvCloudflareEndpoint, "http://user:hunter2@127.0.0.1:9/client/v4", EnvDevAllowLoopback, "1"), []string{EnvCloudflareEndpoint, "user or password"}},
		{"a password in an endpoint that does not parse", env(EnvFastlyEndpoint, "http://user:hunter2%zz@127.0.0.1:9", EnvDevAllowLoopback, "1"), []string{EnvFastlyEndpoint, "not an http(s) URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := FromEnv(tt.env)
			err := cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if got := cfg.Token(cfg.File.Targets[1]).Value(); got != cfToken {
					t.Errorf("Token(shop) = %q", got)
				}
				if got := cfg.Token(cfg.File.Targets[0]); got != "" {
					t.Errorf("Token(www) = %q, want none", got)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{cfToken, fastlyToken, "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a token: %q", err)
				}
			}
		})
	}
}
