package slack

import (
	"bytes"
	"compress/flate"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// maxButtonValue is Slack's limit on a button's value.
const maxButtonValue = 2000

// Errors from OpenPending.
var (
	ErrPendingExpired = errors.New("the approval request has expired")
	ErrPendingInvalid = errors.New("the approval request is not one cdnpurge made")
)

// Pending is a purge waiting for an approval click. It travels in the
// buttons' value, sealed with a key derived from the signing secret and with
// an expiry, so that whichever copy of the service receives the click can act
// on it without any store, and nobody can forge or alter one.
type Pending struct {
	// Target is the target's name; empty for the unnamed single target.
	Target         string   `json:"g,omitempty"`
	DistributionID string   `json:"d"`
	Paths          []string `json:"p"`
	Requested      int      `json:"n,omitempty"`
	UserID         string   `json:"u"`
	ChannelID      string   `json:"c"`
	// Token identifies the request for its CallerReference, so that approving
	// twice creates one invalidation.
	Token string `json:"t"`
	// Sealed is when the request was made (Unix seconds): a click looks
	// for its invalidation among those created since. Zero in requests
	// sealed before it existed.
	Sealed  int64 `json:"s,omitempty"`
	Expires int64 `json:"e"`
}

// SealPending encodes p for a button value: compressed JSON and an
// HMAC-SHA256 tag. It fails when the result would exceed Slack's 2,000
// characters (a request with very many or very long paths).
func SealPending(p Pending, signingSecret string) (string, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write(raw)
	zw.Close()
	body := base64.RawURLEncoding.EncodeToString(buf.Bytes())
	value := body + "." + base64.RawURLEncoding.EncodeToString(pendingTag(signingSecret, body))
	if len(value) > maxButtonValue {
		return "", purge.Errorf(purge.Invalid, "this request is too large to wait for an approval (%d paths); split it into smaller ones", len(p.Paths))
	}
	return value, nil
}

// OpenPending checks and decodes a button value made by SealPending.
func OpenPending(value, signingSecret string, now time.Time) (Pending, error) {
	body, tag, ok := strings.Cut(value, ".")
	if !ok {
		return Pending{}, ErrPendingInvalid
	}
	// Compare the tag as sent with its one canonical encoding: decoding
	// first would accept other spellings of it (the decoder skips \r and \n
	// and ignores the last character's spare bits), values never sealed.
	want := base64.RawURLEncoding.EncodeToString(pendingTag(signingSecret, body))
	if !hmac.Equal([]byte(tag), []byte(want)) {
		return Pending{}, ErrPendingInvalid
	}
	compressed, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Pending{}, ErrPendingInvalid
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), 1<<20))
	if err != nil {
		return Pending{}, fmt.Errorf("%w: %v", ErrPendingInvalid, err)
	}
	var p Pending
	if err := json.Unmarshal(raw, &p); err != nil {
		return Pending{}, fmt.Errorf("%w: %v", ErrPendingInvalid, err)
	}
	if now.Unix() > p.Expires {
		return p, ErrPendingExpired
	}
	return p, nil
}

// pendingTag authenticates a sealed body with a key derived from the signing
// secret for this one purpose.
func pendingTag(signingSecret, body string) []byte {
	kdf := hmac.New(sha256.New, []byte(signingSecret))
	kdf.Write([]byte("cdnpurge approval button v1"))
	mac := hmac.New(sha256.New, kdf.Sum(nil))
	mac.Write([]byte(body))
	return mac.Sum(nil)
}
