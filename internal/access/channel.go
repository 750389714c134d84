package access

import "strings"

// Channels is an allow-list of Slack channels, each given by ID (C0123ABCD)
// or by name (deploys or #deploys).
type Channels []string

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
		case name != "" && !IsChannelID(c) && strings.EqualFold(strings.TrimPrefix(c, "#"), name):
			return true
		}
	}
	return false
}

// IsChannelID reports whether s looks like a Slack conversation ID
// (C…, G… or D… followed by upper-case letters and digits).
func IsChannelID(s string) bool {
	if len(s) < 9 || (s[0] != 'C' && s[0] != 'G' && s[0] != 'D') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
