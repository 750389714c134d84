package slack

import (
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// TestNotTakenMessageSaysNothingPurgedOnlyWhenTrue: "Nothing was purged"
// only for a refusal after which no try went unanswered; every other end
// says to check, since the purge may exist.
func TestNotTakenMessageSaysNothingPurgedOnlyWhenTrue(t *testing.T) {
	err := purge.Errorf(purge.Unavailable, "CloudFront is busy")
	for _, tt := range []struct {
		end      NotTaken
		mayExist bool
		nothing  bool
		says     string
	}{
		{NotTakenRefused, false, true, ""},
		{NotTakenRefused, true, false, ""},
		{NotTakenGaveUp, false, false, "within 15 minutes"},
		{NotTakenGaveUp, true, false, "within 15 minutes"},
		{NotTakenStopped, false, false, "cdnpurge stopped"},
	} {
		m := NotTakenMessage("www", "EDFDVBD6EXAMPLE", []string{"/a"}, err, tt.end, tt.mayExist)
		if got := strings.Contains(m.Text, "Nothing was purged"); got != tt.nothing {
			t.Errorf("end %d, mayExist %v: %q", tt.end, tt.mayExist, m.Text)
		}
		if !tt.nothing && !strings.Contains(m.Text, "check `/cdn-purge list`") || !strings.Contains(m.Text, tt.says) {
			t.Errorf("end %d, mayExist %v: %q", tt.end, tt.mayExist, m.Text)
		}
	}
}
