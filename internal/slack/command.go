package slack

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Command is a slash command as Slack posts it.
type Command = slackapi.SlashCommand

// Form is a parsed slash-command body.
type Form struct {
	Command
	// SSLCheck is set when Slack only checks the certificate (ssl_check=1);
	// such a request carries no command and wants an empty 200.
	SSLCheck bool
}

// ParseForm reads a form-encoded slash-command body, already verified, as
// slack-go's SlashCommandParse does: the same fields, the first value of a
// repeated one, the same errors.
//
// It reads the fields straight from the body (parseFormFields) rather than
// through SlashCommandParse, which needs an *http.Request and builds a
// url.Values map with a slice per field: that is most of the handler's
// allocations, and without this reader the hot path is over PRODUCT.md's
// 100 (BENCHMARKS.md, "slack-go's own parser and encoder"). Anything unusual
// (an escape error, a ";", many fields) goes to SlashCommandParse itself.
// TestParseFormMatchesSlackGo, TestParseFormFixturesMatchSlackGo and
// FuzzParseFormMatchesSlackGo hold the two to the same answers.
func ParseForm(body []byte) (Form, error) {
	if f, ok := parseFormFields(body); ok {
		return f, nil
	}
	// slack-go parses from an *http.Request; give it one over the bytes we
	// already read and verified, so that the body is read exactly once.
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return Form{}, fmt.Errorf("slash command: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slackapi.SlashCommandParse(req)
	if err != nil {
		return Form{}, &purge.Error{Code: purge.Invalid, Message: "cdnpurge could not read this command", Err: fmt.Errorf("slash command form: %w", err)}
	}
	return Form{Command: cmd, SSLCheck: req.PostForm.Get("ssl_check") == "1"}, nil
}

// maxFastFormFields bounds the fields parseFormFields reads; Slack sends
// about 15. More go the slow way, which applies net/url's own limit.
const maxFastFormFields = 64

// parseFormFields is what SlashCommandParse reads from a form body, without
// the request and map it goes through: the same fields, first value wins,
// keys and values unescaped by url.QueryUnescape (as url.ParseQuery does,
// and without allocating when nothing is escaped). It reports false, for
// the slow path to decide, on anything net/http could refuse: a ";" in a
// field, an escape error, more than maxFastFormFields fields, over 10 MB.
func parseFormFields(body []byte) (Form, bool) {
	q := string(body)
	// net/http refuses a form over 10 MB ("http: POST too large").
	if len(q) > 10<<20 || strings.Count(q, "&") >= maxFastFormFields {
		return Form{}, false
	}
	var f Form
	var seen uint32 // bit i: the field of fields[i] has a value
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if strings.IndexByte(kv, ';') >= 0 {
			return Form{}, false
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return Form{}, false
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return Form{}, false
		}
		i := formFieldIndex(k)
		if i < 0 || seen&(1<<i) != 0 {
			continue
		}
		seen |= 1 << i
		switch i {
		case 0:
			f.Token = v
		case 1:
			f.TeamID = v
		case 2:
			f.TeamDomain = v
		case 3:
			f.EnterpriseID = v
		case 4:
			f.EnterpriseName = v
		case 5:
			f.IsEnterpriseInstall = v == "true"
		case 6:
			f.ChannelID = v
		case 7:
			f.ChannelName = v
		case 8:
			f.UserID = v
		case 9:
			f.UserName = v
		case 10:
			f.Command.Command = v
		case 11:
			f.Text = v
		case 12:
			f.ResponseURL = v
		case 13:
			f.TriggerID = v
		case 14:
			f.APIAppID = v
		case 15:
			f.SSLCheck = v == "1"
		}
	}
	return f, true
}

// formFields are the fields parseFormFields reads, in the order of its
// switch: SlashCommandParse's, then ssl_check.
var formFields = [...]string{
	"token", "team_id", "team_domain", "enterprise_id", "enterprise_name", "is_enterprise_install",
	"channel_id", "channel_name", "user_id", "user_name", "command", "text", "response_url",
	"trigger_id", "api_app_id", "ssl_check",
}

func formFieldIndex(k string) int {
	for i, f := range formFields {
		if k == f {
			return i
		}
	}
	return -1
}

// PlainText undoes Slack's text formatting in a command's text: a pasted URL
// arrives as <https://…> or <https://…|label> when the command escapes
// links, and &, < and > arrive as &amp;, &lt; and &gt;. slack-go has no
// decoder for this (it only escapes), so it is written here: unlink is the
// regexp <([^<>|]*)(?:\|[^<>]*)?>, replaced by its first group, as a loop
// (no regexp to compile at every cold start), then Unescape.
func PlainText(text string) string {
	if strings.IndexByte(text, '<') >= 0 {
		text = unlink(text)
	}
	return Unescape(text)
}

// Unescape undoes Slack's three escapes (see Escape): &lt;, &gt; and &amp;
// become <, > and &.
func Unescape(text string) string {
	if strings.IndexByte(text, '&') < 0 {
		return text
	}
	return entityReplacer.Replace(text)
}

// entityReplacer is built once: a strings.Replacer is safe for concurrent
// use and builds its tables on first use.
var entityReplacer = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// unlink replaces Slack's link markup, <https://x>, <https://x|label>, and
// the channel and user mentions (<#C123|name>, <@U123>) that share its form,
// by what precedes the "|": what the regexp <([^<>|]*)(?:\|[^<>]*)?>,
// replaced by "$1", does, leftmost first and without overlaps; a channel
// mention with a name becomes "#name".
func unlink(text string) string {
	var b strings.Builder
	done := 0 // text[:done] is written to b or replaced
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '<')
		if j < 0 {
			break
		}
		start := i + j
		// The first group: up to the first "<", ">" or "|".
		g := start + 1
		for g < len(text) && text[g] != '<' && text[g] != '>' && text[g] != '|' {
			g++
		}
		end := -1 // the index of the closing ">" of a match
		switch {
		case g < len(text) && text[g] == '>':
			end = g
		case g < len(text) && text[g] == '|':
			// The label: up to the first "<" or ">"; a match needs ">".
			k := g + 1
			for k < len(text) && text[k] != '<' && text[k] != '>' {
				k++
			}
			if k < len(text) && text[k] == '>' {
				end = k
			}
		}
		if end < 0 {
			i = start + 1
			continue
		}
		b.Grow(len(text))
		b.WriteString(text[done:start])
		if text[start+1] == '#' && text[g] == '|' {
			// A channel mention, <#C123|news>: Slack makes one of "#news"
			// when a channel of that name exists, but in a command "#news"
			// is a cache tag, so the name is what the user typed.
			b.WriteString("#" + text[g+1:end])
		} else {
			b.WriteString(text[start+1 : g])
		}
		done, i = end+1, end+1
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// ApprovalAction returns the click on an approval request's button (Approve
// or Cancel) that an interaction carries, or nil when it carries none: an
// interaction of another type, or a click on anything else.
func ApprovalAction(cb *slackapi.InteractionCallback) *slackapi.BlockAction {
	if cb.Type != slackapi.InteractionTypeBlockActions {
		return nil
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if a.ActionID == ActionApprove || a.ActionID == ActionCancel {
			return a
		}
	}
	return nil
}
