package slack_test

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// Slack's answers to usergroups.users.list, as its documentation shows
// them.
//
//go:embed testdata/usergroups*.json
var userGroupsFixtures embed.FS

func mustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := userGroupsFixtures.ReadFile("testdata/usergroups_users_list_" + name + ".json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The interface internal/access consumes; UserGroups must satisfy it.
var _ interface {
	InAnyGroup(ctx context.Context, userID string, groupIDs []string) (bool, error)
} = (*slack.UserGroups)(nil)

func newFakeClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

const testTTL = time.Minute

// newUserGroups returns a UserGroups with the fake bot token aimed at api,
// on a fake clock, logging to the returned buffer.
func newUserGroups(api *testutil.SlackAPI, clock *testutil.Clock) (*slack.UserGroups, *testutil.LockedBuffer) {
	var logs testutil.LockedBuffer
	return slack.NewUserGroups(testutil.SlackBotToken, slack.UserGroupsOptions{
		APIURL:  api.URL,
		TTL:     testTTL,
		Timeout: 2 * time.Second,
		Now:     clock.Now,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	}), &logs
}

func TestUserGroupsInAnyGroup(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		groups  []string
		fixture string // served verbatim instead of the membership, if set
		want    bool
		hits    int
		atMost  bool // hits is a bound: InAnyGroup answered before every look-up it started had reached Slack
	}{
		{name: "member", user: "U1", groups: []string{"S0WEBTEAM"}, want: true, hits: 1},
		{name: "not a member", user: "U9", groups: []string{"S0WEBTEAM"}, want: false, hits: 1},
		{name: "empty group", user: "U1", groups: []string{"S0EMPTY"}, want: false, hits: 1},
		{name: "member of the second of two", user: "U3", groups: []string{"S0WEBTEAM", "S0OPS"}, want: true, hits: 2},
		{name: "member of both", user: "U2", groups: []string{"S0WEBTEAM", "S0OPS"}, want: true, hits: 2, atMost: true},
		{name: "member of neither", user: "U9", groups: []string{"S0WEBTEAM", "S0OPS", "S0EMPTY"}, want: false, hits: 3},
		{name: "same group twice", user: "U9", groups: []string{"S0OPS", "S0OPS"}, want: false, hits: 1},
		{name: "no groups", user: "U1", groups: nil, want: false, hits: 0},
		{name: "no user", user: "", groups: []string{"S0WEBTEAM"}, want: false, hits: 0},
		{name: "Slack's documented answer", user: "W123A4BC5", groups: []string{"S0604QSJC"}, fixture: "ok", want: true, hits: 1},
		{name: "not in Slack's documented answer", user: "U1", groups: []string{"S0604QSJC"}, fixture: "ok", want: false, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
			api.SetMembers("S0WEBTEAM", "U1", "U2")
			api.SetMembers("S0OPS", "U2", "U3")
			api.SetMembers("S0EMPTY")
			if tt.fixture != "" {
				api.Reply(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, mustFixture(t, tt.fixture))
			}
			ug, _ := newUserGroups(api, newFakeClock())
			got, err := ug.InAnyGroup(context.Background(), tt.user, tt.groups)
			if err != nil {
				t.Fatalf("InAnyGroup: %v", err)
			}
			if got != tt.want {
				t.Errorf("InAnyGroup(%q, %q) = %v, want %v", tt.user, tt.groups, got, tt.want)
			}
			if n := api.Hits(); n != tt.hits && !(tt.atMost && n >= 1 && n < tt.hits) {
				t.Errorf("Slack got %d requests, want %d", n, tt.hits)
			}
		})
	}
}

func TestUserGroupsRejectsMalformedGroupID(t *testing.T) {
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	ug, _ := newUserGroups(api, newFakeClock())
	for _, g := range []string{"", "webteam", "S", "s0webteam", "S0WEB TEAM", "S0WEBTEAM&token=x"} {
		_, err := ug.InAnyGroup(context.Background(), "U1", []string{"S0OPS", g})
		if code := purge.ErrorCode(err); code != purge.Invalid {
			t.Errorf("group %q: code %q (%v), want %q", g, code, err, purge.Invalid)
		}
	}
	if n := api.Hits(); n != 0 {
		t.Errorf("Slack got %d requests for malformed IDs, want 0", n)
	}
}

