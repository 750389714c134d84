package awssecret_test

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cdnpurge/cdnpurge/internal/awssecret"
	"github.com/cdnpurge/cdnpurge/internal/secretarn"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

var (
	//go:embed testdata/access_denied_secretsmanager.json
	deniedSecretsManager []byte
	//go:embed testdata/access_denied_ssm.json
	deniedSSM []byte
)

// The values the tests store. Each is distinctive, so that finding one in
// an error is a leak.
const (
	valueSigning = "SIGNINGVALUE-0d3e8b1f6a2c4e7d9b0a1c2d3e4f5a6b"
	valueWest    = "WESTVALUE-7c1d2e3f"
	valueToken   = "TOKENVALUE-5a4b3c2d"
	valuePlain   = "PLAINVALUE-9e8d7c6b"
)

// mustConfig loads the AWS configuration as cdnpurge does, from the SDK's
// chain, with the endpoints of env (AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_SSM) set in the process's environment for the test.
func mustConfig(t *testing.T, env map[string]string) aws.Config {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testutil.AWSAccessKeyID, testutil.AWSSecretKey, "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustParse(t *testing.T, s string) secretarn.ARN {
	t.Helper()
	a, err := secretarn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestReadMoto reads secrets and parameters from moto_server as Secrets
// Manager and SSM, through the SDK's own endpoint variables.
func TestReadMoto(t *testing.T) {
	moto := testutil.MustStartMoto(t)
	signing := testutil.MustCreateSecret(t, moto, "us-east-1", "cdnpurge/signing", valueSigning)
	west := testutil.MustCreateSecret(t, moto, "us-west-2", "cdnpurge/west", valueWest)
	token := testutil.MustPutParameter(t, moto, "us-east-1", "/cdnpurge/cloudflare-token", valueToken, ssmtypes.ParameterTypeSecureString)
	plain := testutil.MustPutParameter(t, moto, "us-east-1", "/cdnpurge/plain", valuePlain, ssmtypes.ParameterTypeString)
	list := testutil.MustPutParameter(t, moto, "us-east-1", "/cdnpurge/list", valuePlain+",b", ssmtypes.ParameterTypeStringList)
	missingSecret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/missing-AbCdEf"
	missingParam := "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/missing"
	cfg := mustConfig(t, map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto, "AWS_ENDPOINT_URL_SSM": moto})

	cases := []struct {
		name string
		arns []string
		want map[string]string
		kind awssecret.Kind // of every error; Unknown for none
		errs []string       // parts of the error
	}{
		{name: "secret and SecureString", arns: []string{signing, token},
			want: map[string]string{signing: valueSigning, token: valueToken}},
		{name: "secret in another region", arns: []string{west}, want: map[string]string{west: valueWest}},
		{name: "same ARN twice", arns: []string{signing, signing}, want: map[string]string{signing: valueSigning}},
		{name: "String parameter refused", arns: []string{plain}, kind: awssecret.NotEncrypted,
			errs: []string{plain, "not SecureString", "not encrypted"}},
		{name: "StringList parameter refused", arns: []string{list}, kind: awssecret.NotEncrypted,
			errs: []string{list, "StringList", "not encrypted"}},
		{name: "missing secret", arns: []string{signing, missingSecret}, kind: awssecret.NotFound,
			errs: []string{missingSecret, "not found in Secrets Manager"}},
		{name: "missing parameter", arns: []string{missingParam}, kind: awssecret.NotFound,
			errs: []string{missingParam, "not found in SSM"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var arns []secretarn.ARN
			for _, s := range c.arns {
				arns = append(arns, mustParse(t, s))
			}
			got, err := awssecret.Read(context.Background(), cfg, arns, awssecret.Options{})
			checkRead(t, got, err, c.want, c.kind, c.errs)
		})
	}
}

// TestReadRefused reads from stand-ins that deny the read with AWS's own
// AccessDeniedException body (moto_server allows every read), and from an
// address that refuses connections.
func TestReadRefused(t *testing.T) {
	deny := func(body []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("x-amzn-RequestId", "8c1f2b3a-0000-4000-8000-000000000000")
			w.WriteHeader(http.StatusBadRequest)
			w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	secret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/signing-AbCdEf"
	param := "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/token"
	refusing := "http://" + testutil.MustRefusingAddr(t)
	cases := []struct {
		name   string
		env    map[string]string
		arn    string
		kind   awssecret.Kind
		action string
		errs   []string
	}{
		{name: "Secrets Manager denies", env: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": deny(deniedSecretsManager)},
			arn: secret, kind: awssecret.PermissionDenied, action: awssecret.ActionGetSecretValue,
			errs: []string{secret, "the role lacks secretsmanager:GetSecretValue", "kms:Decrypt"}},
		{name: "SSM denies", env: map[string]string{"AWS_ENDPOINT_URL_SSM": deny(deniedSSM)},
			arn: param, kind: awssecret.PermissionDenied, action: awssecret.ActionGetParameter,
			errs: []string{param, "the role lacks ssm:GetParameter", "kms:Decrypt"}},
		{name: "Secrets Manager unreachable", env: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": refusing},
			arn: secret, kind: awssecret.Unreachable, errs: []string{secret, "could not reach Secrets Manager in us-east-1 (connection refused)"}},
		{name: "SSM unreachable", env: map[string]string{"AWS_ENDPOINT_URL_SSM": refusing},
			arn: param, kind: awssecret.Unreachable, errs: []string{param, "could not reach SSM in us-east-1 (connection refused)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustConfig(t, c.env)
			got, err := awssecret.Read(context.Background(), cfg, []secretarn.ARN{mustParse(t, c.arn)}, awssecret.Options{Timeout: time.Minute})
			checkRead(t, got, err, nil, c.kind, c.errs)
			var e *awssecret.Error
			if errors.As(err, &e) && e.Action != c.action {
				t.Errorf("Action = %q, want %q", e.Action, c.action)
			}
		})
	}
}

// checkRead checks Read's answer: the values wanted, or an error of kind
// holding each of errs and none of the stored values.
func checkRead(t *testing.T, got map[string]string, err error, want map[string]string, kind awssecret.Kind, errs []string) {
	t.Helper()
	if kind == awssecret.Unknown {
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(got) != len(want) {
			t.Errorf("Read = %d values, want %d", len(got), len(want))
		}
		for arn, v := range want {
			if got[arn] != v {
				t.Errorf("value of %s is not the one stored", arn)
			}
		}
		return
	}
	if err == nil {
		t.Fatalf("Read returned %d values and no error; want a %v error", len(got), kind)
	}
	if got != nil {
		t.Errorf("Read returned values with its error")
	}
	var e *awssecret.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Errorf("Read error %v: kind %v, want %v", err, e, kind)
	}
	for _, part := range errs {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	for _, v := range []string{valueSigning, valueWest, valueToken, valuePlain, testutil.AWSSecretKey} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}
