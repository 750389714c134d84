package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TestTargetsFromFile checks the ways a targets file arrives (a path, or
// the YAML inline in the environment) and what Validate asks of them.
func TestTargetsFromFile(t *testing.T) {
	path := filepath.Join("testdata", "three-targets.yaml")
	yaml, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{EnvSigningSecret: "topsecretsigning-0123456789abcde", EnvBotToken: "xoxb-1-2-BOTTOKENSECRET"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name        string
		env         map[string]string
		wantErr     []string
		wantIgnored []string
	}{
		{"path", with(EnvConfigFile, path), nil, nil},
		{"inline", with(EnvConfigYAML, string(yaml)), nil, nil},
		{"file overrides the single target", with(EnvConfigFile, path, EnvDistributionID, "E1", EnvChannels, "x", EnvConfirm, "always", EnvConfirmOver, "5", EnvApproverMustDiffer, "1"), nil,
			[]string{EnvDistributionID, EnvChannels, EnvConfirm, EnvConfirmOver, EnvApproverMustDiffer}},
		{"both", with(EnvConfigFile, path, EnvConfigYAML, string(yaml)), []string{"both set"}, nil},
		{"missing file", with(EnvConfigFile, "testdata/nope.yaml"), []string{EnvConfigFile, "no such file"}, nil},
		{"bad inline", with(EnvConfigYAML, "targets: ["), []string{EnvConfigYAML + ":1: not valid YAML"}, nil},
		// The file replaces the environment's target even when it has
		// mistakes: only its own problems are reported, not that
		// CDNPURGE_DISTRIBUTION_ID or CDNPURGE_SLACK_CHANNEL is unset.
		{"only the file's problems", with(EnvConfigYAML, "targets:\n  - name: www\n    distribution: E2QWRUHEXAMPLE\n    channel: [deploys]\n"),
			[]string{EnvConfigYAML + `:4: targets.0.channel: unknown field; did you mean "channels"?`, EnvConfigYAML + ":2: targets.0.channels: no channels"}, nil},
		{"only the missing file", with(EnvConfigFile, "testdata/nope.yaml"), []string{"no such file"}, nil},
		{"user groups need a bot token", with(EnvConfigFile, path, EnvBotToken, ""), []string{EnvBotToken + " is not set", "usergroups:read"}, nil},
		{"not a bot token", with(EnvConfigFile, path, EnvBotToken, "xoxp-user-token"), []string{EnvBotToken + " is not a Slack bot token"}, nil},
		{"Slack API stand-in needs the dev flag", with(EnvConfigFile, path, EnvSlackAPIURL, "http://127.0.0.1:9/api/"), []string{EnvSlackAPIURL}, nil},
		{"Slack API stand-in on loopback", with(EnvConfigFile, path, EnvSlackAPIURL, "http://127.0.0.1:9/api/", EnvDevAllowLoopback, "1"), nil, nil},
		{"Slack API elsewhere", with(EnvConfigFile, path, EnvSlackAPIURL, "https://slack.example.org/api/"), []string{EnvSlackAPIURL}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := FromEnv(env(tt.env))
			err := cfg.Validate()
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want %q", err, w)
				}
			}
			if len(tt.wantErr) > 0 {
				if err != nil && strings.Contains(err.Error(), "BOTTOKENSECRET") {
					t.Errorf("error leaks the bot token: %v", err)
				}
				// A file replaces these settings, readable or not.
				for _, replaced := range []string{EnvDistributionID, EnvChannels} {
					if err != nil && strings.Contains(err.Error(), replaced) {
						t.Errorf("error names %s, which the file replaces: %v", replaced, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Ignored(); !slices.Equal(got, tt.wantIgnored) {
				t.Errorf("Ignored = %q, want %q", got, tt.wantIgnored)
			}
			ts, err := cfg.Targets()
			if err != nil {
				t.Fatal(err)
			}
			if len(ts.All()) != 3 || ts.Default().Name != "www" {
				t.Fatalf("Targets = %+v", ts.All())
			}
			www, docs, shop := ts.Named("www"), ts.Named("docs"), ts.Named("shop")
			if www.DistributionID != "E2QWRUHEXAMPLE" || www.Confirm != (purge.ConfirmPolicy{Mode: purge.ConfirmFullPurge, ApproverMustDiffer: true}) ||
				!slices.Equal(www.Domains, []string{"www.example.com", "example.com"}) || !slices.Equal([]string(www.Channels), []string{"deploys", "C0DEPLOY01"}) {
				t.Errorf("www = %+v", www)
			}
			if docs.Confirm != (purge.ConfirmPolicy{Mode: purge.ConfirmNever, Over: 20}) || !slices.Equal(docs.Paths, []string{"/guide/*", "/api/*"}) || !slices.Equal(docs.Users, []string{"U0ALICE01", "U0BOB0001"}) {
				t.Errorf("docs = %+v", docs)
			}
			if shop.DistributionID != "dt_2abcDEF123" || shop.RoleARN != "arn:aws:iam::123456789012:role/cdnpurge" || !slices.Equal(shop.UserGroups, []string{"S0WEBTEAM1"}) {
				t.Errorf("shop = %+v", shop)
			}
		})
	}
}

// TestTargetsFromEnv checks that without a file the environment's single
// target is served as the tutorial's was: unnamed, from its channels.
func TestTargetsFromEnv(t *testing.T) {
	cfg := FromEnv(env(map[string]string{EnvDistributionID: "E2QWRUHEXAMPLE", EnvSigningSecret: "s-0123456789abcdef0123456789abcd", EnvChannels: "deploys", EnvConfirm: "always"}))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ts, err := cfg.Targets()
	if err != nil {
		t.Fatal(err)
	}
	d := ts.Default()
	if len(ts.All()) != 1 || d.Name != "" || d.DistributionID != "E2QWRUHEXAMPLE" || d.Confirm.Mode != purge.ConfirmAlways || cfg.Ignored() != nil {
		t.Fatalf("single target = %+v", d)
	}
}