// TestUserGroupsCache steps a fake clock through the TTL and counts what
// reaches Slack.
func TestUserGroupsCache(t *testing.T) {
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	api.SetMembers("S0WEBTEAM", "U1", "U2")
	api.SetMembers("S0OPS", "U3")
	clock := newFakeClock()
	ug, _ := newUserGroups(api, clock)
	steps := []struct {
		name    string
		advance time.Duration
		change  func()
		user    string
		groups  []string
		want    bool
		hits    int // in all, after this step
	}{
		{name: "first look-up asks Slack", user: "U1", groups: []string{"S0WEBTEAM"}, want: true, hits: 1},
		{name: "same group within TTL is cached", advance: testTTL / 2, user: "U1", groups: []string{"S0WEBTEAM"}, want: true, hits: 1},
		{name: "another user, same group, cached", user: "U9", groups: []string{"S0WEBTEAM"}, want: false, hits: 1},
		{name: "a removal is not seen within TTL", change: func() { api.SetMembers("S0WEBTEAM", "U2") }, user: "U1", groups: []string{"S0WEBTEAM"}, want: true, hits: 1},
		{name: "another group asks Slack", user: "U3", groups: []string{"S0OPS"}, want: true, hits: 2},
		{name: "a cached member needs no other group", user: "U1", groups: []string{"S0NEW", "S0WEBTEAM"}, want: true, hits: 2},
		{name: "after TTL Slack is asked again", advance: testTTL / 2, user: "U1", groups: []string{"S0WEBTEAM"}, want: false, hits: 3},
		{name: "and the new answer is cached", user: "U2", groups: []string{"S0WEBTEAM"}, want: true, hits: 3},
		{name: "the other group is still fresh", user: "U3", groups: []string{"S0OPS"}, want: true, hits: 3},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if s.change != nil {
			s.change()
		}
		got, err := ug.InAnyGroup(context.Background(), s.user, s.groups)
		if err != nil {
			t.Fatalf("%s: InAnyGroup: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: InAnyGroup(%q, %q) = %v, want %v", s.name, s.user, s.groups, got, s.want)
		}
		if n := api.Hits(); n != s.hits {
			t.Errorf("%s: Slack got %d requests in all, want %d", s.name, n, s.hits)
		}
	}
}

// TestUserGroupsSharesInFlight holds Slack's answer while many callers ask
// for the same group: they must share one request. A caller that gives up
// meanwhile gets an error and does not spoil the others' answer.
func TestUserGroupsSharesInFlight(t *testing.T) {
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	api.SetMembers("S0WEBTEAM", "U1")
	ug, _ := newUserGroups(api, newFakeClock())
	release := api.Hold()

	const callers = 16
	var started, done sync.WaitGroup
	results := make(chan error, callers)
	for i := range callers {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			user := "U1"
			if i%2 == 1 {
				user = "U2"
			}
			started.Done()
			got, err := ug.InAnyGroup(context.Background(), user, []string{"S0WEBTEAM"})
			if err == nil && got != (user == "U1") {
				err = fmt.Errorf("%s: got %v", user, got)
			}
			results <- err
		}()
	}
	started.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() {
		_, err := ug.InAnyGroup(ctx, "U1", []string{"S0WEBTEAM"})
		quitter <- err
	}()
	waitFor(t, func() bool { return api.Hits() >= 1 })
	// Every caller has joined the look-up in flight (the one request,
	// held) before Slack may answer: a caller that did not share it would
	// have sent its own by now.
	waitFor(t, func() bool { return ug.JoinedInFlight("S0WEBTEAM") == callers+1 })
	if n := api.Hits(); n != 1 {
		t.Fatalf("%d callers sent %d requests while one was in flight, want 1", callers+1, n)
	}
	cancel()
	if err := <-quitter; purge.ErrorCode(err) != purge.Unavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("caller that gave up: %v, want Unavailable wrapping context.Canceled", err)
	}
	release()
	done.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if n := api.Hits(); n != 1 {
		t.Errorf("Slack got %d requests, want 1", n)
	}
}

