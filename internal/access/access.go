// Package access decides who may purge what. It knows the targets (each a
// CloudFront distribution or distribution tenant, the hosts that pick it,
// and its rules) and checks every request against the rules of its target
// before anything reaches CloudFront: the channel, the person (by user or
// Slack user group) and the paths. A refusal says, as data (Refusal), which
// rule refused, on which target, and what would be allowed instead; only
// internal/slack words it, so this package writes no mrkdwn and imports no
// Slack package.
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// Target is one thing to purge and the rules for purging it.
type Target struct {
	// Name is what a command calls the target ("www"); empty for the
	// tutorial's single target, configured from the environment.
	Name string
	// DistributionID is the CloudFront distribution, or a distribution
	// tenant (dt_…, see purge.IsTenantID).
	DistributionID string
	// Domains are the lower-case hosts whose pasted URLs pick this target.
	// With none, a pasted URL of any host not claimed by another target may
	// purge it.
	Domains []string
	// Channels may purge the target, by ID or name.
	Channels Channels
	// Users and UserGroups, when either is set, are who may purge the
	// target: a person passes if named in Users or a member of one of
	// UserGroups. With neither, anyone in an allowed channel may.
	Users      []string
	UserGroups []string
	// Paths, when set, are the only paths the target may purge: each
	// requested path must be one of them or under one that ends in "*".
	Paths []string
	// Confirm says which purges of this target wait for an approval click.
	Confirm purge.ConfirmPolicy
	// RoleARN is an IAM role (in another account) to assume for this
	// target; empty for the process's own credentials.
	RoleARN string
}

// Label names the target: its name, or the distribution ID of the unnamed
// single target.
func (t *Target) Label() string {
	if t.Name != "" {
		return t.Name
	}
	return t.DistributionID
}

// Targets is the set of targets, with the default one a command that names
// none purges. It is read-only once built, so safe for concurrent use.
type Targets struct {
	list   []*Target
	def    *Target
	byName map[string]*Target
	byHost map[string]*Target
}

// NewTargets indexes targets. defaultName may be empty only when there is one
// target. The configuration file checks the rest (names, hosts, IDs) with
// line numbers; NewTargets refuses only what would make lookups ambiguous.
func NewTargets(targets []Target, defaultName string) (*Targets, error) {
	ts := &Targets{byName: map[string]*Target{}, byHost: map[string]*Target{}}
	for i := range targets {
		t := &targets[i]
		if _, dup := ts.byName[t.Name]; dup {
			return nil, fmt.Errorf("two targets are named %q", t.Name)
		}
		if purge.IsKeyword(t.Name) {
			return nil, fmt.Errorf("target %q is named after a command word", t.Name)
		}
		ts.byName[t.Name] = t
		for _, d := range t.Domains {
			if other, dup := ts.byHost[d]; dup {
				return nil, fmt.Errorf("host %q belongs to targets %q and %q", d, other.Name, t.Name)
			}
			ts.byHost[d] = t
		}
		ts.list = append(ts.list, t)
	}
	switch {
	case len(ts.list) == 0:
		return nil, fmt.Errorf("no targets")
	case defaultName == "" && len(ts.list) == 1:
		ts.def = ts.list[0]
	default:
		ts.def = ts.byName[defaultName]
		if ts.def == nil || defaultName == "" {
			return nil, fmt.Errorf("default target %q is not one of the targets", defaultName)
		}
	}
	return ts, nil
}

// Single returns the tutorial's one unnamed target: a distribution purged
// from channels, with confirm.
func Single(distributionID string, channels Channels, confirm purge.ConfirmPolicy) *Targets {
	// One unnamed target cannot be ambiguous, so NewTargets cannot fail.
	ts, _ := NewTargets([]Target{{DistributionID: distributionID, Channels: channels, Confirm: confirm}}, "")
	return ts
}

// All returns the targets in the order they were configured.
func (ts *Targets) All() []*Target { return ts.list }

// Default returns the target a command that names none purges.
func (ts *Targets) Default() *Target { return ts.def }

// defaultFor returns the target a command from who's channel purges when it
// names none: the default, unless its channels rule refuses that channel and
// exactly one other target allows it; then that one, so that in a team's own
// channel `/cdn-purge /guide/*` purges the team's site.
func (ts *Targets) defaultFor(who Who) *Target {
	if ts.def.Channels.Allows(who.ChannelID, who.ChannelName) {
		return ts.def
	}
	var only *Target
	for _, t := range ts.list {
		if t.Channels.Allows(who.ChannelID, who.ChannelName) {
			if only != nil {
				return ts.def
			}
			only = t
		}
	}
	if only == nil {
		return ts.def
	}
	return only
}

