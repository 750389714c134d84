package slack

import "strings"

// Channels is an allow-list of Slack channels, each given by ID (C0123ABCD)
// or by name (deploys or #deploys).
type Channels []string

// ParseChannels reads a comma-separated list, as CDNPURGE_SLACK_CHANNEL holds
// it, dropping blanks.
func ParseChannels(s string) Channels {
	var out Channels
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Allows reports whether a command from this channel may run. IDs match
// exactly; names match without regard to case or a leading "#". Slack sends
// the pseudo-names "directmessage" and "privategroup" for conversations
// without a public name, so those never match a name: allow-list them by ID.
func (cs Channels) Allows(channelID, channelName string) bool {
	name := strings.ToLower(strings.TrimPrefix(channelName, "#"))
	if name == "directmessage" || name == "privategroup" {
		name = ""
	}
	for _, c := range cs {
		switch {
		case channelID != "" && c == channelID:
			return true
		case name != "" && !isChannelID(c) && strings.EqualFold(strings.TrimPrefix(c, "#"), name):
			return true
		}
	}
	return false
}
