package purge

import "testing"

func TestActionString(t *testing.T) {
	tests := []struct {
		action Action
		want   string
	}{
		{ActionPurge, "purge"},
		{ActionHelp, "help"},
		{ActionStatus, "status"},
		{ActionList, "list"},
		{ActionTargets, "targets"},
		{ActionUsage, "usage"},
		{ActionUsage + 1, "Action(6)"},
		{-1, "Action(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.action.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestActionWords checks that the word String gives an action is the word
// that asks for it, and that only those words are keywords.
func TestActionWords(t *testing.T) {
	for a := ActionHelp; a <= ActionUsage; a++ {
		t.Run(a.String(), func(t *testing.T) {
			cmd, err := ParseCommand(a.String())
			if err != nil || cmd.Action != a {
				t.Errorf("ParseCommand(%q) = %v, %v; want action %v", a.String(), cmd.Action, err, a)
			}
			if !IsKeyword(a.String()) {
				t.Errorf("IsKeyword(%q) = false", a.String())
			}
		})
	}
	for _, name := range []string{"purge", "www", "", "helps"} {
		if IsKeyword(name) {
			t.Errorf("IsKeyword(%q) = true", name)
		}
	}
	if !IsKeyword("STATUS") {
		t.Error(`IsKeyword("STATUS") = false: keywords are matched in any case`)
	}
}
