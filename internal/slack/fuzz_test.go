package slack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// The fuzz targets of this package. Their seeds live in testdata/fuzz/<name>
// and run as ordinary tests; to fuzz one:
//
//	go test ./internal/slack -run '^$' -fuzz '^FuzzVerify$' -fuzztime 60s

const fuzzSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// macOf is Slack's documented signature, computed here independently of
// Verify: HMAC-SHA256(secret, "v0:" + timestamp + ":" + body).
func macOf(secret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// Mutations FuzzVerify applies to a valid request, one bit each.
const (
	mutTimestamp = 1 << iota // replace the timestamp header with tsEdit
	mutSignature             // replace the signature header with sigEdit
	mutBody                  // verify bodyEdit instead of the signed body
	mutSecret                // verify with secretEdit instead of the signing secret
	mutFlipBit               // flip bit `at` of the signature header
	mutDuplicate             // add a second timestamp and signature (Get reads the first)
	mutUpperHex              // send the signature's hex in upper case

	// mutChanged is every mutation that changes what was signed.
	mutChanged = mutTimestamp | mutSignature | mutBody | mutSecret | mutFlipBit | mutUpperHex
)

// FuzzVerify builds a correctly signed request, mutates it, and checks
// Verify against an independent oracle: nothing is accepted unless its
// signature is HMAC-SHA256 with the secret over exactly the timestamp header
// and body verified, and that timestamp is within five minutes of now; an
// untouched request with a fresh timestamp is accepted; every refusal is
// ErrBadSignature and Unauthenticated, and names no secret.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("token=x&text=%2Fa"), int64(0), "secret", uint8(0), "", "", []byte(nil), "", uint16(0))
	f.Fuzz(func(t *testing.T, body []byte, skew int64, secret string, mut uint8, tsEdit, sigEdit string, bodyEdit []byte, secretEdit string, at uint16) {
		now := time.Now()
		ts := strconv.FormatInt(now.Unix()+skew%(1<<40), 10)
		sig := "v0=" + hex.EncodeToString(macOf(secret, ts, body))
		verifySecret, verifyBody := secret, body
		if mut&mutTimestamp != 0 {
			ts = tsEdit
		}
		if mut&mutSignature != 0 {
			sig = sigEdit
		}
		if mut&mutBody != 0 {
			verifyBody = bodyEdit
		}
		if mut&mutSecret != 0 {
			verifySecret = secretEdit
		}
		if mut&mutFlipBit != 0 && len(sig) > 0 {
			b := []byte(sig)
			b[int(at)%len(b)] ^= 1 << (at % 8)
			sig = string(b)
		}
		if mut&mutUpperHex != 0 {
			sig = sig[:min(len(sig), 3)] + strings.ToUpper(sig[min(len(sig), 3):])
		}
		h := http.Header{}
		h["X-Slack-Request-Timestamp"] = []string{ts}
		h["X-Slack-Signature"] = []string{sig}
		if mut&mutDuplicate != 0 {
			h["X-Slack-Request-Timestamp"] = append(h["X-Slack-Request-Timestamp"], tsEdit)
			h["X-Slack-Signature"] = append(h["X-Slack-Signature"], sigEdit)
		}

		err := slack.Verify(h, verifyBody, verifySecret)
		checked := time.Now()

		if err != nil {
			if !errors.Is(err, slack.ErrBadSignature) || purge.ErrorCode(err) != purge.Unauthenticated {
				t.Fatalf("refusal is not ErrBadSignature/Unauthenticated: %v", err)
			}
			for _, s := range []string{secret, verifySecret} {
				if len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Fatalf("refusal names the secret: %v", err)
				}
			}
			untouched := mut&mutChanged == 0
			fresh := skew%(1<<40) > -4*60 && skew%(1<<40) < 4*60
			if untouched && fresh && secret != "" {
				t.Fatalf("a correctly signed, fresh request was refused: %v", err)
			}
			return
		}
		// Accepted: the oracle must agree on every count.
		if verifySecret == "" {
			t.Fatal("accepted with no signing secret configured")
		}
		gotTS, gotSig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
		hexSig, ok := strings.CutPrefix(gotSig, "v0=")
		if !ok {
			t.Fatalf("accepted a signature without v0=: %q", gotSig)
		}
		raw, herr := hex.DecodeString(hexSig)
		if herr != nil || !hmac.Equal(raw, macOf(verifySecret, gotTS, verifyBody)) {
			t.Fatalf("accepted a signature not made with the secret over these bytes: ts %q sig %q body %q", gotTS, gotSig, verifyBody)
		}
		sec, perr := strconv.ParseInt(gotTS, 10, 64)
		if perr != nil {
			t.Fatalf("accepted a timestamp that is not a number: %q", gotTS)
		}
		if sec < now.Add(-5*time.Minute-time.Second).Unix() || sec > checked.Add(5*time.Minute+time.Second).Unix() {
			t.Fatalf("accepted a timestamp %d s off", sec-now.Unix())
		}
	})
}

