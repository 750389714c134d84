package config

import (
	"strings"
	"testing"
)

// TestSocketModeSecrets: with an app token (Socket Mode) the signing secret
// may go, but the approval buttons still need a seal secret, from
// CDNPURGE_SEAL_SECRET or the signing secret; the token must be an
// app-level one. No error shows a value.
func TestSocketModeSecrets(t *testing.T) {
	const (
		appToken = "xapp-1-A0-1-SOCKETTOKENNEVERSHOWN"
		signing  = "topsecretsigning-0123456789abcde"
		seal     = "sealsecret-0123456789abcdef0123456789"
	)
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string // "" for valid
		wantSeal string
	}{
		{name: "app token and seal secret", env: map[string]string{EnvSlackAppToken: appToken, EnvSealSecret: seal}, wantSeal: seal},
		{name: "app token and signing secret", env: map[string]string{EnvSlackAppToken: appToken, EnvSigningSecret: signing}, wantSeal: signing},
		{name: "seal secret wins over the signing secret", env: map[string]string{EnvSlackAppToken: appToken, EnvSigningSecret: signing, EnvSealSecret: seal}, wantSeal: seal},
		{name: "app token alone", env: map[string]string{EnvSlackAppToken: appToken}, wantErr: EnvSealSecret + " is not set: in Socket Mode"},
		{name: "not an app token", env: map[string]string{EnvSlackAppToken: "xoxb-SOCKETTOKENNEVERSHOWN", EnvSealSecret: seal}, wantErr: EnvSlackAppToken + " is not a Slack app-level token: it must start with xapp-"},
		{name: "short seal secret", env: map[string]string{EnvSlackAppToken: appToken, EnvSealSecret: "short"}, wantErr: EnvSealSecret + " is too short"},
		{name: "neither token nor signing secret", env: map[string]string{}, wantErr: EnvSigningSecret + " is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{EnvDistributionID: "E2QWRUHEXAMPLE", EnvChannels: "deploys"}
			for k, v := range tt.env {
				vars[k] = v
			}
			cfg := FromEnv(env(vars))
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := cfg.SealKey().Value(); got != tt.wantSeal {
					t.Errorf("SealKey = %q, want %q", got, tt.wantSeal)
				}
				if !cfg.SocketMode() {
					t.Error("SocketMode = false with an app token")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
			}
			for _, secret := range []string{"SOCKETTOKENNEVERSHOWN", signing, seal} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}
