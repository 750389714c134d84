package slack

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"
)

// ParseForm's own reader and PlainText's loop must answer exactly as
// slack-go's SlashCommandParse and as the regexp they stand in for: these
// tests keep those as the reference.

// plainTextReference is PlainText written with the regexp unlink stands in
// for, plus the rule that a named channel mention, <#C123|news>, reads as
// the cache tag "#news".
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

// parseFormReference is slack-go's SlashCommandParse over an http.Request,
// as ParseForm calls it for a form its own reader leaves alone.
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
		checkParseFormMatchesSlackGo(t, in)
	}
}

// formFixtures are the slash-command bodies of testdata: Slack's published
// example and the body of every seed of FuzzParseForm.
func formFixtures(tb testing.TB) []string {
	tb.Helper()
	bodies := []string{mustDocsExample(tb).Body}
	seeds, err := filepath.Glob("testdata/fuzz/FuzzParseForm/*")
	if err != nil || len(seeds) == 0 {
		tb.Fatalf("no seeds of FuzzParseForm: %v", err)
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		// The body is the first value: the line after "go test fuzz v1".
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 {
			tb.Fatalf("%s: no values", name)
		}
		quoted, ok := strings.CutPrefix(lines[1], "string(")
		quoted, ok2 := strings.CutSuffix(quoted, ")")
		body, err := strconv.Unquote(quoted)
		if !ok || !ok2 || err != nil {
			tb.Fatalf("%s: first value %q is not a string: %v", name, lines[1], err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// checkParseFormMatchesSlackGo fails tb unless ParseForm reads body as
// slack-go does: the same command and ssl_check, or an error carrying
// slack-go's.
func checkParseFormMatchesSlackGo(tb testing.TB, body string) {
	tb.Helper()
	got, err := ParseForm([]byte(body))
	want, werr := parseFormReference([]byte(body))
	if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
		tb.Fatalf("ParseForm(%q) = %+v, %v; slack-go gives %+v, %v", body, got, err, want, werr)
	}
	if err != nil && !strings.Contains(err.Error(), werr.Error()) {
		tb.Fatalf("ParseForm(%q) error %q does not carry slack-go's %q", body, err, werr)
	}
}

func TestParseFormFixturesMatchSlackGo(t *testing.T) {
	for i, body := range formFixtures(t) {
		t.Run(strconv.Itoa(i), func(t *testing.T) { checkParseFormMatchesSlackGo(t, body) })
	}
}

// FuzzParseFormMatchesSlackGo holds ParseForm to slack-go's
// SlashCommandParse on any body, from the fixtures on.
func FuzzParseFormMatchesSlackGo(f *testing.F) {
	for _, body := range formFixtures(f) {
		f.Add(body)
	}
	f.Add(benchForm())
	f.Fuzz(func(t *testing.T, body string) { checkParseFormMatchesSlackGo(t, body) })
}