// formFields are the slash-command fields ParseForm reads, by form name.
var formFields = map[string]func(slack.Form) string{
	"token": func(f slack.Form) string { return f.Token }, "team_id": func(f slack.Form) string { return f.TeamID },
	"channel_id": func(f slack.Form) string { return f.ChannelID }, "channel_name": func(f slack.Form) string { return f.ChannelName },
	"user_id": func(f slack.Form) string { return f.UserID }, "command": func(f slack.Form) string { return f.Command.Command },
	"text": func(f slack.Form) string { return f.Text }, "response_url": func(f slack.Form) string { return f.ResponseURL },
	"trigger_id": func(f slack.Form) string { return f.TriggerID },
}

// FuzzParseForm checks ParseForm against net/url: an arbitrary body is
// refused exactly when url.ParseQuery refuses it (with a user message), and
// otherwise every field is the first value ParseQuery sees (the first of a
// repeated field wins, the same bytes that were signed); and a form encoded
// from arbitrary values, with a second value for each field, reads back the
// first values exactly.
func FuzzParseForm(f *testing.F) {
	f.Add("channel_id=C1&channel_id=C2&text=%2Fa", "/a", "C1", "U1", "http://127.0.0.1/x", "dup")
	f.Fuzz(func(t *testing.T, body, text, channel, user, responseURL, dup string) {
		form, err := slack.ParseForm([]byte(body))
		want, werr := url.ParseQuery(body)
		switch {
		case (err != nil) != (werr != nil):
			t.Fatalf("ParseForm err %v, url.ParseQuery err %v", err, werr)
		case err != nil:
			if purge.ErrorCode(err) != purge.Invalid || purge.ErrorMessage(err) == "internal error" {
				t.Fatalf("refusal without a user message: %v", err)
			}
		default:
			for name, get := range formFields {
				if got := get(form); got != want.Get(name) {
					t.Fatalf("%s = %q, want the first value %q", name, got, want.Get(name))
				}
			}
			if form.SSLCheck != (want.Get("ssl_check") == "1") {
				t.Fatalf("SSLCheck = %v for ssl_check %q", form.SSLCheck, want.Get("ssl_check"))
			}
		}

		v := url.Values{
			"text": {text, dup}, "channel_id": {channel, dup}, "user_id": {user, dup},
			"response_url": {responseURL, dup}, "trigger_id": {dup},
		}
		form, err = slack.ParseForm([]byte(v.Encode()))
		if err != nil {
			t.Fatalf("an encoded form was refused: %v", err)
		}
		if form.Text != text || form.ChannelID != channel || form.UserID != user || form.ResponseURL != responseURL || form.TriggerID != dup {
			t.Fatalf("round trip: %+v", form.Command)
		}
	})
}

// escapeText is Slack's escaping of message text (&, < and > become
// entities), as it sends a command's text.
var escapeText = slack.Escape

// FuzzPlainText checks the properties of undoing Slack's formatting: text
// Slack escaped reads back as typed, through PlainText and Unescape; a link reads back as its URL, with or
// without a label; text with no markup is unchanged; the result is never
// longer than the input.
func FuzzPlainText(f *testing.F) {
	f.Add("/blog/* /a&b <x>", "https://www.example.com/a?b=1", "www.example.com/a")
	f.Fuzz(func(t *testing.T, typed, link, label string) {
		if got := slack.PlainText(escapeText(typed)); got != typed {
			t.Fatalf("PlainText(escape(%q)) = %q", typed, got)
		}
		if got := slack.Unescape(escapeText(typed)); got != typed {
			t.Fatalf("Unescape(escape(%q)) = %q", typed, got)
		}
		if !strings.ContainsAny(typed, "<&") {
			if got := slack.PlainText(typed); got != typed {
				t.Fatalf("text without markup changed: %q -> %q", typed, got)
			}
		}
		if got := slack.PlainText(typed); len(got) > len(typed) {
			t.Fatalf("PlainText grew %q to %q", typed, got)
		}
		if strings.ContainsAny(link, "<>|&") || strings.ContainsAny(label, "<>") {
			return
		}
		if got := slack.PlainText("<" + link + ">"); got != link {
			t.Fatalf("link <%s> read as %q", link, got)
		}
		if got := slack.PlainText("/a <" + link + "|" + label + "> /b"); got != "/a "+link+" /b" {
			t.Fatalf("labelled link read as %q", got)
		}
	})
}

