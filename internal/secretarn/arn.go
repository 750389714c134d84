// Package secretarn parses the ARNs that say where a secret lives: a
// Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)
// or an SSM parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME). It needs
// no AWS SDK, so that internal/config can check an ARN where it is read;
// internal/awssecret reads what the ARN names.
package secretarn

import (
	"errors"
	"fmt"
	"strings"
)

// The services whose ARNs name a secret.
const (
	SecretsManager = "secretsmanager"
	SSM            = "ssm"
)

// maxLen bounds an ARN: IAM's limit for a resource ARN is 2048 characters.
const maxLen = 2048

// partitions are AWS's partitions, so that a typo ("aws-us") is refused
// where it is read rather than as an unknown endpoint at start.
var partitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

// ARN is a parsed secret ARN. Its fields are never secret.
type ARN struct {
	Partition string // aws, aws-cn, aws-us-gov, ...
	Service   string // SecretsManager or SSM
	Region    string // the region of the secret, where its client is sent
	Account   string // 12 digits
	// Resource is what follows the account: "secret:NAME" or
	// "parameter/NAME".
	Resource string
}

// String returns the ARN as it was written.
func (a ARN) String() string {
	return strings.Join([]string{"arn", a.Partition, a.Service, a.Region, a.Account, a.Resource}, ":")
}

// ParameterName is the name of an SSM parameter's ARN, with its leading
// slash: "arn:aws:ssm:…:parameter/prod/token" is "/prod/token". It is ""
// for a Secrets Manager ARN.
func (a ARN) ParameterName() string {
	if a.Service != SSM {
		return ""
	}
	return "/" + strings.TrimPrefix(a.Resource, "parameter/")
}

// LooksLikeARN reports whether s is meant as an ARN (it starts with
// "arn:"), so that a token_env variable holding one is read as an ARN,
// and a malformed one is refused rather than sent as a token.
func LooksLikeARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// Parse parses a Secrets Manager secret ARN or an SSM parameter ARN,
// strictly: a known partition, the service, a region such as us-east-1, a
// 12-digit account and a resource of the service's form. The error names
// the part that is wrong and never quotes the input: an ARN is not secret,
// but a value that fails to parse as one may be the secret itself, pasted
// into the _ARN variable by mistake.
//
// It does not use aws-sdk-go-v2's aws/arn.Parse, which accepts any service
// and checks neither region nor account, and which would bring the SDK into
// internal/config.
func Parse(s string) (ARN, error) {
	if len(s) > maxLen {
		return ARN{}, fmt.Errorf("ARN is longer than %d characters", maxLen)
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, errors.New("not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	if !partitions[a.Partition] {
		return ARN{}, errors.New("the ARN's partition is not an AWS partition (aws, aws-cn, aws-us-gov, ...)")
	}
	if a.Service != SecretsManager && a.Service != SSM {
		return ARN{}, fmt.Errorf("the ARN's service holds no secret: use a Secrets Manager secret (arn:%s:secretsmanager:…) or an SSM SecureString parameter (arn:%s:ssm:…)", a.Partition, a.Partition)
	}
	if !isRegion(a.Region) {
		return ARN{}, errors.New("the ARN's region is not a region (e.g. us-east-1)")
	}
	if !isAccount(a.Account) {
		return ARN{}, errors.New("the ARN's account is not a 12-digit AWS account ID")
	}
	if err := checkResource(a.Service, a.Resource); err != nil {
		return ARN{}, fmt.Errorf("the ARN's resource: %w", err)
	}
	return a, nil
}

// checkResource checks the resource of service's ARN: secret:NAME with
// Secrets Manager's name characters, or parameter/NAME with SSM's.
func checkResource(service, res string) error {
	switch service {
	case SecretsManager:
		name, ok := strings.CutPrefix(res, "secret:")
		if !ok || name == "" {
			return errors.New("a Secrets Manager ARN ends in secret:NAME")
		}
		if !allIn(name, "/_+=.@-") {
			return errors.New("the secret name has a character Secrets Manager does not allow (letters, digits, /_+=.@-)")
		}
	default:
		name, ok := strings.CutPrefix(res, "parameter/")
		if !ok || name == "" || strings.HasPrefix(name, "/") {
			return errors.New("an SSM parameter ARN ends in parameter/NAME (the name without its leading slash)")
		}
		if !allIn(name, "/_.-") || strings.Contains(name, "//") || strings.HasSuffix(name, "/") {
			return errors.New("the parameter name is not an SSM parameter name (letters, digits, _.-, levels split by single slashes)")
		}
	}
	return nil
}

// allIn reports whether s is ASCII letters, digits and bytes of extra.
func allIn(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// isRegion reports whether s has a region's shape: lower-case words joined
// by hyphens, ending in a number (us-east-1, us-gov-west-1, eu-isoe-west-1).
func isRegion(s string) bool {
	words := strings.Split(s, "-")
	if len(words) < 3 {
		return false
	}
	for i, w := range words {
		if w == "" {
			return false
		}
		for j := 0; j < len(w); j++ {
			c := w[j]
			last := i == len(words)-1
			if last && !('0' <= c && c <= '9') || !last && !('a' <= c && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// isAccount reports whether s is 12 digits.
func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
