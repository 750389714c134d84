package main

import (
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// The demo prints Slack messages the way a channel shows them. Slack renders
// mrkdwn in its clients only and slack-go has no text renderer, so this small
// one covers what cdnpurge's own messages use.

var (
	userMention    = regexp.MustCompile(`<@([A-Z0-9]+)>`)
	channelMention = regexp.MustCompile(`<#([A-Z0-9]+)(?:\|([^>]*))?>`)
	emoji          = strings.NewReplacer(
		":broom:", "🧹", ":white_check_mark:", "✅", ":hourglass_flowing_sand:", "⏳",
		":x:", "❌", ":warning:", "⚠️", ":no_entry:", "⛔", ":raised_hand:", "✋",
		":no_entry_sign:", "🚫", ":hourglass:", "⌛", ":information_source:", "ℹ️")
)

// renderMessage turns a message into indented terminal lines. names maps
// user and channel IDs to display names.
func renderMessage(msg *slackapi.WebhookMessage, names map[string]string, indent string) string {
	var texts []string
	if msg.Blocks != nil {
		for _, b := range msg.Blocks.BlockSet {
			switch b := b.(type) {
			case *slackapi.SectionBlock:
				if b.Text != nil {
					texts = append(texts, b.Text.Text)
				}
			case *slackapi.ContextBlock:
				for _, el := range b.ContextElements.Elements {
					if t, ok := el.(*slackapi.TextBlockObject); ok {
						texts = append(texts, t.Text)
					}
				}
			}
		}
	}
	if len(texts) == 0 {
		texts = []string{msg.Text}
	}
	var out []string
	for _, t := range texts {
		t = userMention.ReplaceAllStringFunc(t, func(m string) string {
			id := userMention.FindStringSubmatch(m)[1]
			if n, ok := names[id]; ok {
				return "@" + n
			}
			return "@" + id
		})
		t = channelMention.ReplaceAllStringFunc(t, func(m string) string {
			sub := channelMention.FindStringSubmatch(m)
			if n, ok := names[sub[1]]; ok {
				return "#" + n
			}
			if sub[2] != "" {
				return "#" + sub[2]
			}
			return "#" + sub[1]
		})
		t = slack.Unescape(emoji.Replace(t))
		inCode := false
		for _, line := range strings.Split(t, "\n") {
			// A line is code when a block is open or the line opens one.
			code := inCode || strings.HasPrefix(line, "```")
			inCode = inCode != (strings.Count(line, "```")%2 == 1)
			line = strings.ReplaceAll(line, "```", "")
			switch {
			case line == "":
			case code:
				out = append(out, indent+"    "+line)
			default:
				out = append(out, indent+line)
			}
		}
	}
	return strings.Join(out, "\n")
}