func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestUserGroupsErrors checks that each of Slack's failures is an error
// with the right code and a message that says what to fix, that none is
// taken for "allowed", and that the bot token shows nowhere.
func TestUserGroupsErrors(t *testing.T) {
	tests := []struct {
		name     string
		apiToken string // the token the stand-in accepts; default the bot's
		noToken  bool   // the bot has no token at all
		apiURL   string // instead of the stand-in's
		timeout  time.Duration
		status   int // with fixture or body: the stand-in answers this status (default 200)
		header   http.Header
		fixture  string // the stand-in answers this fixture, as JSON
		body     string // or this body
		setup    func(*testutil.SlackAPI)
		group    string
		code     purge.Code
		message  string // the user-safe message contains this
		detail   string // the full error contains this
		as       any    // errors.As finds this type in the chain
	}{
		{
			name:    "missing_scope",
			fixture: "missing_scope",
			code:    purge.PermissionDenied,
			message: "lacks usergroups:read",
			detail:  `needed "usergroups:read", provided "commands,chat:write"`,
			as:      new(slackapi.SlackErrorResponse),
		},
		{
			name:     "invalid_auth",
			apiToken: "xoxb-another-workspace-token",
			code:     purge.Unauthenticated,
			message:  "bot token",
			detail:   "invalid_auth",
		},
		{name: "not_authed", noToken: true, code: purge.Unauthenticated, message: "bot token", detail: "not_authed"},
		{name: "token_revoked", fixture: "token_revoked", code: purge.Unauthenticated, message: "revoked", detail: "token_revoked"},
		{name: "no_such_subteam", group: "S0GONE", code: purge.NotFound, message: "S0GONE", detail: "no_such_subteam"},
		{
			name:    "rate limited with Retry-After",
			status:  http.StatusTooManyRequests,
			header:  http.Header{"Retry-After": {"30"}},
			fixture: "ratelimited",
			code:    purge.Unavailable,
			message: "rate limiting",
			as:      new(*slackapi.RateLimitedError),
		},
		{name: "rate limited without Retry-After", status: http.StatusTooManyRequests, fixture: "ratelimited", code: purge.Unavailable, as: new(slackapi.StatusCodeError)},
		{name: "server error", status: http.StatusServiceUnavailable, body: "<html>down</html>", code: purge.Unavailable, as: new(slackapi.StatusCodeError)},
		{name: "answer that is not JSON", body: "<html>maintenance</html>", code: purge.Unavailable},
		{name: "error Slack added later", fixture: "unknown_error", code: purge.Internal, message: "could not check", detail: "some_error_slack_added_later"},
		{
			name:    "connection dropped",
			setup:   func(api *testutil.SlackAPI) { api.Disconnect(true) },
			code:    purge.Unavailable,
			message: "did not answer",
			as:      new(*url.Error),
		},
		{name: "connection refused", apiURL: "closed", code: purge.Unavailable, message: "did not answer"},
		{
			name:    "timeout",
			timeout: 50 * time.Millisecond,
			setup:   func(api *testutil.SlackAPI) { api.Hold() },
			code:    purge.Unavailable,
			detail:  "deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apiToken := tt.apiToken
			if apiToken == "" {
				apiToken = testutil.SlackBotToken
			}
			api := testutil.NewSlackAPI(t, apiToken)
			api.SetMembers("S0WEBTEAM", "U1")
			if tt.fixture != "" || tt.body != "" {
				body := []byte(tt.body)
				if tt.fixture != "" {
					body = mustFixture(t, tt.fixture)
				}
				status := cmp.Or(tt.status, http.StatusOK)
				header := http.Header{"Content-Type": {"application/json"}}
				maps.Copy(header, tt.header)
				api.Reply(status, header, body)
			}
			if tt.setup != nil {
				tt.setup(api)
			}
			apiURL := api.URL
			if tt.apiURL == "closed" {
				apiURL = "http://" + testutil.MustRefusingAddr(t) + "/api/"
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			botToken := testutil.SlackBotToken
			if tt.noToken {
				botToken = ""
			}
			var logs testutil.LockedBuffer
			ug := slack.NewUserGroups(botToken, slack.UserGroupsOptions{
				APIURL:  apiURL,
				Timeout: timeout,
				Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
			})
			group := tt.group
			if group == "" {
				group = "S0WEBTEAM"
			}
			got, err := ug.InAnyGroup(context.Background(), "U1", []string{group})
			if err == nil || got {
				t.Fatalf("InAnyGroup = %v, %v; want false and an error", got, err)
			}
			if code := purge.ErrorCode(err); code != tt.code {
				t.Errorf("code %q, want %q (%v)", code, tt.code, err)
			}
			msg := purge.ErrorMessage(err)
			if msg == "internal error" || !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not contain %q", err, tt.detail)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v: errors.As(%T) fails", err, tt.as)
			}
			// The bot token, or its secret part, shows nowhere.
			secret := strings.TrimPrefix(testutil.SlackBotToken, "xoxb-")
			for what, text := range map[string]string{
				"error":   err.Error(),
				"%+v":     fmt.Sprintf("%+v", err),
				"message": msg,
				"log":     logs.String(),
			} {
				if strings.Contains(text, secret) {
					t.Errorf("the bot token leaks into the %s: %s", what, text)
				}
			}
			if !strings.Contains(logs.String(), "usergroup="+group) {
				t.Errorf("the failure was not logged: %q", logs.String())
			}
		})
	}
}

