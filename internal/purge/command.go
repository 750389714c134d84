package purge

import (
	"slices"
	"strconv"
	"strings"
)

// Action is what a command asks for.
type Action int

// The actions a command text can ask for.
const (
	ActionPurge   Action = iota // invalidate Paths
	ActionHelp                  // explain usage
	ActionStatus                // show one invalidation: ID, or the latest
	ActionList                  // show recent invalidations
	ActionTargets               // show what may be purged here
	ActionUsage                 // show this month's billed paths per target
)

// Command is a parsed command text, the part after "/cdn-purge".
type Command struct {
	Action Action
	// Target is the target the command names ("www" in "/cdn-purge www
	// /blog/*"), lower-cased; empty when it names none.
	Target string
	// Targets are the targets an ActionPurge names, lower-cased, each once,
	// in the command's order ("/cdn-purge www shop /index.html"); Target
	// is the first. Empty when it names none.
	Targets []string
	// Paths are normalized and reduced to their minimal cover, as
	// CloudFront takes them (a pasted URL becomes its path); set for
	// ActionPurge only.
	Paths []string
	// Items are the same items with their kind, each once, in the
	// command's order; a pasted URL keeps its host (see ParseItem).
	Items []Item
	// Requested is how many items the user gave, before duplicates and
	// covered paths were dropped.
	Requested int
	// Hosts are the distinct hosts of the pasted URLs, lower-cased and
	// without port, sorted: they pick the target when none is named.
	Hosts []string
	// ID is the invalidation ActionStatus asks about; empty for the latest.
	ID string

	// notPaths holds, for each target word after the first, why it is not
	// a path either: when it names no target, that is what to say.
	notPaths map[string]error
}

// NotATarget returns the error to report when name, one of Targets after
// the first, names no target: the word is then a path missing its "/"
// ("/cdn-purge www blog"), and the error says so. Nil for any other name.
func (c Command) NotATarget(name string) error { return c.notPaths[name] }

// actionWords are the actions' names: for every action but ActionPurge, the
// word a command starts with to ask for it. No target may be named after one
// of those words.
var actionWords = [...]string{
	ActionPurge:   "purge",
	ActionHelp:    "help",
	ActionStatus:  "status",
	ActionList:    "list",
	ActionTargets: "targets",
	ActionUsage:   "usage",
}