// pendingNow is the clock FuzzOpenPending opens values at; sealedFixtures
// expire well after it.
var pendingNow = time.Unix(1767225600, 0) // 2026-01-01

func sealedFixtures(tb testing.TB) []string {
	tb.Helper()
	ps := []slack.Pending{
		{DistributionID: "EDFDVBD6EXAMPLE", Paths: []string{"/*"}, Requested: 1, UserID: "U1", ChannelID: "C1", Token: "13345224609.738474920.8088930838d88f008e0", Expires: pendingNow.Unix() + 900},
		{DistributionID: "EDFDVBD6EXAMPLE", Paths: []string{"/blog/*", "/index.html", "/caf%C3%A9"}, Requested: 4, UserID: "U2147483697", ChannelID: "C2147483705", Token: "t", Expires: pendingNow.Unix() + 60},
		{DistributionID: "E2", Paths: []string{"/a"}, UserID: "U", ChannelID: "C", Token: "x", Expires: pendingNow.Unix() - 1}, // expired
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		v, err := slack.SealPending(p, fuzzSecret)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// FuzzOpenPending splices arbitrary bytes into values SealPending made, and
// checks that OpenPending accepts (or calls expired) nothing but a value
// exactly as it was sealed, and only with the secret it was sealed with.
// Every refusal is ErrPendingInvalid or ErrPendingExpired.
func FuzzOpenPending(f *testing.F) {
	sealed := sealedFixtures(f)
	f.Add(uint8(0), uint16(0), uint8(0), "", false)
	f.Fuzz(func(t *testing.T, which uint8, at uint16, cut uint8, insert string, otherSecret bool) {
		orig := sealed[int(which)%len(sealed)]
		i := int(at) % (len(orig) + 1)
		j := min(len(orig), i+int(cut))
		value := orig[:i] + insert + orig[j:]
		secret := fuzzSecret
		if otherSecret {
			secret = fuzzSecret + "x"
		}
		p, err := slack.OpenPending(value, secret, pendingNow)
		switch {
		case err == nil, errors.Is(err, slack.ErrPendingExpired):
			if value != orig || secret != fuzzSecret {
				t.Fatalf("opened a value it did not seal (secret changed: %v):\nsealed %q\nopened %q\n=> %+v", otherSecret, orig, value, p)
			}
			if (err == nil) != (p.Expires >= pendingNow.Unix()) {
				t.Fatalf("expiry: err %v, expires %d, now %d", err, p.Expires, pendingNow.Unix())
			}
		case !errors.Is(err, slack.ErrPendingInvalid):
			t.Fatalf("refusal of an unknown class: %v", err)
		}
	})
}

// FuzzSealPending checks that whatever SealPending seals (valid UTF-8, as
// JSON carries it) opens to the same request, that the value fits Slack's
// 2,000 characters, and that it opens with no other secret. copies repeats
// the paths, numbered, so that small inputs reach the size limit.
func FuzzSealPending(f *testing.F) {
	f.Add("EDFDVBD6EXAMPLE", "/blog/* /index.html", "U1", "C1", "trigger.1", int64(1767225600), 2, uint8(0))
	f.Fuzz(func(t *testing.T, dist, paths, user, channel, token string, expires int64, requested int, copies uint8) {
		for _, s := range []string{dist, paths, user, channel, token} {
			if !utf8.ValidString(s) {
				return
			}
		}
		p := slack.Pending{DistributionID: dist, Paths: strings.Fields(paths), Requested: requested, UserID: user, ChannelID: channel, Token: token, Expires: expires}
		for i := range int(copies) {
			for _, path := range strings.Fields(paths) {
				p.Paths = append(p.Paths, path+strconv.Itoa(i))
			}
		}
		if len(p.Paths) == 0 {
			p.Paths = nil
		}
		v, err := slack.SealPending(p, fuzzSecret)
		if err != nil {
			if purge.ErrorCode(err) != purge.Invalid {
				t.Fatalf("SealPending: %v", err)
			}
			return
		}
		if len(v) > 2000 {
			t.Fatalf("sealed value of %d characters", len(v))
		}
		got, err := slack.OpenPending(v, fuzzSecret, time.Unix(expires, 0))
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip: %+v, %v; sealed %+v", got, err, p)
		}
		if _, err := slack.OpenPending(v, fuzzSecret+"x", time.Unix(expires, 0)); !errors.Is(err, slack.ErrPendingInvalid) {
			t.Fatalf("opened with another secret: %v", err)
		}
	})
}