// TestUserGroupsStale checks what happens when a refresh fails: members
// fetched less than 2×TTL ago answer through a transient failure, never
// through a definitive one, and never past 2×TTL.
func TestUserGroupsStale(t *testing.T) {
	tests := []struct {
		name  string
		age   time.Duration // since the members were fetched
		fault func(*testutil.SlackAPI)
		code  purge.Code // "" means the stale members answer
	}{
		{name: "network failure at 1.5×TTL", age: 3 * testTTL / 2, fault: func(api *testutil.SlackAPI) { api.Disconnect(true) }},
		{name: "rate limit just before 2×TTL", age: 2*testTTL - time.Second, fault: func(api *testutil.SlackAPI) {
			api.Reply(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, []byte(`{"ok":false,"error":"ratelimited"}`))
		}},
		{name: "network failure at 2×TTL", age: 2 * testTTL, fault: func(api *testutil.SlackAPI) { api.Disconnect(true) }, code: purge.Unavailable},
		{name: "network failure at 3×TTL", age: 3 * testTTL, fault: func(api *testutil.SlackAPI) { api.Disconnect(true) }, code: purge.Unavailable},
		{name: "revoked token at 1.5×TTL", age: 3 * testTTL / 2, fault: func(api *testutil.SlackAPI) {
			api.Reply(http.StatusOK, nil, []byte(`{"ok":false,"error":"token_revoked"}`))
		}, code: purge.Unauthenticated},
		{name: "group deleted at 1.5×TTL", age: 3 * testTTL / 2, fault: func(api *testutil.SlackAPI) {
			api.Reply(http.StatusOK, nil, []byte(`{"ok":false,"error":"no_such_subteam"}`))
		}, code: purge.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
			api.SetMembers("S0WEBTEAM", "U1")
			clock := newFakeClock()
			ug, logs := newUserGroups(api, clock)
			ctx := context.Background()
			if ok, err := ug.InAnyGroup(ctx, "U1", []string{"S0WEBTEAM"}); !ok || err != nil {
				t.Fatalf("first look-up: %v, %v", ok, err)
			}
			clock.Advance(tt.age)
			tt.fault(api)
			got, err := ug.InAnyGroup(ctx, "U1", []string{"S0WEBTEAM"})
			if tt.code == "" {
				if err != nil || !got {
					t.Fatalf("InAnyGroup = %v, %v; want the stale answer true", got, err)
				}
				if !strings.Contains(logs.String(), "using its members from before") {
					t.Errorf("serving stale members was not logged: %q", logs.String())
				}
				// Past 2×TTL the same failure is an error.
				clock.Advance(2*testTTL - tt.age)
				if got, err := ug.InAnyGroup(ctx, "U1", []string{"S0WEBTEAM"}); got || purge.ErrorCode(err) != purge.Unavailable {
					t.Errorf("at 2×TTL: InAnyGroup = %v, %v; want an Unavailable error", got, err)
				}
			} else {
				if got || purge.ErrorCode(err) != tt.code {
					t.Fatalf("InAnyGroup = %v, %v; want false and a %q error", got, err, tt.code)
				}
			}
			if n := api.Hits(); n < 2 {
				t.Errorf("Slack got %d requests; the refresh was not tried", n)
			}
			if tt.code != "" && tt.code != purge.Unavailable {
				// A definitive answer dropped the members: a transient
				// failure now finds nothing to fall back on.
				api.Reply(0, nil, nil)
				api.Disconnect(true)
				if got, err := ug.InAnyGroup(ctx, "U1", []string{"S0WEBTEAM"}); got || purge.ErrorCode(err) != purge.Unavailable {
					t.Errorf("after %q: InAnyGroup = %v, %v; want an Unavailable error", tt.code, got, err)
				}
			}
		})
	}
}

