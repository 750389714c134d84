package emulator_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// TestAccessKeyOfSDK: the emulator records the access key ID the SDK signed
// CreateInvalidation with, on a distribution and on a tenant, whichever
// credentials the client has (here a temporary one, as an assumed role's).
func TestAccessKeyOfSDK(t *testing.T) {
	e, srv := MustStartEmulator(t, emulator.Options{})
	ctx := context.Background()
	static := MustSDKClient(t, srv) // signs with AKIDEXAMPLE
	assumed := func(o *cloudfront.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("ASIAASSUMEDROLE0001", "assumed-secret", "assumed-session-token")
	}
	tests := []struct {
		name   string
		create func() (*string, error)
		want   string
	}{
		{"distribution", func() (*string, error) {
			out, err := static.CreateInvalidation(ctx, batch("d1", "/a"))
			return invalidationID(out, err)
		}, "AKIDEXAMPLE"},
		{"tenant", func() (*string, error) {
			out, err := static.CreateInvalidationForDistributionTenant(ctx, tenantBatch("t1", "/a"))
			if err != nil {
				return nil, err
			}
			return out.Invalidation.Id, nil
		}, "AKIDEXAMPLE"},
		{"temporary credentials", func() (*string, error) {
			out, err := static.CreateInvalidation(ctx, batch("d2", "/a"), assumed)
			return invalidationID(out, err)
		}, "ASIAASSUMEDROLE0001"},
		{"a repeat keeps the creator's key", func() (*string, error) {
			out, err := static.CreateInvalidation(ctx, batch("d2", "/a"))
			return invalidationID(out, err)
		}, "ASIAASSUMEDROLE0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.create()
			if err != nil {
				t.Fatal(err)
			}
			if got := e.AccessKeyOf(aws.ToString(id)); got != tt.want {
				t.Errorf("AccessKeyOf(%s) = %q, want %q", aws.ToString(id), got, tt.want)
			}
		})
	}
	if got := e.AccessKeyOf("I0000000000000"); got != "" {
		t.Errorf("AccessKeyOf(unknown) = %q, want empty", got)
	}
}

func invalidationID(out *cloudfront.CreateInvalidationOutput, err error) (*string, error) {
	if err != nil {
		return nil, err
	}
	return out.Invalidation.Id, nil
}

// TestAccessKeyOfHeader: what the emulator makes of Authorization headers,
// and that neither the key nor the signature reaches its log.
func TestAccessKeyOfHeader(t *testing.T) {
	const signature = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	tests := []struct {
		name string
		auth string
		want string
	}{
		{"SigV4", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240501/us-east-1/cloudfront/aws4_request, " +
			"SignedHeaders=host;x-amz-date, Signature=" + signature, "AKIAIOSFODNN7EXAMPLE"},
		{"SigV4 without spaces", "AWS4-HMAC-SHA256 SignedHeaders=host,Credential=AKIAIOSFODNN7EXAMPLE/20240501/us-east-1/cloudfront/aws4_request,Signature=" + signature, "AKIAIOSFODNN7EXAMPLE"},
		{"SigV4a", "AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240501/cloudfront/aws4_request, SignedHeaders=host, Signature=" + signature, "AKIAIOSFODNN7EXAMPLE"},
		{"unsigned", "", ""},
		{"other scheme", "Basic QUtJRDpzZWNyZXQ=", ""},
		{"no Credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + signature, ""},
		{"no scope", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE, Signature=" + signature, ""},
		{"empty key", "AWS4-HMAC-SHA256 Credential=/20240501/us-east-1/cloudfront/aws4_request", ""},
		{"key with odd characters", "AWS4-HMAC-SHA256 Credential=AKID<script>/20240501/us-east-1/cloudfront/aws4_request", ""},
		{"key too long", "AWS4-HMAC-SHA256 Credential=" + strings.Repeat("A", 129) + "/20240501/us-east-1/cloudfront/aws4_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := emulator.New(emulator.Options{
				Distributions: []string{testDistribution},
				Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			req := httptest.NewRequest(http.MethodPost, distPath, strings.NewReader(mustFixture(t, "create_invalidation_request.xml")))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			id := invalidationIDRE.FindString(rec.Body.String())
			if got := e.AccessKeyOf(id); got != tt.want {
				t.Errorf("AccessKeyOf = %q, want %q", got, tt.want)
			}
			for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", signature} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log has %q:\n%s", secret, logs.String())
				}
			}
		})
	}
}
