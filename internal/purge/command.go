package purge

import "strings"

// Action is what a command asks for.
type Action int

// The actions a command text can ask for.
const (
	ActionPurge  Action = iota // invalidate Paths
	ActionHelp                 // explain usage
	ActionStatus               // show one invalidation: ID, or the latest
	ActionList                 // show recent invalidations
)

// Command is a parsed command text, the part after "/cdn-purge".
type Command struct {
	Action Action
	// Paths are normalized and reduced to their minimal cover; set for
	// ActionPurge only.
	Paths []string
	// Requested is how many items the user gave, before duplicates and
	// covered paths were dropped.
	Requested int
	// ID is the invalidation ActionStatus asks about; empty for the latest.
	ID string
}

// ParseCommand parses the text of a purge command:
//
//	""                   purge everything ("/*"), as the tutorial did
//	"help"               explain usage
//	"status [ID]"        one invalidation, or the latest
//	"list"               recent invalidations
//	"/a /b/* https://…"  purge these paths or pasted URLs
//
// Items are separated by white space. A bad item makes the whole command
// fail with an Invalid error naming it, so that nothing is purged by half.
// Slack's own text formatting (<url|label>, &amp;) must be undone by the
// caller.
func ParseCommand(text string) (Command, error) {
	items := strings.Fields(text)
	switch {
	case len(items) == 0:
		return Command{Action: ActionPurge, Paths: []string{FullPurge}, Requested: 1}, nil
	case len(items) == 1 && strings.EqualFold(items[0], "help"):
		return Command{Action: ActionHelp}, nil
	case strings.EqualFold(items[0], "list"):
		if len(items) > 1 {
			return Command{}, Errorf(Invalid, "list takes nothing after it")
		}
		return Command{Action: ActionList}, nil
	case strings.EqualFold(items[0], "status"):
		switch {
		case len(items) == 1:
			return Command{Action: ActionStatus}, nil
		case len(items) == 2 && isInvalidationID(items[1]):
			return Command{Action: ActionStatus, ID: items[1]}, nil
		}
		return Command{}, Errorf(Invalid, "status takes at most one invalidation ID (like I2J0I21PCUYOIK)")
	}
	paths, err := NormalizePaths(items)
	if err != nil {
		return Command{}, err
	}
	return Command{Action: ActionPurge, Paths: paths, Requested: len(items)}, nil
}

// isInvalidationID reports whether s looks like a CloudFront invalidation ID:
// upper-case letters and digits.
func isInvalidationID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