// TestUserGroupsFailsClosedAcrossGroups: with several groups, only Slack's
// word makes a member; an error in one group is returned unless another
// group confirms the user.
func TestUserGroupsFailsClosedAcrossGroups(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		groups []string
		want   bool
		code   purge.Code
		about  string // the group the error names
	}{
		{name: "member of a group that answered", user: "U1", groups: []string{"S0GONE", "S0WEBTEAM"}, want: true},
		{name: "not a member of the group that answered", user: "U9", groups: []string{"S0WEBTEAM", "S0GONE"}, code: purge.NotFound, about: "S0GONE"},
		{name: "first error in order", user: "U9", groups: []string{"S0OTHERGONE", "S0GONE"}, code: purge.NotFound, about: "S0OTHERGONE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
			api.SetMembers("S0WEBTEAM", "U1")
			ug, _ := newUserGroups(api, newFakeClock())
			got, err := ug.InAnyGroup(context.Background(), tt.user, tt.groups)
			if got != tt.want || purge.ErrorCode(err) != tt.code {
				t.Fatalf("InAnyGroup = %v, %v; want %v and code %q", got, err, tt.want, tt.code)
			}
			if tt.code != "" && !strings.Contains(purge.ErrorMessage(err), tt.about) {
				t.Errorf("error %q is not about the group %s", purge.ErrorMessage(err), tt.about)
			}
		})
	}
}

// TestUserGroupsBounded asks about more groups than the cache holds: the
// least recently fetched group is dropped and asked for again.
func TestUserGroupsBounded(t *testing.T) {
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	const groups = 300
	for i := range groups {
		api.SetMembers(fmt.Sprintf("S%04d", i), "U1")
	}
	clock := newFakeClock()
	ug, _ := newUserGroups(api, clock)
	ctx := context.Background()
	for i := range groups {
		clock.Advance(time.Millisecond)
		if ok, err := ug.InAnyGroup(ctx, "U1", []string{fmt.Sprintf("S%04d", i)}); !ok || err != nil {
			t.Fatalf("group %d: %v, %v", i, ok, err)
		}
	}
	// The newest groups are still cached, the oldest were dropped.
	before := api.Hits()
	if ok, err := ug.InAnyGroup(ctx, "U1", []string{fmt.Sprintf("S%04d", groups-1)}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := api.Hits(); n != before {
		t.Errorf("the newest group was not cached: %d requests, want %d", n, before)
	}
	if ok, err := ug.InAnyGroup(ctx, "U1", []string{"S0000"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := api.Hits(); n != before+1 {
		t.Errorf("the oldest group was still cached: %d requests, want %d", n, before+1)
	}
}

// TestSlackAPIStandIn pins the stand-in to the Web API's wire: a POSTed
// form with the token as a field (what slack-go sends), a GET with a
// bearer token, and Slack's auth errors, all with HTTP 200 and JSON.
func TestSlackAPIStandIn(t *testing.T) {
	api := testutil.NewSlackAPI(t, testutil.SlackBotToken)
	api.SetMembers("S0WEBTEAM", "U1", "U2")
	method := api.URL + "usergroups.users.list"
	tests := []struct {
		name string
		req  func() (*http.Request, error)
		want string
	}{
		{"POST form", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, method, strings.NewReader(url.Values{"token": {testutil.SlackBotToken}, "usergroup": {"S0WEBTEAM"}}.Encode()))
			if err == nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			return r, err
		}, `{"ok":true,"users":["U1","U2"]}`},
		{"GET with bearer", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodGet, method+"?usergroup=S0WEBTEAM", nil)
			if err == nil {
				r.Header.Set("Authorization", "Bearer "+testutil.SlackBotToken)
			}
			return r, err
		}, `{"ok":true,"users":["U1","U2"]}`},
		{"no token", func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, method+"?usergroup=S0WEBTEAM", nil)
		}, `{"error":"not_authed","ok":false}`},
		{"other token", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodGet, method+"?usergroup=S0WEBTEAM", nil)
			if err == nil {
				r.Header.Set("Authorization", "Bearer xoxb-other")
			}
			return r, err
		}, `{"error":"invalid_auth","ok":false}`},
		{"unknown group", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodGet, method+"?usergroup=S0NONE", nil)
			if err == nil {
				r.Header.Set("Authorization", "Bearer "+testutil.SlackBotToken)
			}
			return r, err
		}, `{"error":"no_such_subteam","ok":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.req()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != tt.want {
				t.Errorf("got %d %s, want 200 %s", resp.StatusCode, body, tt.want)
			}
		})
	}
}
