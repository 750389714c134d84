package slack

// JoinedInFlight is how many callers have waited for the look-up of group
// now in flight (0 when there is none), for a test to know that they all
// share it before it lets Slack answer.
func (u *UserGroups) JoinedInFlight(group string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if e := u.groups[group]; e != nil && e.call != nil {
		return e.call.joined
	}
	return 0
}
