package testutil

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// MustCreateSecret creates a Secrets Manager secret holding value as its
// SecretString at endpoint (moto_server), in region, and returns its ARN.
func MustCreateSecret(tb testing.TB, endpoint, region, name, value string) string {
	tb.Helper()
	cfg := AWSConfig()
	cfg.Region = region
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	out, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		tb.Fatalf("CreateSecret %q: %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// MustPutParameter puts an SSM parameter of type typ (SecureString, String,
// StringList) at endpoint (moto_server), in region; name starts with a
// slash. It returns the parameter's ARN, as account 123456789012 (moto's).
func MustPutParameter(tb testing.TB, endpoint, region, name, value string, typ ssmtypes.ParameterType) string {
	tb.Helper()
	cfg := AWSConfig()
	cfg.Region = region
	c := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := c.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ}); err != nil {
		tb.Fatalf("PutParameter %q: %v", name, err)
	}
	return "arn:aws:ssm:" + region + ":123456789012:parameter" + name
}
