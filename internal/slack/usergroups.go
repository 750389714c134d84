package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// UserGroupsOptions configures NewUserGroups. The zero value talks to Slack
// with the defaults below.
type UserGroupsOptions struct {
	// APIURL is the Web API's base URL; empty means Slack's,
	// https://slack.com/api/. Tests aim it at a stand-in on loopback.
	APIURL string
	// TTL is how long a group's members are trusted without asking Slack
	// again; 0 means 60 s. On a transient failure they may still be used
	// until 2×TTL after they were fetched (see UserGroups).
	TTL time.Duration
	// Timeout bounds one request to Slack; 0 means 5 s.
	Timeout time.Duration
	// Now tells the time; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
	// Logger receives the operator's detail of failed look-ups and of
	// stale answers; nil means none.
	Logger *slog.Logger
}

// UserGroups answers whether a Slack user belongs to a user group, with the
// Web API method usergroups.users.list (bot token scope usergroups:read),
// and keeps each group's members for a TTL. It is safe for concurrent use.
//
// It fails closed: a user counts as a member only when Slack has said so.
// When Slack cannot answer, InAnyGroup returns an error, never true on a
// guess. The one exception is deliberate and bounded: when a refresh fails
// for a transient reason (network, rate limit, 5xx) and the group's members
// were fetched less than 2×TTL ago, those members are used once more and
// the failure is logged. Serving them at all keeps purges working through a
// short Slack hiccup or rate limit; bounding it at 2×TTL means someone
// removed from a group loses access at most 2×TTL after Slack knew. A
// definitive answer (bad token, missing scope, no such group) is never
// papered over: it drops the cached members and is returned at once.
//
// Errors carry purge codes: PermissionDenied when the bot token lacks
// usergroups:read, Unauthenticated when the token is missing, invalid or
// revoked, NotFound for an unknown group, Unavailable for rate limits,
// timeouts and network or server failures, Invalid for a malformed group
// ID, and Internal for anything else. The bot token never appears in an
// error or a log line.
type UserGroups struct {
	client  *slackapi.Client
	token   string
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	groups map[string]*groupEntry // by group ID; at most maxCachedGroups
}

// maxCachedGroups bounds the cache. Groups come from the targets'
// configuration, so there are few; the bound only guards against a caller
// that passes many distinct IDs.
const maxCachedGroups = 256

// groupEntry is one group's cached members and its look-up in flight.
type groupEntry struct {
	members map[string]struct{} // nil until a look-up has succeeded
	fetched time.Time           // when the request that got members was sent
	call    *groupCall          // the look-up in flight, or nil
}

// groupCall is one request to Slack that every caller asking for the same
// group meanwhile waits for, as golang.org/x/sync/singleflight would do.
// That module is not a dependency and this needs only a channel: done is
// closed once members and err are set, and they are not written again.
type groupCall struct {
	done    chan struct{}
	members map[string]struct{}
	err     error
	joined  int // callers that have waited for it, the first included; u.mu guards it
}

