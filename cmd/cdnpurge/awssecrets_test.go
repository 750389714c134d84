package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// awsSecretsWorld is the e2e world with its signing secret and its
// Cloudflare and Fastly tokens in moto_server instead of the environment:
// the signing secret in Secrets Manager, the Cloudflare token as an SSM
// SecureString, the Fastly token in Secrets Manager in another region.
type awsSecretsWorld struct {
	*e2eWorld
	moto string
	// vars is the environment, the secrets replaced by their ARNs.
	vars map[string]string
}

func mustStartAWSSecretsWorld(t *testing.T) *awsSecretsWorld {
	t.Helper()
	moto := testutil.MustStartMoto(t)
	w := mustStartE2EWorld(t)
	vars := w.vars()
	delete(vars, config.EnvSigningSecret)
	vars[config.EnvSigningSecretARN] = testutil.MustCreateSecret(t, moto, "us-east-1", "cdnpurge/signing", lambdaSecret)
	vars[e2eCFEnv] = testutil.MustPutParameter(t, moto, "us-east-1", "/cdnpurge/cloudflare", w.cloudflareToken, ssmtypes.ParameterTypeSecureString)
	vars[e2eFastlyEnv] = testutil.MustCreateSecret(t, moto, "eu-west-1", "cdnpurge/fastly", w.fastlyToken)
	// The SDK's own endpoint variables; moto_server plays both services.
	vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = moto
	vars["AWS_ENDPOINT_URL_SSM"] = moto
	vars["AWS_REGION"] = "us-east-1"
	return &awsSecretsWorld{e2eWorld: w, moto: moto, vars: vars}
}

// purgeShopAndNews sends the Cloudflare and the Fastly purge of the e2e
// world, signed with the signing secret, and checks both reached their
// APIs with the tokens read from moto (the emulator accepts no other).
func (w *awsSecretsWorld) purgeShopAndNews(t *testing.T, send e2eSend, triggerPrefix string) {
	t.Helper()
	for i, p := range e2ePurges[1:3] {
		m := send(t, p.text, triggerPrefix+string(rune('0'+i)))
		if m.ResponseType != slackapi.ResponseTypeInChannel || !strings.Contains(m.Text, p.reply) {
			t.Fatalf("%q: reply %s %q, want in_channel with %q", p.text, m.ResponseType, m.Text, p.reply)
		}
		if post := w.audit.Next(t); !strings.Contains(post.Text, p.audit) {
			t.Errorf("%q: audit post %q, want %q", p.text, post.Text, p.audit)
		}
	}
	checkCloudflare(t, w.e2eWorld)
	checkFastly(t, w.e2eWorld)
}

// TestSecretsFromAWSThroughServe starts serve as `cdnpurge serve` does
// (appFromEnv), its secrets read from moto_server, and serves a signed
// command to the Cloudflare and the Fastly target; no secret shows in a
// log line.
func TestSecretsFromAWSThroughServe(t *testing.T) {
	w := mustStartAWSSecretsWorld(t)
	// The SDK reads its endpoint variables from the process's
	// environment.
	for _, k := range []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_REGION"} {
		t.Setenv(k, w.vars[k])
	}
	var logs testutil.LockedBuffer
	_, a, err := appFromEnv(t.Context(), env{getenv: func(k string) string { return w.vars[k] }, stdout: &logs, stderr: &logs}, modeServe)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	send := func(t *testing.T, text, trigger string) *slackapi.WebhookMessage {
		t.Helper()
		status, raw := postForm(t, a.URL(), w.form(text, trigger))
		return w.reply(t, text, status, raw)
	}
	w.purgeShopAndNews(t, send, "aws.serve.")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Error(err)
	}
	if want := `"msg":"secrets read from AWS","from":["` + config.EnvSigningSecretARN; !strings.Contains(logs.String(), want) {
		t.Errorf("the log lacks %s\n%s", want, logs.String())
	}
	assertNoSecrets(t, w.secrets(), map[string][]string{
		"log line": strings.Split(strings.TrimSpace(logs.String()), "\n"),
		"reply":    w.replies,
	})
}

// TestSecretsFromAWSUnderRIE runs the real bootstrap under aws-lambda-rie
// with its secrets in moto_server, and serves the same signed commands as
// Function URL events.
func TestSecretsFromAWSUnderRIE(t *testing.T) {
	rie := findRIE(t)
	w := mustStartAWSSecretsWorld(t)
	bootstrap := buildBootstrap(t)
	// startRIE sets the signing secret itself: the later, empty, value
	// wins, so that only its _ARN is set.
	extra := []string{config.EnvSigningSecret + "="}
	for k, v := range w.vars {
		extra = append(extra, k+"="+v)
	}
	invoke, output := startRIE(t, rie, bootstrap, extra)
	send := w.rieSend(invoke)
	w.purgeShopAndNews(t, send, "aws.rie.")
	assertNoSecrets(t, w.secrets(), map[string][]string{
		"line of the function's output": strings.Split(strings.TrimSpace(output.String()), "\n"),
		"reply":                         w.replies,
	})
}

