package awssecret

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
)

func TestAPIError(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		code   string // "" for an HTTP status error
		kind   awserr.Kind
	}{
		{name: "namespaced type", status: 400, body: `{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"gone"}`, code: "ParameterNotFound"},
		{name: "plain type", status: 400, body: `{"__type":"AccessDeniedException","Message":"no"}`, code: "AccessDeniedException", kind: awserr.PermissionDenied},
		{name: "type with a suffix", status: 400, body: `{"__type":"ThrottlingException:http://internal.amazon.com/"}`, code: "ThrottlingException", kind: awserr.Throttled},
		{name: "server error without a body", status: 503, body: ``, kind: awserr.ServerError},
		{name: "throttled without a body", status: 429, body: `<html>`, kind: awserr.Throttled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := apiError(&http.Response{StatusCode: c.status, Header: http.Header{}}, []byte(c.body))
			var api smithy.APIError
			if got := ""; errors.As(err, &api) {
				got = api.ErrorCode()
				if got != c.code {
					t.Errorf("code %q, want %q", got, c.code)
				}
			} else if c.code != "" {
				t.Errorf("%v is no API error, want code %q", err, c.code)
			}
			if k := awserr.Of(err); k != c.kind {
				t.Errorf("awserr.Of = %v, want %v", k, c.kind)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	cases := []struct {
		name, partition, region string
		svc                     service // getParameter if zero
		base                    *string
		want, err               string
	}{
		{name: "aws", partition: "aws", region: "eu-west-1", want: "https://ssm.eu-west-1.amazonaws.com/"},
		{name: "Secrets Manager", partition: "aws", region: "eu-west-1", svc: getSecretValue, want: "https://secretsmanager.eu-west-1.amazonaws.com/"},
		{name: "Secrets Manager, unknown domain", partition: "aws-iso", region: "us-iso-east-1", svc: getSecretValue, err: "set AWS_ENDPOINT_URL_SECRETS_MANAGER"},
		{name: "GovCloud", partition: "aws-us-gov", region: "us-gov-west-1", want: "https://ssm.us-gov-west-1.amazonaws.com/"},
		{name: "China", partition: "aws-cn", region: "cn-north-1", want: "https://ssm.cn-north-1.amazonaws.com.cn/"},
		{name: "AWS_ENDPOINT_URL", partition: "aws", region: "us-east-1", base: aws.String("http://127.0.0.1:5000"), want: "http://127.0.0.1:5000"},
		{name: "unknown domain", partition: "aws-iso", region: "us-iso-east-1", err: "set AWS_ENDPOINT_URL_SSM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := c.svc
			if svc == (service{}) {
				svc = getParameter
			}
			got, err := endpoint(context.Background(), aws.Config{BaseEndpoint: c.base}, svc, c.partition, c.region)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("endpoint = %q, %v; want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("endpoint = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// FuzzAPIError checks that no error answer makes apiError panic, and that
// the code it takes from __type is bare: no namespace, no suffix.
func FuzzAPIError(f *testing.F) {
	f.Add(400, []byte(`{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"x"}`))
	f.Add(500, []byte(`{"__type":"a#b#c:d"}`))
	f.Add(429, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := apiError(&http.Response{StatusCode: status, Header: http.Header{}}, body)
		if err == nil {
			t.Fatal("ssmError returned nil")
		}
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "" || strings.ContainsAny(api.ErrorCode(), "#:")) {
			t.Fatalf("code %q from %q", api.ErrorCode(), body)
		}
	})
}
