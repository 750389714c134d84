package slack

import (
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/access"
)

// Channels is an allow-list of Slack channels (see access.Channels, where
// the rule that reads it lives).
type Channels = access.Channels

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
