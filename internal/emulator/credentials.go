package emulator

import (
	"net/http"
	"strings"
)

// sigV4Prefix starts the algorithm of an Authorization header signed with
// AWS Signature Version 4: AWS4-HMAC-SHA256, or AWS4-ECDSA-P256-SHA256 for
// SigV4a. Both name the key the same way.
const sigV4Prefix = "AWS4-"

// maxAccessKeyIDLength is the longest access key ID IAM and STS issue
// (AccessKeyIdType: 16 to 128 word characters).
const maxAccessKeyIDLength = 128

// AccessKeyOf returns the AWS access key ID that signed the request that
// created invalidation invalidationID (of a distribution or a distribution
// tenant), or "" if there is no such invalidation or its request was not
// signed with SigV4. A repeat with the same CallerReference does not change
// it. Like every check of the emulator, it takes the key on trust: the
// signature is not verified. A test uses it to see which credentials a
// client really signed with, e.g. those of an assumed IAM role.
func (e *Emulator) AccessKeyOf(invalidationID string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if inv := e.byID[invalidationID]; inv != nil {
		return inv.accessKeyID
	}
	return ""
}

// accessKeyID returns the access key ID of r's SigV4 Authorization header,
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/cloudfront/aws4_request,
//	SignedHeaders=host;x-amz-date, Signature=...
//
// or "" if r has none or it is malformed. It reads the Credential only:
// the signature is neither checked nor kept.
func accessKeyID(r *http.Request) string {
	algorithm, auth, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.HasPrefix(algorithm, sigV4Prefix) {
		return ""
	}
	for part := range strings.SplitSeq(auth, ",") {
		cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential=")
		if !ok {
			continue
		}
		key, _, ok := strings.Cut(cred, "/")
		if !ok || !isAccessKeyID(key) {
			return ""
		}
		return key
	}
	return ""
}

// isAccessKeyID reports whether s is shaped like an access key ID: 1 to 128
// letters, digits and underscores. (Real ones are at least 16 characters;
// tests sign with shorter fakes such as AWS's AKIDEXAMPLE.)
func isAccessKeyID(s string) bool {
	if s == "" || len(s) > maxAccessKeyIDLength {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
