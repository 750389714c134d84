package slack

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
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

// ParseForm reads a form-encoded slash-command body, already verified. It
// takes the first value of a repeated field, as net/http does.
func ParseForm(body []byte) (Form, error) {
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

// linkRE matches Slack's link markup: <https://x>, <https://x|label>, and
// the channel and user mentions (<#C123|name>, <@U123>) that share its form.
var linkRE = regexp.MustCompile(`<([^<>|]*)(?:\|[^<>]*)?>`)

// PlainText undoes Slack's text formatting in a command's text: a pasted URL
// arrives as <https://…> or <https://…|label> when the command escapes
// links, and &, < and > arrive as &amp;, &lt; and &gt;. slack-go has no
// decoder for this (it only escapes), so it is written here.
func PlainText(text string) string {
	if strings.IndexByte(text, '<') >= 0 {
		text = linkRE.ReplaceAllString(text, "$1")
	}
	if strings.IndexByte(text, '&') >= 0 {
		text = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
	}
	return text
}
