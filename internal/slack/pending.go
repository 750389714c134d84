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
	"strconv"
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
	Paths          []string `json:"p,omitempty"`
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

// sealedPending is Pending as sealed: the paths front-coded in Front
// (see frontCode) instead of listed in Paths, which compresses a long list
// of paths that share their beginnings (/products/item-1.html, …) to a
// fraction: the button value is all an approval request has.
type sealedPending struct {
	Pending
	Front string `json:"f,omitempty"`
}

// SealPending encodes p for a button value: compressed JSON and an
// HMAC-SHA256 tag. It fails when the result would exceed Slack's 2,000
// characters (a request with very many or very long paths).
func SealPending(p Pending, signingSecret string) (string, error) {
	sp := sealedPending{Pending: p}
	if front, ok := frontCode(p.Paths); ok {
		sp.Paths, sp.Front = nil, front
	}
	raw, err := json.Marshal(sp)
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
		return "", purge.Errorf(purge.Invalid, "this request is too large to wait for an approval (%d paths): an approval request travels, "+
			"sealed, in Slack's %d-character button; split it into smaller purges", len(p.Paths), maxButtonValue)
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
	var sp sealedPending
	if err := json.Unmarshal(raw, &sp); err != nil {
		return Pending{}, fmt.Errorf("%w: %v", ErrPendingInvalid, err)
	}
	p := sp.Pending
	if sp.Front != "" {
		if p.Paths, ok = frontDecode(sp.Front); !ok {
			return Pending{}, fmt.Errorf("%w: front-coded paths unreadable", ErrPendingInvalid)
		}
	}
	if now.Unix() > p.Expires {
		return p, ErrPendingExpired
	}
	return p, nil
}

// frontCode writes paths one a line, each as how many leading bytes it
// shares with the one before, a space, and the rest. It declines (ok false)
// for a path with a newline, which normalized paths never hold.
func frontCode(paths []string) (_ string, ok bool) {
	if len(paths) == 0 {
		return "", false
	}
	var b strings.Builder
	prev := ""
	for _, p := range paths {
		if strings.ContainsRune(p, '\n') {
			return "", false
		}
		n := 0
		for n < len(p) && n < len(prev) && p[n] == prev[n] {
			n++
		}
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(' ')
		b.WriteString(p[n:])
		b.WriteByte('\n')
		prev = p
	}
	return b.String(), true
}

// frontDecode reads what frontCode wrote.
func frontDecode(s string) ([]string, bool) {
	var paths []string
	prev := ""
	for line := range strings.Lines(s) {
		line, ok := strings.CutSuffix(line, "\n")
		if !ok {
			return nil, false
		}
		num, rest, ok := strings.Cut(line, " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n > len(prev) {
			return nil, false
		}
		prev = prev[:n] + rest
		paths = append(paths, prev)
	}
	return paths, true
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
