// Package awssecret reads secrets that live in AWS Secrets Manager or SSM
// Parameter Store, once, at start: given their ARNs, Read fetches each
// (a secret's SecretString; an SSM SecureString parameter, decrypted)
// concurrently within a bounded time. Each secret is read in the region of
// its ARN, so a secret in another region works.
//
// Errors are classified where they enter: an *Error says which ARN, what
// went wrong (Kind) and, when the role may not read it, the IAM action it
// lacks. A secret's value never appears in an error. Endpoints are the
// SDK's own: AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM
// (or AWS_ENDPOINT_URL) point the clients at a stand-in such as
// moto_server. Both operations are called over the AWS JSON protocol with
// the SDK's signer, not through the services' SDK clients: see call.
package awssecret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/secretarn"
)

// DefaultTimeout bounds Read when Options.Timeout is zero: start-up must
// not hang on an endpoint that does not answer.
const DefaultTimeout = 10 * time.Second

// The IAM actions a read needs.
const (
	ActionGetSecretValue = "secretsmanager:GetSecretValue"
	ActionGetParameter   = "ssm:GetParameter"
	ActionKMSDecrypt     = "kms:Decrypt"
)

// Kind is the class of a failed read.
type Kind int

// The kinds. Unknown is the zero value.
const (
	Unknown          Kind = iota
	PermissionDenied      // the role lacks the read action (or kms:Decrypt)
	NotFound              // no such secret or parameter (or it is marked for deletion)
	NotEncrypted          // an SSM parameter that is not a SecureString
	NoString              // a secret with no SecretString (binary only)
	Unauthenticated       // AWS did not accept the credentials
	Unreachable           // the service could not be reached, or did not answer in time
	Unavailable           // the service answered with a server error or throttled
)

// Error is a failed read of one ARN. Its text names the ARN (not secret)
// and what to do; it never holds the value.
type Error struct {
	// ARN is the secret's ARN.
	ARN string
	// Kind is what went wrong.
	Kind Kind
	// Action is the IAM action the role lacks, for PermissionDenied.
	Action string
	msg    string
	err    error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the SDK's error, if any.
func (e *Error) Unwrap() error { return e.err }

// Options tune Read.
type Options struct {
	// Timeout bounds the whole read; DefaultTimeout if zero.
	Timeout time.Duration
}

// Read reads the secret each of arns names and returns the values by ARN
// (as written). An ARN given twice is read once. Every read that fails is
// in the error, an *Error each, joined in the order of arns.
func Read(ctx context.Context, cfg aws.Config, arns []secretarn.ARN, opts Options) (map[string]string, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var unique []secretarn.ARN
	seen := map[string]bool{}
	for _, a := range arns {
		if !seen[a.String()] {
			seen[a.String()] = true
			unique = append(unique, a)
		}
	}
	values := make([]string, len(unique))
	errs := make([]error, len(unique))
	var wg sync.WaitGroup
	for i, a := range unique {
		wg.Go(func() { values[i], errs[i] = read(ctx, cfg, a) })
	}
	wg.Wait()
	out := make(map[string]string, len(unique))
	for i, a := range unique {
		if errs[i] == nil {
			out[a.String()] = values[i]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// read reads one ARN.
func read(ctx context.Context, cfg aws.Config, a secretarn.ARN) (string, error) {
	if a.Service == secretarn.SecretsManager {
		var out struct {
			SecretString *string `json:"SecretString"`
		}
		if err := call(ctx, cfg, getSecretValue, a.Partition, a.Region, map[string]string{"SecretId": a.String()}, &out); err != nil {
			return "", classify(a, err)
		}
		if out.SecretString == nil {
			return "", &Error{ARN: a.String(), Kind: NoString, msg: fmt.Sprintf(
				"%s: the secret holds no SecretString (binary only): store the value as a string", a)}
		}
		return *out.SecretString, nil
	}
	var out struct {
		Parameter *struct{ Type, Value string } `json:"Parameter"`
	}
	in := map[string]any{"Name": a.ParameterName(), "WithDecryption": true}
	if err := call(ctx, cfg, getParameter, a.Partition, a.Region, in, &out); err != nil {
		return "", classify(a, err)
	}
	if out.Parameter == nil {
		return "", &Error{ARN: a.String(), msg: fmt.Sprintf("%s: SSM answered GetParameter without the parameter", a)}
	}
	p := out.Parameter
	if t := p.Type; t != "SecureString" {
		// The value is dropped here, unseen: a plain parameter is readable
		// by anyone with ssm:GetParameter and stored unencrypted.
		return "", &Error{ARN: a.String(), Kind: NotEncrypted, msg: fmt.Sprintf(
			"%s: the parameter is of type %s, not SecureString: it is not encrypted; store the secret as a SecureString parameter (or in Secrets Manager)", a, t)}
	}
	return p.Value, nil
}

// classify turns the SDK's error for a read of a into an *Error: the
// services' own not-found errors first, then awserr's kinds.
func classify(a secretarn.ARN, err error) *Error {
	e := &Error{ARN: a.String(), err: err}
	service, action := "Secrets Manager", ActionGetSecretValue
	if a.Service == secretarn.SSM {
		service, action = "SSM", ActionGetParameter
	}
	// The services' own codes (Secrets Manager's and SSM's API
	// references) before awserr's shared ones.
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch kind := awserr.Of(err); {
	case code == "ResourceNotFoundException", code == "ParameterNotFound", code == "ParameterVersionNotFound":
		e.Kind = NotFound
		e.msg = fmt.Sprintf("%s: not found in %s (region %s, account %s): check the ARN, and that the secret is not scheduled for deletion", a, service, a.Region, a.Account)
	case code == "DecryptionFailure", code == "InvalidKeyId":
		// The service could not decrypt with the secret's KMS key: the
		// role may not use it, or the key is disabled.
		e.Kind, e.Action = PermissionDenied, ActionKMSDecrypt
		e.msg = fmt.Sprintf("%s: %s could not decrypt it: the role lacks %s on its customer-managed KMS key (through %s), or the key is disabled", a, service, ActionKMSDecrypt, service)
	case kind == awserr.PermissionDenied:
		e.Kind, e.Action = PermissionDenied, action
		e.msg = fmt.Sprintf("%s: the role lacks %s (or %s, for a customer-managed KMS key)", a, action, ActionKMSDecrypt)
	case kind == awserr.Unauthenticated:
		e.Kind = Unauthenticated
		e.msg = fmt.Sprintf("%s: %s", a, awserr.CredentialsMessage)
	case kind == awserr.Unreachable:
		e.Kind = Unreachable
		e.msg = fmt.Sprintf("%s: could not reach %s in %s (%s)", a, service, a.Region, awserr.Reason(err))
	case kind == awserr.NoAnswer:
		e.Kind = Unreachable
		e.msg = fmt.Sprintf("%s: %s in %s did not answer in time", a, service, a.Region)
	case kind == awserr.ServerError, kind == awserr.Throttled:
		e.Kind = Unavailable
		e.msg = fmt.Sprintf("%s: %s in %s is unavailable or throttling; try again", a, service, a.Region)
	default:
		// The SDK's text carries no value: a read that failed returned
		// none.
		e.msg = fmt.Sprintf("%s: %s refused the read: %v", a, service, err)
	}
	return e
}