// TestSecretsRefusedAtStart checks that a secret AWS will not give stops
// serve, the Lambda and invalidate before anything starts, with exit code 1
// (a configuration error), the variable, the ARN and the IAM action
// missing, and never a value; and that with no ARN no AWS call is made.
func TestSecretsRefusedAtStart(t *testing.T) {
	moto := testutil.MustStartMoto(t)
	const plainValue = "PLAINPARAMETERVALUE-4e5f6a7b"
	plain := testutil.MustPutParameter(t, moto, "us-east-1", "/cdnpurge/plain", plainValue, ssmtypes.ParameterTypeString)
	missing := "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/missing-AbCdEf"
	deniedSecret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/signing-AbCdEf"
	deniedParam := "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/token"
	deny := func(fixture string) string {
		body, err := os.ReadFile(filepath.Join("..", "..", "internal", "awssecret", "testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// counting stands in for both services where no call may be made.
	var calls atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(counting.Close)
	emu := testutil.MustEmulator(t, time.Hour)
	shop := "targets:\n  - {name: shop, provider: cloudflare, zone: 023e105f4ecef8ad9ca31a8372d0c353, token_env: SHOP_TOKEN, domains: [shop.example.com], channels: [deploys]}\n"

	base := map[string]string{
		config.EnvDistributionID: defaultDistributionID, config.EnvChannels: "deploys",
		config.EnvCloudFrontEndpoint: emu, config.EnvDevAllowLoopback: "1",
	}
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		endpoints string // AWS_ENDPOINT_URL_SECRETS_MANAGER and _SSM
		code      int
		errs      []string
	}{
		{name: "serve: signing secret denied", args: []string{"serve", "--addr", "127.0.0.1:0"},
			env: map[string]string{config.EnvSigningSecretARN: deniedSecret}, endpoints: deny("access_denied_secretsmanager.json"), code: 1,
			errs: []string{"configuration:", config.EnvSigningSecretARN + ": " + deniedSecret + ": the role lacks secretsmanager:GetSecretValue"}},
		{name: "lambda: signing secret missing", env: map[string]string{config.EnvSigningSecretARN: missing, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"},
			endpoints: moto, code: 1, errs: []string{"cdnpurge lambda: configuration:", config.EnvSigningSecretARN + ": " + missing + ": not found in Secrets Manager"}},
		{name: "serve: webhook URL not a SecureString", args: []string{"serve", "--addr", "127.0.0.1:0"},
			env: map[string]string{config.EnvSigningSecret: lambdaSecret, config.EnvWebhookURLARN: plain}, endpoints: moto, code: 1,
			errs: []string{config.EnvWebhookURLARN + ": " + plain + ": the parameter is of type String, not SecureString"}},
		{name: "invalidate: token denied", args: []string{"invalidate", "--target", "shop", "/a"},
			env: map[string]string{config.EnvConfigYAML: shop, "SHOP_TOKEN": deniedParam}, endpoints: deny("access_denied_ssm.json"), code: 1,
			errs: []string{"SHOP_TOKEN: " + deniedParam + ": the role lacks ssm:GetParameter"}},
		{name: "serve: both ways", args: []string{"serve", "--addr", "127.0.0.1:0"},
			env:       map[string]string{config.EnvSigningSecret: lambdaSecret, config.EnvSigningSecretARN: deniedSecret},
			endpoints: counting.URL, code: 1, errs: []string{config.EnvSigningSecret + " and " + config.EnvSigningSecretARN + " are both set"}},
		{name: "serve: malformed ARN", args: []string{"serve", "--addr", "127.0.0.1:0"},
			env:       map[string]string{config.EnvSigningSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:cdnpurge"},
			endpoints: counting.URL, code: 1, errs: []string{config.EnvSigningSecretARN + ": the ARN's resource", "secret:NAME"}},
		{name: "status: no ARN, no AWS call", args: []string{"status", "--distribution", defaultDistributionID},
			env: map[string]string{}, endpoints: counting.URL, code: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", c.endpoints)
			t.Setenv("AWS_ENDPOINT_URL_SSM", c.endpoints)
			t.Setenv("AWS_REGION", "us-east-1")
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range c.env {
				m[k] = v
			}
			before := calls.Load()
			code, _, stderr := runCmd(t, func(k string) string { return m[k] }, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			for _, part := range c.errs {
				if !strings.Contains(stderr, part) {
					t.Errorf("stderr lacks %q:\n%s", part, stderr)
				}
			}
			for _, s := range []string{plainValue, lambdaSecret} {
				if strings.Contains(stderr, s) {
					t.Errorf("stderr shows a secret:\n%s", stderr)
				}
			}
			if c.endpoints == counting.URL && calls.Load() != before {
				t.Errorf("%d calls to AWS's secret services, want none", calls.Load()-before)
			}
		})
	}
}
