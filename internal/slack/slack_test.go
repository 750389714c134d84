package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

//go:embed testdata/slack_docs_example.json
var docsExampleJSON []byte

type docsExample struct {
	SigningSecret string `json:"signing_secret"`
	Timestamp     string `json:"timestamp"`
	Body          string `json:"body"`
	Signature     string `json:"signature"`
}

func mustDocsExample(tb testing.TB) docsExample {
	tb.Helper()
	var ex docsExample
	if err := json.Unmarshal(docsExampleJSON, &ex); err != nil {
		tb.Fatal(err)
	}
	return ex
}

// sign is Slack's documented algorithm, written here independently of the
// code under test; TestSignMatchesSlackDocs pins it to Slack's own example.
func sign(secret, timestamp, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func headers(sig, ts string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	return h
}

func TestSignMatchesSlackDocs(t *testing.T) {
	ex := mustDocsExample(t)
	if got := sign(ex.SigningSecret, ex.Timestamp, ex.Body); got != ex.Signature {
		t.Fatalf("test signer = %s, Slack's example says %s", got, ex.Signature)
	}
	if got := Signature(ex.SigningSecret, ex.Timestamp, ex.Body); got != ex.Signature {
		t.Fatalf("Signature = %s, Slack's example says %s", got, ex.Signature)
	}
	// The example is from 2018: Verify must call it stale.
	if err := Verify(headers(ex.Signature, ex.Timestamp), []byte(ex.Body), ex.SigningSecret); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify(stale docs example) = %v, want ErrBadSignature", err)
	}
}

func TestVerify(t *testing.T) {
	const secret = "s3cr3t-signing-key"
	body := mustDocsExample(t).Body
	now := time.Now()
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		header  http.Header
		body    string
		secret  string
		ok      bool
		wantErr []string // in the operator's detail
		notErr  []string
	}{
		{"valid", headers(sign(secret, ts(0), body), ts(0)), body, secret, true, nil, nil},
		{"valid 4 minutes old", headers(sign(secret, ts(-4*time.Minute), body), ts(-4*time.Minute)), body, secret, true, nil, nil},
		{"valid 4 minutes ahead", headers(sign(secret, ts(4*time.Minute), body), ts(4*time.Minute)), body, secret, true, nil, nil},
		{"stale 6 minutes old", headers(sign(secret, ts(-6*time.Minute), body), ts(-6*time.Minute)), body, secret, false, []string{"request timestamp is 6m", "old (more than 5m0s off"}, []string{"future"}},
		{"future 6 minutes ahead", headers(sign(secret, ts(6*time.Minute), body), ts(6*time.Minute)), body, secret, false, []string{"in the future (more than 5m0s off"}, []string{"old"}},
		{"wrong secret", headers(sign("other", ts(0), body), ts(0)), body, secret, false, nil, nil},
		{"body changed", headers(sign(secret, ts(0), body), ts(0)), body + "&x=1", secret, false, nil, nil},
		{"timestamp changed", headers(sign(secret, ts(0), body), ts(-time.Second)), body, secret, false, nil, nil},
		{"no v0= prefix", headers(strings.TrimPrefix(sign(secret, ts(0), body), "v0="), ts(0)), body, secret, false, nil, nil},
		{"v1 prefix", headers("v1="+strings.TrimPrefix(sign(secret, ts(0), body), "v0="), ts(0)), body, secret, false, nil, nil},
		{"truncated", headers(sign(secret, ts(0), body)[:40], ts(0)), body, secret, false, nil, nil},
		{"not hex", headers("v0=zz", ts(0)), body, secret, false, nil, nil},
		{"no signature", headers("", ts(0)), body, secret, false, nil, nil},
		{"no timestamp", headers(sign(secret, ts(0), body), ""), body, secret, false, nil, nil},
		{"timestamp not a number", headers(sign(secret, "abc", body), "abc"), body, secret, false, nil, nil},
		{"empty secret configured", headers(sign("", ts(0), body), ts(0)), body, "", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.header, []byte(tt.body), tt.secret)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSignature) || purge.ErrorCode(err) != purge.Unauthenticated {
				t.Fatalf("Verify = %v, want ErrBadSignature/Unauthenticated", err)
			}
			if strings.Contains(err.Error(), tt.secret) && tt.secret != "" {
				t.Fatalf("error leaks the secret: %v", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Verify = %v, want %q", err, w)
				}
			}
			for _, w := range tt.notErr {
				if strings.Contains(err.Error(), w) {
					t.Errorf("Verify = %v, must not say %q", err, w)
				}
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	ex := mustDocsExample(t)
	f, err := ParseForm([]byte(ex.Body))
	if err != nil {
		t.Fatal(err)
	}
	if f.ChannelID != "G8PSS9T3V" || f.UserID != "U2CERLKJA" || f.Command.Command != "/webhook-collect" ||
		f.TriggerID != "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c" || f.SSLCheck {
		t.Fatalf("ParseForm = %+v", f)
	}
	f, err = ParseForm([]byte("ssl_check=1&token=x"))
	if err != nil || !f.SSLCheck {
		t.Fatalf("ssl_check: %+v, %v", f, err)
	}
	f, err = ParseForm([]byte("channel_id=C1&channel_id=C2&text=%2Fa"))
	if err != nil || f.ChannelID != "C1" || f.Text != "/a" {
		t.Fatalf("duplicated fields: %+v, %v", f, err)
	}
	if _, err := ParseForm([]byte("text=%zz")); purge.ErrorCode(err) != purge.Invalid {
		t.Fatalf("bad form: err = %v, want Invalid", err)
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/blog/*", "/blog/*"},
		{"<https://www.example.com/a?b=1&amp;c=2>", "https://www.example.com/a?b=1&c=2"},
		{"<https://www.example.com/a|www.example.com/a> /b", "https://www.example.com/a /b"},
		{"<#C0NEWS0001|news> /b", "#news /b"},
		{"<#C0NEWS0001>", "#C0NEWS0001"},
		{"/a&amp;b /x&lt;y&gt;", "/a&b /x<y>"},
		{"&amp;lt;", "&lt;"},
		{"<unclosed", "<unclosed"},
	}
	for _, tt := range tests {
		if got := PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/a&amp;b /x&lt;y&gt;", "/a&b /x<y>"},
		{"&amp;lt;", "&lt;"},
		{"&quot; &#39; &", "&quot; &#39; &"},
		{"<https://x|y>", "<https://x|y>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Unescape(tt.in); got != tt.want {
				t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestChannelsAllows(t *testing.T) {
	cs := ParseChannels(" deploys, C0DEPLOY01 ,#Web-Team,, D0DIRECT01")
	if len(cs) != 4 {
		t.Fatalf("ParseChannels = %q", cs)
	}
	tests := []struct {
		id, name string
		want     bool
	}{
		{"C999999999", "deploys", true},
		{"C999999999", "DEPLOYS", true},
		{"C0DEPLOY01", "renamed", true},
		{"C999999999", "web-team", true},
		{"C999999999", "general", false},
		{"C0DEPLOY02", "", false},
		{"D0DIRECT01", "directmessage", true},
		{"D0OTHER001", "directmessage", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := cs.Allows(tt.id, tt.name); got != tt.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tt.id, tt.name, got, tt.want)
		}
	}
	// A channel named like an ID entry never matches by name.
	if (Channels{"C0DEPLOY01"}).Allows("C1111111111", "C0DEPLOY01") {
		t.Error("an ID entry matched a channel name")
	}
	if (Channels{"directmessage"}).Allows("D123456789", "directmessage") {
		t.Error("the directmessage pseudo-name matched")
	}
}