// Named returns the target called name, or nil.
func (ts *Targets) Named(name string) *Target {
	if name == "" {
		return nil
	}
	return ts.byName[name]
}

// GroupMembers answers whether a Slack user belongs to at least one of some
// user groups. internal/slack implements it over Slack's Web API.
type GroupMembers interface {
	InAnyGroup(ctx context.Context, userID string, groupIDs []string) (bool, error)
}

// Who is the person asking and where.
type Who struct {
	UserID, ChannelID, ChannelName string
}

// Policy checks requests against the targets' rules.
type Policy struct {
	Targets *Targets
	// Groups answers user-group rules; nil refuses everyone on a target
	// with UserGroups (the configuration requires a bot token for them).
	Groups GroupMembers
}

// The rules a refusal can name.
const (
	RuleTarget   = "target"
	RuleDomains  = "domains"
	RuleChannels = "channels"
	RulePeople   = "users/usergroups"
	RulePaths    = "paths"
)

// Refusal is a request a rule refused, as data: the rule, what it refused
// (Kind, Item), on which target, and what would be allowed. It travels as
// the Err of a *purge.Error with Code PermissionDenied; internal/slack
// words it for the chat user.
type Refusal struct {
	Rule string
	Kind RefusalKind
	// Target is the target refused; nil for a target that does not exist.
	Target *Target
	// Other is the other target of a domains refusal: the one the host
	// belongs to, or the second of two targets a command's URLs are on.
	Other *Target
	// Item is what was refused: the host, the path or tag, the name typed.
	Item string
	// Where is the name of the channel asked from; empty for one with no
	// public name (a DM, a private group).
	Where string
	// What the rule allows: the channels (RuleChannels), the hosts
	// (RuleDomains), the paths (RulePaths), the people (RulePeople).
	Channels, Domains, Paths, Users, UserGroups []string
	// Here are the targets the person may purge from where they are, for a
	// refusal of the target or the channel.
	Here []*Target
}

// RefusalKind says which of its rule's refusals a Refusal is.
type RefusalKind int

// The refusals. The zero kind names only the rule.
const (
	_ RefusalKind = iota
	// RefusedUnknownTarget: no target has the name Item (RuleTarget).
	RefusedUnknownTarget
	// RefusedTwoTargets: the URLs are on hosts of Target and Other.
	RefusedTwoTargets
	// RefusedOthersHost: the host Item belongs to Other, not Target.
	RefusedOthersHost
	// RefusedNotAHost: the host Item is not one of Target's Domains.
	RefusedNotAHost
	// RefusedChannel: Target may not be purged from Where (RuleChannels).
	RefusedChannel
	// RefusedPerson: only Users or members of UserGroups may purge Target.
	RefusedPerson
	// RefusedTag: Item is a cache tag, and Target may purge only Paths.
	RefusedTag
	// RefusedDotSegment: Item has a . or .. segment, and Target may purge
	// only Paths.
	RefusedDotSegment
	// RefusedOutsidePaths: Item is outside Target's Paths.
	RefusedOutsidePaths
)

func (r *Refusal) Error() string {
	s := "refused by rule " + r.Rule
	if r.Target != nil {
		s += " of target " + strconv.Quote(r.Target.Label())
	}
	if r.Item != "" {
		s += ": " + strconv.Quote(r.Item)
	}
	return s
}

// refuse returns r as the error of a refused request.
func refuse(r *Refusal) *purge.Error {
	return &purge.Error{Code: purge.PermissionDenied, Message: "not allowed by the " + r.Rule + " rule", Err: r}
}

// NotAPath is a command's first word that names no target where targets
// have no names (the tutorial's single target): a path without its
// slash. It travels as the Err of a *purge.Error with Code Invalid.
type NotAPath struct{ Word string }

func (e *NotAPath) Error() string { return "not a path: " + strconv.Quote(e.Word) }

// RefusedRule returns the rule that refused a request, or "" when err is
// not a refusal.
func RefusedRule(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Rule
	}
	return ""
}

