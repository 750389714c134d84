package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const (
	testSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdnpurge/signing-AbCdEf"
	testParamARN  = "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/cloudflare"
	// testSigningValue is what the tests read from "AWS": distinctive, so
	// that finding it in an error is a leak.
	testSigningValue = "SIGNINGFROMAWS-0123456789abcdefghij"
)

// TestSecretARNs checks which settings FromEnv takes as ARNs, and what it
// refuses: a setting given both ways, an ARN that does not parse.
func TestSecretARNs(t *testing.T) {
	base := map[string]string{
		EnvDistributionID: "E2QWRUHEXAMPLE",
		EnvChannels:       "deploys",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	file := filepath.Join("testdata", "four-providers.yaml")
	cases := []struct {
		name string
		env  map[string]string
		want []string // Variable=ARN of SecretARNs
		errs []string // parts of Validate's error, before any SetSecret
	}{
		{name: "no ARN", env: with(EnvSigningSecret, testSigningValue)},
		{name: "signing secret ARN", env: with(EnvSigningSecretARN, testSecretARN), want: []string{EnvSigningSecret + "=" + testSecretARN}},
		{name: "every Slack secret by ARN", env: with(EnvSigningSecretARN, testSecretARN, EnvWebhookURLARN, testParamARN,
			EnvBotTokenARN, testParamARN, EnvSlackAppTokenARN, testSecretARN, EnvSealSecretARN, testSecretARN),
			// By variable name.
			want: []string{EnvSealSecret + "=" + testSecretARN, EnvSlackAppToken + "=" + testSecretARN, EnvBotToken + "=" + testParamARN,
				EnvSigningSecret + "=" + testSecretARN, EnvWebhookURL + "=" + testParamARN}},
		{name: "both ways", env: with(EnvSigningSecret, testSigningValue, EnvSigningSecretARN, testSecretARN),
			errs: []string{EnvSigningSecret + " and " + EnvSigningSecretARN + " are both set"}},
		{name: "malformed ARN", env: with(EnvWebhookURLARN, "arn:aws:secretsmanager:eu-west-1:1234:secret:x"),
			errs: []string{EnvWebhookURLARN + ": the ARN's account", "12-digit"}},
		{name: "not an ARN", env: with(EnvBotTokenARN, "cdnpurge/bot"), errs: []string{EnvBotTokenARN + ": not an ARN"}},
		{name: "token_env holds an ARN", env: with(EnvConfigFile, file, EnvSigningSecret, testSigningValue,
			"CLOUDFLARE_API_TOKEN", testParamARN, "FASTLY_API_TOKEN", "fastly-token-value"),
			want: []string{"CLOUDFLARE_API_TOKEN=" + testParamARN}},
		{name: "token_env holds a malformed ARN", env: with(EnvConfigFile, file, EnvSigningSecret, testSigningValue,
			"CLOUDFLARE_API_TOKEN", "arn:aws:s3:::bucket", "FASTLY_API_TOKEN", "fastly-token-value"),
			errs: []string{`CLOUDFLARE_API_TOKEN (token_env of target "shop") holds an ARN that does not parse`, "service holds no secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env[EnvDevAllowLoopback] = "1"
			cfg := FromEnv(env(c.env))
			var got []string
			for _, s := range cfg.SecretARNs() {
				got = append(got, s.Variable+"="+s.ARN.String())
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("SecretARNs = %v, want %v", got, c.want)
			}
			if len(c.errs) > 0 {
				checkInvalid(t, cfg, c.errs, testSigningValue)
				return
			}
			for _, s := range cfg.SecretARNs() {
				cfg.SetSecret(s.Variable, values[s.Variable])
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate after SetSecret: %v", err)
			}
			if n := len(cfg.SecretARNs()); n != 0 {
				t.Errorf("SecretARNs after SetSecret: %d left", n)
			}
		})
	}
}

// values are what each setting reads from AWS in TestSecretARNs.
var values = map[string]Secret{
	EnvSigningSecret:       testSigningValue,
	EnvWebhookURL:          "http://127.0.0.1:9/services/T0/B0/WEBHOOK",
	EnvBotToken:            "xoxb-bot-from-aws",
	EnvSlackAppToken:       "xapp-app-from-aws",
	EnvSealSecret:          "SEALFROMAWS-0123456789abcdefghijkl",
	"CLOUDFLARE_API_TOKEN": "cloudflare-token-from-aws",
}

// TestSetSecretChecked checks that a value read from AWS is checked as a
// value from the environment is, its error naming the _ARN variable and
// the ARN, never the value; and that a copy of the Config made before
// SetSecret does not see the value.
func TestSetSecretChecked(t *testing.T) {
	cases := []struct {
		name, variable string
		value          Secret
		errs           []string
	}{
		{name: "short signing secret", variable: EnvSigningSecret, value: "SHORTFROMAWS-0123",
			errs: []string{EnvSigningSecret + " (read from " + EnvSigningSecretARN + ", " + testSecretARN + ") is shorter than a Slack signing secret"}},
		{name: "app token not xapp", variable: EnvSlackAppToken, value: "xoxb-APPFROMAWS-0123",
			errs: []string{EnvSlackAppToken + " (read from " + EnvSlackAppTokenARN + ", " + testSecretARN + ") is not a Slack app-level token"}},
		{name: "webhook not Slack", variable: EnvWebhookURL, value: "https://example.com/WEBHOOKFROMAWS",
			errs: []string{EnvWebhookURL + " (read from " + EnvWebhookURLARN}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{EnvDistributionID: "E2QWRUHEXAMPLE", EnvChannels: "deploys", EnvSigningSecret: testSigningValue,
				c.variable: "", c.variable + ARNSuffix: testSecretARN}
			cfg := FromEnv(env(m))
			before := cfg
			cfg.SetSecret(c.variable, c.value)
			checkInvalid(t, cfg, c.errs, c.value.Value(), testSigningValue)
			if len(before.SecretARNs()) != 1 {
				t.Errorf("a copy made before SetSecret lost its ARN")
			}
		})
	}
}

// checkInvalid checks that cfg does not validate, with an error holding
// each of parts and none of secrets.
func checkInvalid(t *testing.T, cfg Config, parts []string, secrets ...string) {
	t.Helper()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}

// TestMalformedTokenARN: a token_env variable holding an ARN that does not
// parse is reported as that, once, and never as a variable not set, nor
// quoted (it may be the token itself after "arn:").
func TestMalformedTokenARN(t *testing.T) {
	const value = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cf token SECRETVALUE"
	cfg := FromEnv(env(map[string]string{
		EnvConfigFile: filepath.Join("testdata", "four-providers.yaml"), EnvSigningSecret: testSigningValue, EnvDevAllowLoopback: "1",
		"CLOUDFLARE_API_TOKEN": value, "FASTLY_API_TOKEN": "fastly-token-value",
	}))
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	for _, bad := range []string{"CLOUDFLARE_API_TOKEN is not set", "SECRETVALUE", "cf token"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q says %q", err, bad)
		}
	}
	if n := strings.Count(err.Error(), "CLOUDFLARE_API_TOKEN"); n != 1 {
		t.Errorf("CLOUDFLARE_API_TOKEN named %d times, want once: %v", n, err)
	}
	for _, tgt := range cfg.File.Targets {
		if got := cfg.TokenError(tgt); (got != nil) != (tgt.TokenEnv == "CLOUDFLARE_API_TOKEN") {
			t.Errorf("TokenError(%s) = %v", tgt.Name, got)
		}
	}
}
