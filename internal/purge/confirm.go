package purge

import (
	"fmt"
	"strings"
)

// ConfirmMode says which purges wait for a click before anything is sent.
type ConfirmMode string

// The confirmation modes. ConfirmNever is the tutorial's behaviour and the
// default: purge at once.
const (
	ConfirmNever     ConfirmMode = "never"
	ConfirmFullPurge ConfirmMode = "full-purge" // a purge that includes "/*"
	ConfirmAlways    ConfirmMode = "always"
)

// ParseConfirmMode reads a mode; "" is ConfirmNever.
func ParseConfirmMode(s string) (ConfirmMode, error) {
	switch m := ConfirmMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ConfirmNever, nil
	case ConfirmNever, ConfirmFullPurge, ConfirmAlways:
		return m, nil
	}
	return "", fmt.Errorf("%q is not a confirmation mode (never, full-purge, always)", s)
}

// ConfirmPolicy decides which purges need an approval click.
type ConfirmPolicy struct {
	Mode ConfirmMode
	// Over, when positive, also asks for a click when a purge has more than
	// this many paths.
	Over int
	// ApproverMustDiffer makes the requester unable to approve their own
	// purge.
	ApproverMustDiffer bool
}

// Needed reports whether a purge of paths waits for a click, and why.
func (c ConfirmPolicy) Needed(paths []string) (bool, string) {
	switch {
	case c.Mode == ConfirmAlways:
		return true, "every purge here needs an approval"
	case c.Mode == ConfirmFullPurge && containsFullPurge(paths):
		return true, "a purge of everything (/*) needs an approval"
	case c.Over > 0 && len(paths) > c.Over:
		return true, fmt.Sprintf("a purge of more than %d paths needs an approval", c.Over)
	}
	return false, ""
}

func containsFullPurge(paths []string) bool {
	for _, p := range paths {
		if p == FullPurge {
			return true
		}
	}
	return false
}
