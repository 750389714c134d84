package slack

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// The micro-benchmarks of the request hot path in this package: no network.
// Run them with
//
//	go test -run '^$' -bench . -benchmem ./internal/slack

// benchForm is a slash command as Slack posts it, with a pasted link.
func benchForm() string {
	return url.Values{
		"token": {"gIkuvaNzQIHg97ATvDxqgjtO"}, "team_id": {"T0001"}, "team_domain": {"example"},
		"enterprise_id": {"E0001"}, "enterprise_name": {"Globular Construct Inc"},
		"channel_id": {"C2147483705"}, "channel_name": {"deploys"},
		"user_id": {"U2147483697"}, "user_name": {"steve"}, "command": {"/cdn-purge"},
		"text":         {"/blog/* /index.html <https://www.example.com/news/post?id=1&amp;ref=x|www.example.com/news/post> /css/site.css"},
		"response_url": {"https://hooks.slack.com/commands/1234/5678/RESPONSEURLTOKEN"},
		"trigger_id":   {"13345224609.738474920.8088930838d88f008e0"},
		"api_app_id":   {"A123456"},
	}.Encode()
}

func BenchmarkVerify(b *testing.B) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	body := []byte(benchForm())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := headers(sign(secret, ts, string(body)), ts)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(h, body, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseForm reads a slash command's form: with ParseForm, and with
// slack-go's own SlashCommandParse over an *http.Request, as ParseForm does
// for a form its own reader leaves alone (parseFormReference).
func BenchmarkParseForm(b *testing.B) {
	body := []byte(benchForm())
	for _, bc := range []struct {
		name  string
		parse func([]byte) (Form, error)
	}{
		{"ParseForm", ParseForm},
		{"slack-go", parseFormReference},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseCommand is the command text as the handler reads it:
// Slack's markup undone, then parsed, normalized and reduced.
func BenchmarkParseCommand(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"paths", "/blog/* /index.html /blog/post.html /css/site.css"},
		{"pasted-link", "<https://www.example.com/news/post?id=1&amp;ref=x|www.example.com/news/post> /index.html"},
		{"empty", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := purge.ParseCommand(PlainText(bc.text)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStartedMessageJSON renders the in_channel reply to a purge and
// encodes it with json.Marshal, as the handler writes it.
func BenchmarkStartedMessageJSON(b *testing.B) {
	p := Purge{
		Invalidation: &purge.Invalidation{
			ID: "I2J0I21PCUYOIK", DistributionID: "EDFDVBD6EXAMPLE", Status: purge.StatusInProgress,
			CreateTime: time.Now(), CallerReference: "cdnpurge-slack-U2147483697-13345224609.738474920.8088930838d88f008e0",
			Paths: []string{"/blog/*", "/index.html", "/news/post?id=1&ref=x", "/css/site.css"},
		},
		UserID: "U2147483697", ChannelID: "C2147483705", Requested: 5, Following: true,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(StartedMessage(p)); err != nil {
			b.Fatal(err)
		}
	}
}
