package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// Signature is the X-Slack-Signature Slack sends with body at timestamp:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
// slack-go only verifies signatures; cdnpurge signs for its demo, its
// measuring tools and its tests, with this one function.
// TestSignMatchesSlackDocs pins it to Slack's published example.
func Signature(secret, timestamp, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+timestamp+":"+body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