// Resolve picks the target of a command: the one it names, else the one
// its pasted URLs' hosts belong to, else the default (or, in a channel the
// default may not be purged from, the one target that may). It checks the domains
// rule: a pasted URL must be on a host of its target (or, for a target with
// no domains, on no other target's host), and one command purges one
// target.
func (p *Policy) Resolve(ctx context.Context, who Who, cmd purge.Command) (*Target, error) {
	ts := p.Targets
	t := ts.defaultFor(who)
	if cmd.Target != "" {
		if t = ts.Named(cmd.Target); t == nil {
			return nil, p.unknownTarget(ctx, who, cmd.Target)
		}
	} else if len(cmd.Hosts) > 0 {
		var found *Target
		for _, h := range cmd.Hosts {
			ht := ts.byHost[h]
			if ht == nil {
				continue
			}
			if found != nil && found != ht {
				return nil, refuse(&Refusal{Rule: RuleDomains, Kind: RefusedTwoTargets, Target: found, Other: ht})
			}
			found = ht
		}
		if found != nil {
			t = found
		}
	}
	for _, h := range cmd.Hosts {
		switch owner := ts.byHost[h]; {
		case owner == t:
		case owner != nil:
			return nil, refuse(&Refusal{Rule: RuleDomains, Kind: RefusedOthersHost, Target: t, Other: owner, Item: h})
		case len(t.Domains) > 0:
			return nil, refuse(&Refusal{Rule: RuleDomains, Kind: RefusedNotAHost, Target: t, Item: h, Domains: t.Domains})
		}
	}
	return t, nil
}

func (p *Policy) unknownTarget(ctx context.Context, who Who, name string) error {
	if p.Targets.Default().Name == "" {
		return &purge.Error{Code: purge.Invalid, Message: "not a path: paths must start with /", Err: &NotAPath{Word: name}}
	}
	return refuse(&Refusal{Rule: RuleTarget, Kind: RefusedUnknownTarget, Item: name, Here: p.Here(ctx, who)})
}

// CheckChannel checks the channels rule alone: what reading a target's
// invalidations (status, list) needs.
func (p *Policy) CheckChannel(ctx context.Context, t *Target, who Who) error {
	if t.Channels.Allows(who.ChannelID, who.ChannelName) {
		return nil
	}
	where := ""
	if who.ChannelName != "directmessage" && who.ChannelName != "privategroup" {
		where = who.ChannelName
	}
	return refuse(&Refusal{Rule: RuleChannels, Kind: RefusedChannel, Target: t, Where: where, Channels: t.Channels, Here: p.Here(ctx, who)})
}

// CheckPerson checks the users/usergroups rule: whether who may purge t
// (or approve a purge of it).
func (p *Policy) CheckPerson(ctx context.Context, t *Target, who Who) error {
	if len(t.Users) == 0 && len(t.UserGroups) == 0 || slices.Contains(t.Users, who.UserID) {
		return nil
	}
	if len(t.UserGroups) > 0 {
		if p.Groups == nil {
			return &purge.Error{Code: purge.Internal, Message: "this target is limited to Slack user groups, and cdnpurge has no bot token to check them", Err: fmt.Errorf("target %q: usergroups without a GroupMembers", t.Name)}
		}
		in, err := p.Groups.InAnyGroup(ctx, who.UserID, t.UserGroups)
		if err != nil {
			return err
		}
		if in {
			return nil
		}
	}
	return refuse(&Refusal{Rule: RulePeople, Kind: RefusedPerson, Target: t, Users: t.Users, UserGroups: t.UserGroups})
}

// CheckPaths checks the paths rule: with Paths set, every requested path
// must be one of them or lie under one ending in "*". A cache tag can reach
// any path, so a target limited to paths refuses tags.
func (p *Policy) CheckPaths(t *Target, paths []string) error {
	if len(t.Paths) == 0 {
		return nil
	}
	for _, path := range paths {
		kind := RefusalKind(0)
		switch {
		case purge.IsTag(path):
			kind = RefusedTag
		case hasDotSegment(path):
			kind = RefusedDotSegment
		case !slices.ContainsFunc(t.Paths, func(allowed string) bool { return purge.Covers(allowed, path) }):
			kind = RefusedOutsidePaths
		default:
			continue
		}
		return refuse(&Refusal{Rule: RulePaths, Kind: kind, Target: t, Item: path, Paths: t.Paths})
	}
	return nil
}

// hasDotSegment reports whether a path has a "." or ".." segment, which could
// step out of an allowed prefix ("/blog/../admin/*").
func hasDotSegment(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// CheckPurge checks every rule of t for a purge of paths by who.
func (p *Policy) CheckPurge(ctx context.Context, t *Target, who Who, paths []string) error {
	if err := p.CheckChannel(ctx, t, who); err != nil {
		return err
	}
	if err := p.CheckPerson(ctx, t, who); err != nil {
		return err
	}
	return p.CheckPaths(t, paths)
}

// Here returns the targets who may purge from where they are: those whose
// channels and people rules both allow. A user-group lookup that fails
// leaves its target out.
func (p *Policy) Here(ctx context.Context, who Who) []*Target {
	var out []*Target
	for _, t := range p.Targets.All() {
		if t.Channels.Allows(who.ChannelID, who.ChannelName) && p.CheckPerson(ctx, t, who) == nil {
			out = append(out, t)
		}
	}
	return out
}
