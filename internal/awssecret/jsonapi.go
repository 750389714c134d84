package awssecret

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
)

// A service called over the AWS JSON 1.1 protocol: one operation of it.
type service struct {
	// sdkID is the service's ID, which names its endpoint settings
	// (AWS_ENDPOINT_URL_SECRETS_MANAGER, the config file's services
	// entry "secrets_manager").
	sdkID string
	// name is its signing name and the first label of its host.
	name string
	// target is the operation (X-Amz-Target).
	target string
}

var (
	getSecretValue = service{sdkID: "Secrets Manager", name: "secretsmanager", target: "secretsmanager.GetSecretValue"}
	getParameter   = service{sdkID: "SSM", name: "ssm", target: "AmazonSSM.GetParameter"}
)

// maxResponse bounds an answer: a secret is at most 64 KB, a parameter
// 8 KB.
const maxResponse = 1 << 20

// attempts is how many times a throttled or failed call is sent, and
// maxBackoff the longest wait between two.
const (
	attempts   = 3
	maxBackoff = time.Second
)

// backoff is the SDK's own jittered exponential backoff, which its
// standard retryer waits with.
var backoff = retry.NewExponentialJitterBackoff(maxBackoff)

// call calls svc's operation in region with in as its JSON input and
// decodes the answer into out: the AWS JSON 1.1 protocol, signed with the
// SDK's own SigV4 signer, sent with cfg's HTTP client and credentials, to
// the endpoint the SDK's settings give (see endpoint).
//
// It is written by hand instead of through service/secretsmanager's and
// service/ssm's clients because importing those packages costs every start
// of cdnpurge, with an ARN or without, their package initialization (their
// schemas and endpoint tables: about 5.5 ms for ssm, 0.5 ms for
// secretsmanager, measured with GODEBUG=inittrace=1) and 1.9 MB of binary,
// for two operations most deployments never call; a Lambda pays it on each
// cold start. The SDK's clients stay in the tests, which set up
// moto_server with them.
func call(ctx context.Context, cfg aws.Config, svc service, partition, region string, in, out any) error {
	url, err := endpoint(ctx, cfg, svc, partition, region)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	var lastErr error
	for attempt := range attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(lastErr, ctx.Err())
			case <-time.After(wait(attempt, lastErr)):
			}
		}
		err := send(ctx, cfg, svc, url, region, body, hex.EncodeToString(sum[:]), out)
		if err == nil {
			return nil
		}
		lastErr = err
		if k := awserr.Of(err); k != awserr.Throttled && k != awserr.ServerError {
			return err
		}
	}
	return lastErr
}

// wait is how long to wait before attempt (1 for the second), after err.
func wait(attempt int, err error) time.Duration {
	d, berr := backoff.BackoffDelay(attempt, err)
	if berr != nil {
		return maxBackoff
	}
	return d
}

func send(ctx context.Context, cfg aws.Config, svc service, url, region string, body []byte, payloadHash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", svc.target)
	if cfg.Credentials == nil {
		return &smithy.GenericAPIError{Code: "MissingAuthenticationToken", Message: "no AWS credentials"}
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return &smithy.GenericAPIError{Code: "MissingAuthenticationToken", Message: "AWS credentials: " + err.Error()}
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payloadHash, svc.name, region, time.Now()); err != nil {
		return err
	}
	var client aws.HTTPClient = http.DefaultClient
	if cfg.HTTPClient != nil {
		client = cfg.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// The answer holds the value: it is not quoted.
		return fmt.Errorf("the answer to %s is not JSON", svc.target)
	}
	return nil
}

// apiError is the API error of an AWS JSON 1.1 error answer, its code
// from __type ("com.amazonaws.ssm#ParameterNotFound" or
// "ParameterNotFound"), so that awserr and classify sort it as they do the
// SDK's; an answer without a code is the HTTP status's error.
func apiError(resp *http.Response, raw []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &e)
	code := e.Type
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":")
	if code == "" {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: e.Message + e.Message2, Fault: fault}
}

// endpoint is where svc is called: the endpoint configured the SDK's way
// (AWS_ENDPOINT_URL_SSM or AWS_ENDPOINT_URL_SECRETS_MANAGER, the config
// file's services section, or AWS_ENDPOINT_URL, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), read from cfg's configuration
// sources as the SDK's clients read it; else the service's regional
// endpoint in the partitions whose domain is known.
func endpoint(ctx context.Context, cfg aws.Config, svc service, partition, region string) (string, error) {
	type ignoreProvider interface {
		GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
	}
	type endpointProvider interface {
		GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
	}
	ignore := false
	for _, s := range cfg.ConfigSources {
		if p, ok := s.(ignoreProvider); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				ignore = v
				break
			}
		}
	}
	if !ignore {
		for _, s := range cfg.ConfigSources {
			if p, ok := s.(endpointProvider); ok {
				if v, found, err := p.GetServiceBaseEndpoint(ctx, svc.sdkID); err == nil && found {
					return v, nil
				}
			}
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return *cfg.BaseEndpoint, nil
		}
	}
	switch partition {
	case "aws", "aws-us-gov":
		return "https://" + svc.name + "." + region + ".amazonaws.com/", nil
	case "aws-cn":
		return "https://" + svc.name + "." + region + ".amazonaws.com.cn/", nil
	}
	return "", fmt.Errorf("the %s endpoint of partition %s is not known here: set AWS_ENDPOINT_URL_%s", svc.sdkID, partition, strings.ToUpper(strings.ReplaceAll(svc.sdkID, " ", "_")))
}
