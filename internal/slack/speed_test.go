package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// The fast paths of ParseForm and PlainText must answer exactly as the code
// they replaced: these tests keep that code as the reference.

// plainTextReference is PlainText as it was, with a regexp, plus the rule
// that a named channel mention, <#C123|news>, reads as the cache tag "#news".
func plainTextReference(text string) string {
	linkRE := regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)
	text = linkRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := linkRE.FindStringSubmatch(m)
		if strings.HasPrefix(sub[1], "#") && strings.Contains(m, "|") {
			return "#" + sub[2]
		}
		return sub[1]
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

func TestPlainTextMatchesRegexp(t *testing.T) {
	inputs := []string{
		"", "<", ">", "<>", "<|>", "<<a>", "<a<b>", "<a|b|c>", "<a|b<c>", "<a|>", "<|b>", "a<b>c<d|e>f",
		"<https://www.example.com/a?b=1&amp;c=2>", "<https://x|y> <https://z>", "<a|b", "<a|b>>", "<<>>",
		"<#C123|deploys> <@U123> /a&amp;b", "<a\n|b\n>", "<é|ü>",
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "<>|&;amplgt/# "
	for range 20000 {
		b := make([]byte, r.IntN(16))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		if got, want := PlainText(in), plainTextReference(in); got != want {
			t.Fatalf("PlainText(%q) = %q, the regexp gives %q", in, got, want)
		}
	}
}

// parseFormReference is ParseForm as it was: slack-go over an http.Request.
func parseFormReference(body []byte) (Form, error) {
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slackapi.SlashCommandParse(req)
	if err != nil {
		return Form{}, err
	}
	return Form{Command: cmd, SSLCheck: req.PostForm.Get("ssl_check") == "1"}, nil
}

func TestParseFormMatchesSlackGo(t *testing.T) {
	inputs := []string{
		"", "&", "&&", "=", "a", "text", "text=", "=x", "ssl_check=1&token=x", "ssl_check=0&ssl_check=1",
		"text=%zz", "%zz=1", "text=a;b", "a;b=c&text=x", "text=a+b%2Fc", "te%78t=x", "text=1&text=2",
		"is_enterprise_install=true", "is_enterprise_install=TRUE", "channel_id=C1&channel_id=C2&text=%2Fa",
		"command=%2Fcdn-purge&text=%3Chttps%3A%2F%2Fx%7Cy%3E", "unknown=%zz&text=x", "text=%",
		benchForm(), strings.Repeat("a=1&", 63) + "text=x", strings.Repeat("a=1&", 64) + "text=x",
		strings.Repeat("&", 200) + "text=x",
	}
	fields := append(formFields[:], "other", "")
	r := rand.New(rand.NewPCG(5, 6))
	values := []string{"", "1", "true", "x", "%2F", "%zz", "a+b", "a;b", "%", "é", "C123"}
	for range 5000 {
		var b strings.Builder
		for n := r.IntN(8); n > 0; n-- {
			if b.Len() > 0 || r.IntN(4) == 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(fields[r.IntN(len(fields))]))
			if r.IntN(5) > 0 {
				fmt.Fprintf(&b, "=%s", values[r.IntN(len(values))])
			}
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		got, err := ParseForm([]byte(in))
		want, werr := parseFormReference([]byte(in))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseForm(%q) = %+v, %v; slack-go gives %+v, %v", in, got, err, want, werr)
		}
		if err != nil && !strings.Contains(err.Error(), werr.Error()) {
			t.Fatalf("ParseForm(%q) error %q does not carry slack-go's %q", in, err, werr)
		}
	}
}

