package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvAndValidate(t *testing.T) {
	good := map[string]string{
		EnvDistributionID: "E2QWRUHEXAMPLE",
		EnvSigningSecret:  "topsecretsigning-0123456789abcde",
		EnvChannels:       "deploys, C0DEPLOY01",
		EnvWebhookURL:     "https://hooks.slack.com/services/T0/B0/WEBHOOKTOKEN",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"good", good, nil},
		{"no webhook is fine", with(EnvWebhookURL, ""), nil},
		{"nothing set", map[string]string{}, []string{EnvDistributionID + " is not set", EnvSigningSecret + " is not set", EnvChannels + " is not set"}},
		{"bad distribution", with(EnvDistributionID, "e2-bad"), []string{`"e2-bad" does not look like`}},
		{"webhook not Slack", with(EnvWebhookURL, "https://example.com/hook/WEBHOOKTOKEN"), []string{EnvWebhookURL + " is not usable"}},
		{"loopback webhook needs dev flag", with(EnvWebhookURL, "http://127.0.0.1:9/WEBHOOKTOKEN"), []string{EnvWebhookURL + " is not usable"}},
		{"bad endpoint", with(EnvCloudFrontEndpoint, "localhost:4566"), []string{EnvCloudFrontEndpoint}},
		{"confirmation", with(EnvConfirm, "full-purge"), nil},
		{"bad confirmation", with(EnvConfirm, "maybe"), []string{EnvConfirm, "never, full-purge, always"}},
		{"bad threshold", with(EnvConfirmOver, "ten"), []string{EnvConfirmOver}},
		{"bad approver flag", with(EnvApproverMustDiffer, "yes"), []string{EnvApproverMustDiffer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := FromEnv(env(tt.env))
			err := cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{"topsecretsigning-0123456789abcde", "WEBHOOKTOKEN"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks %q: %v", secret, err)
				}
			}
		})
	}
	cfg := FromEnv(env(with(EnvDevAllowLoopback, "1")))
	cfg.WebhookURL = "http://127.0.0.1:9/hook"
	if err := cfg.Validate(); err != nil {
		t.Errorf("loopback webhook with the dev flag: %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg := Config{SigningSecret: "topsecretsigning-0123456789abcde", WebhookURL: "https://hooks.slack.com/services/WEBHOOKTOKEN"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "config", cfg, "secret", cfg.SigningSecret)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		if strings.Contains(out, "topsecretsigning-0123456789abcde") || strings.Contains(out, "WEBHOOKTOKEN") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if cfg.SigningSecret.Value() != "topsecretsigning-0123456789abcde" {
		t.Error("Value lost the secret")
	}
}

func TestConfirmFromEnv(t *testing.T) {
	cfg := FromEnv(env(map[string]string{EnvConfirm: "always", EnvConfirmOver: "25", EnvApproverMustDiffer: "1"}))
	if cfg.Confirm.Mode != "always" || cfg.Confirm.Over != 25 || !cfg.Confirm.ApproverMustDiffer {
		t.Fatalf("Confirm = %+v", cfg.Confirm)
	}
	if def := FromEnv(env(nil)); def.Confirm.Mode != "never" || def.Confirm.Over != 0 || def.Confirm.ApproverMustDiffer {
		t.Fatalf("default Confirm = %+v: the tutorial's behaviour is to purge at once", def.Confirm)
	}
}

// TestSigningSecretLength checks that a signing secret shorter than Slack's
// 32 characters is refused at start, saying what to do and never showing
// the value, unless CDNPURGE_DEV_ALLOW_LOOPBACK allows local stand-ins.
func TestSigningSecretLength(t *testing.T) {
	const short = "dev-secret"
	tests := []struct {
		name    string
		secret  string
		dev     string
		wantErr bool
	}{
		{"Slack's length", "8f742231b10e8888abcd99yyyzzz85a5", "", false},
		{"longer", "8f742231b10e8888abcd99yyyzzz85a5-and-more", "", false},
		{"short", short, "", true},
		{"one short of Slack's", "8f742231b10e8888abcd99yyyzzz85a", "", true},
		{"short, for a local run", short, "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := FromEnv(env(map[string]string{
				EnvDistributionID: "E2QWRUHEXAMPLE", EnvChannels: "deploys", EnvSigningSecret: tt.secret, EnvDevAllowLoopback: tt.dev,
			})).Validate()
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			want := EnvSigningSecret + " is shorter than a Slack signing secret (32 characters): copy the whole Signing Secret from Basic Information → App Credentials (a shorter one is accepted only for local runs, with CDNPURGE_DEV_ALLOW_LOOPBACK=1)"
			if err.Error() != want {
				t.Errorf("Validate = %q, want %q", err, want)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}