// IsUserGroupID reports whether s looks like a Slack user group ID: S and
// then two or more upper-case letters and digits. (A loop, not a regexp
// compiled at start-up: every Lambda cold start would pay for it.)
func IsUserGroupID(s string) bool {
	if len(s) < 3 || s[0] != 'S' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// NewUserGroups returns a UserGroups that asks Slack's Web API with
// botToken (xoxb-…).
func NewUserGroups(botToken string, opts UserGroupsOptions) *UserGroups {
	u := &UserGroups{
		token:   botToken,
		ttl:     opts.TTL,
		timeout: opts.Timeout,
		now:     opts.Now,
		log:     opts.Logger,
		groups:  map[string]*groupEntry{},
	}
	if u.ttl <= 0 {
		u.ttl = 60 * time.Second
	}
	if u.timeout <= 0 {
		u.timeout = 5 * time.Second
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	apiURL := opts.APIURL
	if apiURL == "" {
		apiURL = slackapi.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/" // slack-go appends the method name as it is
	}
	u.client = slackapi.New(botToken,
		slackapi.OptionAPIURL(apiURL),
		slackapi.OptionHTTPClient(&http.Client{Timeout: u.timeout}),
	)
	return u
}

// InAnyGroup reports whether userID belongs to at least one of groupIDs.
// No groups means false. Cached members answer first; the groups still
// needed are then looked up at once, not one after another. True needs
// Slack's word that the user is a member; false needs every group to have
// answered; otherwise the first error, by the order of groupIDs, is
// returned.
func (u *UserGroups) InAnyGroup(ctx context.Context, userID string, groupIDs []string) (bool, error) {
	for _, g := range groupIDs {
		if !IsUserGroupID(g) {
			return false, purge.Errorf(purge.Invalid, "%q is not a Slack user group ID (S…)", g)
		}
	}
	if userID == "" || len(groupIDs) == 0 {
		return false, nil
	}

	calls := make([]*groupCall, len(groupIDs))
	u.mu.Lock()
	now := u.now()
	for _, g := range groupIDs {
		if e := u.groups[g]; e != nil && e.members != nil && now.Sub(e.fetched) < u.ttl {
			if _, ok := e.members[userID]; ok {
				u.mu.Unlock()
				return true, nil
			}
		}
	}
	for i, g := range groupIDs {
		calls[i] = u.lookupLocked(ctx, g, now)
	}
	u.mu.Unlock()

	var firstErr error
	for i, c := range calls {
		if c == nil {
			continue // fresh in the cache, and the user is not a member
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return false, &purge.Error{
				Code:    purge.Unavailable,
				Message: "Slack did not say in time who is in the user group",
				Err:     fmt.Errorf("usergroups.users.list %s: %w", groupIDs[i], ctx.Err()),
			}
		}
		if c.err != nil {
			if firstErr == nil {
				firstErr = c.err
			}
			continue
		}
		if _, ok := c.members[userID]; ok {
			return true, nil
		}
	}
	return false, firstErr
}

// lookupLocked returns nil when group's cached members are fresh, else the
// look-up in flight for it, starting one if there is none. u.mu is held.
func (u *UserGroups) lookupLocked(ctx context.Context, group string, now time.Time) *groupCall {
	e := u.groups[group]
	if e == nil {
		u.evictLocked(now)
		e = &groupEntry{}
		u.groups[group] = e
	}
	if e.members != nil && now.Sub(e.fetched) < u.ttl {
		return nil
	}
	if e.call == nil {
		e.call = &groupCall{done: make(chan struct{})}
		// The request runs on its own so that a caller that gives up does
		// not fail the others waiting for it; it keeps the context's
		// values, not its cancellation, and its own timeout bounds it.
		go u.fetch(context.WithoutCancel(ctx), group, e.call, now)
	}
	e.call.joined++
	return e.call
}

// fetch asks Slack for group's members, stores the outcome and completes c.
func (u *UserGroups) fetch(ctx context.Context, group string, c *groupCall, sent time.Time) {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	users, err := u.client.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		err = u.classify(group, err)
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	defer close(c.done)
	e := u.groups[group]
	if e == nil || e.call != c { // evicted meanwhile; keep it out of the cache
		e = &groupEntry{}
	}
	e.call = nil
	if err == nil {
		e.members = make(map[string]struct{}, len(users))
		for _, id := range users {
			e.members[id] = struct{}{}
		}
		e.fetched = sent
		c.members = e.members
		return
	}
	now := u.now()
	if purge.Temporary(err) && e.members != nil && now.Sub(e.fetched) < 2*u.ttl {
		u.log.Warn("slack user group look-up failed; using its members from before",
			"usergroup", group, "age_seconds", now.Sub(e.fetched).Round(time.Second).Seconds(), "code", purge.ErrorCode(err), "err", err)
		c.members = e.members
		return
	}
	u.log.Warn("slack user group look-up failed",
		"usergroup", group, "code", purge.ErrorCode(err), "err", err)
	if !purge.Temporary(err) {
		e.members = nil // Slack's definitive answer: what we knew no longer holds
	}
	c.err = err
}

// evictLocked makes room for one more group: it drops the groups with
// nothing usable (no members fetched within 2×TTL) and, if the cache is
// still full, the least recently fetched. Groups with a look-up in flight
// stay. u.mu is held.
func (u *UserGroups) evictLocked(now time.Time) {
	if len(u.groups) < maxCachedGroups {
		return
	}
	var oldest string
	for g, e := range u.groups {
		if e.call != nil {
			continue
		}
		if e.members == nil || now.Sub(e.fetched) >= 2*u.ttl {
			delete(u.groups, g)
			continue
		}
		if oldest == "" || e.fetched.Before(u.groups[oldest].fetched) {
			oldest = g
		}
	}
	if len(u.groups) >= maxCachedGroups && oldest != "" {
		delete(u.groups, oldest)
	}
}

// The Web API's error strings that are about the bot token.
var (
	slackScopeErrors = map[string]bool{"missing_scope": true, "not_allowed_token_type": true, "no_permission": true, "ekm_access_denied": true}
	slackAuthErrors  = map[string]bool{"not_authed": true, "invalid_auth": true, "token_revoked": true, "token_expired": true, "account_inactive": true}
	slackBusyErrors  = map[string]bool{"ratelimited": true, "fatal_error": true, "internal_error": true, "service_unavailable": true, "request_timeout": true}
)

// classify turns an error of slack-go into a *purge.Error whose message
// tells the chat user, and the operator, what to fix, and whose detail is
// free of the bot token.
func (u *UserGroups) classify(group string, err error) error {
	code, msg := purge.Internal, "could not check the Slack user group "+group
	var (
		apiErr  slackapi.SlackErrorResponse
		limited *slackapi.RateLimitedError
		status  slackapi.StatusCodeError
	)
	switch {
	case errors.As(err, &apiErr) && slackScopeErrors[apiErr.Err]:
		code, msg = purge.PermissionDenied, "the Slack bot token lacks usergroups:read: add that scope to the Slack app and reinstall it"
		if apiErr.Needed != "" || apiErr.Provided != "" {
			err = fmt.Errorf("%w (needed %q, provided %q)", err, apiErr.Needed, apiErr.Provided)
		}
	case errors.As(err, &apiErr) && slackAuthErrors[apiErr.Err]:
		code, msg = purge.Unauthenticated, "Slack refused the bot token (missing, invalid or revoked): set a valid xoxb- token"
	case errors.As(err, &apiErr) && apiErr.Err == "no_such_subteam":
		code, msg = purge.NotFound, "Slack has no user group "+group
	case errors.As(err, &apiErr) && slackBusyErrors[apiErr.Err]:
		code, msg = purge.Unavailable, "Slack could not say who is in the user group "+group+"; try again shortly"
	case errors.As(err, &limited):
		code, msg = purge.Unavailable, "Slack is rate limiting user group look-ups; try again in a minute"
	case errors.As(err, &status):
		if status.Code == http.StatusTooManyRequests || status.Code >= 500 {
			code, msg = purge.Unavailable, "Slack could not say who is in the user group "+group+"; try again shortly"
		}
	case errors.As(err, &apiErr):
		// Another of the Web API's errors: unclassified.
	default:
		// The request never got an answer we could read: network failures,
		// timeouts, a broken response.
		code, msg = purge.Unavailable, "Slack did not answer who is in the user group "+group+"; try again shortly"
	}
	return &purge.Error{Code: code, Message: msg, Err: u.redact(fmt.Errorf("usergroups.users.list %s: %w", group, err))}
}

// redact guards the bot token: slack-go sends it in the form body, so no
// error of its names it today, but should one ever do, its text is
// rewritten (giving up the chain below it) rather than let it reach a log.
func (u *UserGroups) redact(err error) error {
	if u.token == "" || !strings.Contains(err.Error(), u.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), u.token, "[bot token]"))
}