// String returns the action's name: the word that asks for it ("status"),
// or "purge" for ActionPurge, which a command asks for with no word.
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionWords) {
		return actionWords[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// keyword returns the action word asks for, if word is one of the command's
// own words (in any case).
func keyword(word string) (Action, bool) {
	for a := ActionPurge + 1; int(a) < len(actionWords); a++ {
		if strings.EqualFold(word, actionWords[a]) {
			return a, true
		}
	}
	return ActionPurge, false
}

// MaxTargetName is the longest name a target may have (the targets file's
// rule: a lower-case letter, then lower-case letters, digits, - and _).
const MaxTargetName = 32

// IsKeyword reports whether name is one of the command's own words, which a
// target name may not be.
func IsKeyword(name string) bool {
	_, ok := keyword(name)
	return ok
}

// ParseCommand parses the text of a purge command:
//
//	""                      purge everything ("/*") on the default target
//	"help"                  explain usage
//	"targets"               what may be purged here
//	"usage"                 this month's billed paths
//	"status [TARGET] [ID]"  one invalidation, or the latest
//	"list [TARGET]"         recent invalidations
//	"[TARGET] /a /b/* https://… #tag"  purge these paths, pasted URLs or cache tags
//
// Items are separated by white space. A bare word first (no "/", "#" or
// scheme) names a target; whether it exists is for the caller to say. A bad
// item makes the whole command fail with an Invalid error naming it, so that
// nothing is purged by half. Slack's own text formatting (<url|label>, &amp;)
// must be undone by the caller.
func ParseCommand(text string) (Command, error) {
	items := strings.Fields(text)
	if len(items) == 0 {
		return Command{Action: ActionPurge, Paths: []string{FullPurge}, Items: everything(), Requested: 1}, nil
	}
	switch action, _ := keyword(items[0]); action {
	case ActionHelp, ActionTargets, ActionUsage:
		if len(items) > 1 {
			return Command{}, Errorf(Invalid, "%s takes nothing after it", action)
		}
		return Command{Action: action}, nil
	case ActionList:
		cmd := Command{Action: ActionList}
		switch {
		case len(items) == 2 && isTargetWord(items[1]):
			cmd.Target = strings.ToLower(items[1])
		case len(items) > 1:
			return Command{}, Errorf(Invalid, "list takes at most a target name: `list` or `list TARGET`")
		}
		return cmd, nil
	case ActionStatus:
		cmd := Command{Action: ActionStatus}
		rest := items[1:]
		if len(rest) > 0 && isTargetWord(rest[0]) {
			cmd.Target, rest = strings.ToLower(rest[0]), rest[1:]
		}
		switch {
		case len(rest) == 0:
			return cmd, nil
		case len(rest) == 1 && isInvalidationID(rest[0]):
			cmd.ID = rest[0]
			return cmd, nil
		}
		return Command{}, Errorf(Invalid, "status takes at most a target name and one invalidation ID: `status [TARGET] [ID]`")
	}
	cmd := Command{Action: ActionPurge}
	for len(items) > 0 && isTargetWord(items[0]) {
		if name := strings.ToLower(items[0]); !slices.Contains(cmd.Targets, name) {
			if len(cmd.Targets) > 0 {
				if cmd.notPaths == nil {
					cmd.notPaths = map[string]error{}
				}
				_, cmd.notPaths[name] = NormalizePath(items[0])
			}
			cmd.Targets = append(cmd.Targets, name)
		}
		items = items[1:]
	}
	if len(cmd.Targets) > 0 {
		cmd.Target = cmd.Targets[0]
	}
	if len(items) == 0 && len(cmd.Targets) > 1 {
		// "/cdn-purge www blog" is a path missing its slash far more often
		// than "everything on two targets", which must say so: `www shop /*`.
		return Command{}, cmd.notPaths[cmd.Targets[len(cmd.Targets)-1]]
	}
	if len(items) == 0 {
		cmd.Paths, cmd.Items, cmd.Requested = []string{FullPurge}, everything(), 1
		return cmd, nil
	}
	normalized, err := parseItems(items, &cmd.Items)
	if err != nil {
		return Command{}, err
	}
	for _, it := range cmd.Items {
		if it.Host != "" {
			cmd.Hosts = append(cmd.Hosts, it.Host)
		}
	}
	slices.Sort(cmd.Hosts)
	cmd.Paths, cmd.Requested, cmd.Hosts = MinimalCover(normalized), len(items), slices.Compact(cmd.Hosts)
	return cmd, nil
}

// ParseItems parses what a purge names (see ParseItem: a pasted URL keeps
// its host) into items, each once, in the order given. The first bad item
// stops it with an Invalid error naming the item.
func ParseItems(raw []string) ([]Item, error) {
	var items []Item
	_, err := parseItems(raw, &items)
	return items, err
}

// parseItems normalizes each of raw once: it appends the items, each once,
// to items, and returns the normalized forms (NormalizeItem), one for each
// of raw, from which a command's CloudFront paths are made.
func parseItems(raw []string, items *[]Item) ([]string, error) {
	normalized := make([]string, len(raw))
	*items = slices.Grow(*items, len(raw))
	var seen map[Item]bool // for a long list; a short one is scanned
	if len(raw) > 32 {
		seen = make(map[Item]bool, len(raw))
	}
	for i, r := range raw {
		p, err := NormalizeItem(r)
		if err != nil {
			return nil, err
		}
		normalized[i] = p
		it := itemFrom(r, p)
		if seen != nil {
			if seen[it] {
				continue
			}
			seen[it] = true
		} else if slices.Contains(*items, it) {
			continue
		}
		*items = append(*items, it)
	}
	return normalized, nil
}

// everything is the items of a purge of everything on a target.
func everything() []Item { return []Item{{Kind: KindEverything, Path: FullPurge}} }

// isTargetWord reports whether a command item reads as a target name rather
// than a path, URL, tag or invalidation ID: a letter, then letters, digits,
// "-" and "_", up to MaxTargetName, not all upper-case (invalidation IDs
// are). Target names start with a letter (internal/config checks it). A
// word that is not a target name (say "index.html") is left for the path
// rules, which say what is wrong with it.
func isTargetWord(s string) bool {
	if s == "" || len(s) > MaxTargetName || isInvalidationID(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case ('0' <= c && c <= '9' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
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