func TestMarshalMessage(t *testing.T) {
	inv := &purge.Invalidation{
		ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
		CreateTime: time.Unix(1767225600, 0), CallerReference: "cdnpurge-slack-U1-t",
		Paths: []string{"/blog/*", "/a?b=1&c=<2>", "/\u2028\"quoted\""},
	}
	done := *inv
	done.Status = purge.StatusCompleted
	p := Purge{Invalidation: inv, UserID: "U1", ChannelID: "C2147483705", Requested: 5, Following: true}
	pending := Pending{UserID: "U1", DistributionID: "EDFDVBD6EXAMPLE", Paths: inv.Paths, Expires: 1767226500}
	now := time.Unix(1767225700, 0)
	yes := true
	messages := map[string]*slackapi.WebhookMessage{
		"started":    StartedMessage(p),
		"completed":  CompletedMessage(Purge{Invalidation: &done, UserID: "U1"}, now),
		"still":      CompletedMessage(p, now),
		"audit":      AuditMessage(p),
		"error":      ErrorMessage(purge.Errorf(purge.Invalid, "bad <path> & more")),
		"refused":    RefusedChannelMessage([]string{"deploys", "C0DEPLOY01"}),
		"help":       HelpMessage("/cdn-purge", []TargetSummary{{DistributionID: "EDFDVBD6EXAMPLE", Channels: []string{"deploys"}}}, false, []string{"deploys"}),
		"confirm":    ConfirmMessage(pending, "sealed-value", "a purge of everything", true, false),
		"closed":     ClosedMessage(pending, "Cancelled."),
		"status":     StatusMessage("", inv, now),
		"list":       ListMessage("", "EDFDVBD6EXAMPLE", []purge.Summary{{ID: "I1", Status: purge.StatusCompleted, CreateTime: now}}, now),
		"empty":      {},
		"nil blocks": {Text: "x", Blocks: &slackapi.Blocks{}},
		"no blocks":  {Text: "x", Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{}}},
		"odd blocks": {Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{
			(*slackapi.ContextBlock)(nil), slackapi.ContextBlock{Type: "context"}, slackapi.NewContextBlock("id"),
			slackapi.NewDividerBlock(), nil,
		}}},
		"every field": {Username: "u", IconEmoji: ":x:", IconURL: "https://x", Channel: "C1", ThreadTimestamp: "1.2",
			Text: "t", Attachments: []slackapi.Attachment{{Text: "a"}}, Parse: "full", ReplyBroadcast: true,
			UnfurlLinks: &yes, UnfurlMedia: &yes, DeleteOriginal: true},
	}
	for name, m := range messages {
		got, err := MarshalMessage(m)
		want, werr := json.Marshal(m)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: MarshalMessage = %s, %v\njson.Marshal   = %s, %v", name, got, err, want, werr)
		}
	}
	if got, _ := MarshalMessage(nil); string(got) != "null" {
		t.Errorf("MarshalMessage(nil) = %s", got)
	}
	// The mirrors must follow slack-go's types field for field.
	sameFields(t, reflect.TypeFor[slackapi.WebhookMessage](), reflect.TypeFor[wireMessage](), "Blocks")
	sameFields(t, reflect.TypeFor[slackapi.ContextBlock](), reflect.TypeFor[wireContextBlock](), "ContextElements")
}

// sameFields checks that mirror has the fields of orig, in order, with the
// same JSON tags and types, but for the field named except (whose type
// differs and, in a block, whose name does).
func sameFields(t *testing.T, orig, mirror reflect.Type, except string) {
	t.Helper()
	if orig.NumField() != mirror.NumField() {
		t.Fatalf("%v has %d fields, its mirror %v %d", orig, orig.NumField(), mirror, mirror.NumField())
	}
	for i := range orig.NumField() {
		o, m := orig.Field(i), mirror.Field(i)
		if o.Tag.Get("json") != m.Tag.Get("json") {
			t.Errorf("%v.%s json:%q, mirror %s json:%q", orig, o.Name, o.Tag.Get("json"), m.Name, m.Tag.Get("json"))
		}
		if o.Name != except && (o.Name != m.Name || o.Type != m.Type) {
			t.Errorf("%v.%s %v, mirror %s %v", orig, o.Name, o.Type, m.Name, m.Type)
		}
	}
}
