package purge

import "strings"

// Action is what a command asks for.
type Action int

// The actions a command text can ask for.
const (
	ActionPurge Action = iota // invalidate Paths
	ActionHelp                // explain usage
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
}

// ParseCommand parses the text of a purge command:
//
//	""                   purge everything ("/*"), as the tutorial did
//	"help"               explain usage
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
	}
	paths, err := NormalizePaths(items)
	if err != nil {
		return Command{}, err
	}
	return Command{Action: ActionPurge, Paths: paths, Requested: len(items)}, nil
}
