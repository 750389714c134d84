package followup

import (
	"cmp"
	"sync"
)

// DefaultClaims is how many keys a Claims remembers when its Max is 0.
const DefaultClaims = 4096

// Claims remembers the most recent keys claimed in this process, so that
// work done once per key (announcing an invalidation, handling a follow-up
// hop) is done once here even when two deliveries of it arrive at the same
// moment. It is no record across processes: CloudFront is (see
// purge.Invalidation.New). A nil *Claims claims everything. Safe for
// concurrent use.
type Claims struct {
	// Max bounds the keys remembered, the oldest forgotten first; 0 means
	// DefaultClaims.
	Max int

	mu    sync.Mutex
	keys  map[string]bool
	order []string
}

// Claim reports whether key is new here, and remembers it.
func (c *Claims) Claim(key string) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[string]bool{}
	}
	if c.keys[key] {
		return false
	}
	c.keys[key] = true
	c.order = append(c.order, key)
	if len(c.order) > cmp.Or(c.Max, DefaultClaims) {
		delete(c.keys, c.order[0])
		c.order = c.order[1:]
	}
	return true
}

// Release forgets key, so that it may be claimed again: for work claimed
// before it was done that then failed, which a retry must be free to do.
// A key claimed again after a release may be forgotten sooner than Max
// claims later: it keeps its first place in the order.
func (c *Claims) Release(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, key)
}
