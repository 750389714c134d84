package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// EnvConfigFile names the YAML file with several targets (see File). Without
// it, the environment's single distribution is the only target, as in the
// tutorial.
const EnvConfigFile = "CDNPURGE_CONFIG"

// File is the configuration file: named targets, each a distribution (or a
// tenant of a multi-tenant distribution) with who may purge what.
type File struct {
	// Default is the target used when a command names none.
	Default string   `yaml:"default"`
	Targets []Target `yaml:"targets"`

	// name labels the file in errors found after parsing.
	name string
}

// Target is one thing to purge and the rules for purging it.
type Target struct {
	Name string `yaml:"name"`
	// Provider is the CDN: ProviderCloudFront (the default, also when
	// empty), ProviderCloudflare, ProviderFastly or ProviderVarnish. A
	// target accepts only its provider's fields (see providerFields).
	Provider string `yaml:"provider"`
	// Distribution is the CloudFront distribution ID; Tenant, instead, a
	// distribution tenant ID (dt_…) of a multi-tenant distribution.
	Distribution string `yaml:"distribution"`
	Tenant       string `yaml:"tenant"`
	// Domains are the hosts whose pasted URLs pick this target.
	Domains []string `yaml:"domains"`
	// Channels may purge this target, by ID or name.
	Channels []string `yaml:"channels"`
	// Users, when set, are the only people who may purge it; UserGroups
	// likewise, by Slack user group ID (needs a bot token).
	Users      []string `yaml:"users"`
	UserGroups []string `yaml:"usergroups"`
	// Paths, when set, are the only path prefixes this target may purge.
	Paths []string `yaml:"paths"`
	// Confirm is never, full-purge or always; ConfirmOver, when positive,
	// also asks for approval of a purge of more than that many paths.
	Confirm            purge.ConfirmMode `yaml:"confirm"`
	ConfirmOver        int               `yaml:"confirm_over"`
	ApproverMustDiffer bool              `yaml:"approver_must_differ"`
	// RoleARN is an IAM role in another account to assume for this target.
	RoleARN string `yaml:"role_arn"`
	// Zone is the Cloudflare zone ID.
	Zone string `yaml:"zone"`
	// Service is the Fastly service ID.
	Service string `yaml:"service"`
	// URL is where a Varnish cache takes PURGE and BAN requests.
	URL string `yaml:"url"`
	// Soft marks objects stale instead of evicting them (Fastly, Varnish).
	Soft bool `yaml:"soft"`
	// TokenEnv names the environment variable that holds the provider's
	// API token (Cloudflare, Fastly): a token never sits in the file.
	TokenEnv string `yaml:"token_env"`

	// tokenEnvLine is the line of token_env, for the error when the
	// variable it names is not set.
	tokenEnvLine int
}

// The providers a target may name.
const (
	ProviderCloudFront = "cloudfront"
	ProviderCloudflare = "cloudflare"
	ProviderFastly     = "fastly"
	ProviderVarnish    = "varnish"
)

// Providers lists the providers in the order messages name them.
var Providers = []string{ProviderCloudFront, ProviderCloudflare, ProviderFastly, ProviderVarnish}

// ProviderName returns t's provider, ProviderCloudFront when unset.
func (t Target) ProviderName() string {
	if t.Provider == "" {
		return ProviderCloudFront
	}
	return strings.ToLower(t.Provider)
}

// providerFields are the fields only some providers take; every other
// field of a target is common to all. A field of another provider is an
// error, so that a target copied from another provider's is never read
// half.
var providerFields = map[string][]string{
	"distribution": {ProviderCloudFront},
	"tenant":       {ProviderCloudFront},
	"role_arn":     {ProviderCloudFront},
	"zone":         {ProviderCloudflare},
	"service":      {ProviderFastly},
	"url":          {ProviderVarnish},
	"soft":         {ProviderFastly, ProviderVarnish},
	"token_env":    {ProviderCloudflare, ProviderFastly},
}

type filePatterns struct {
	targetName, roleARN, user, domain *regexp.Regexp
	zone, service, envName            *regexp.Regexp
}

// fileRE holds the patterns the file is checked with. They are compiled on
// first use, not at start-up: compiling them cost about 1 ms of every Lambda
// cold start, most of which never reads a file.
var fileRE = sync.OnceValue(func() *filePatterns {
	return &filePatterns{
		targetName: regexp.MustCompile(fmt.Sprintf(`^[a-z][a-z0-9_-]{0,%d}$`, purge.MaxTargetName-1)),
		roleARN:    regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`),
		user:       regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`),
		domain:     regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`),
		// A Cloudflare zone ID is 32 hex digits; a Fastly service ID is
		// letters and digits (22 today: allow some room).
		zone:    regexp.MustCompile(`^[0-9a-f]{32}$`),
		service: regexp.MustCompile(`^[A-Za-z0-9]{8,64}$`),
		envName: regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`),
	}
})

// IsZoneID reports whether s has the shape the targets file accepts for a
// Cloudflare zone ID: 32 lower-case hex digits.
func IsZoneID(s string) bool { return fileRE().zone.MatchString(s) }

// IsServiceID reports whether s has the shape the targets file accepts for
// a Fastly service ID: 8 to 64 letters and digits.
func IsServiceID(s string) bool { return fileRE().service.MatchString(s) }

// LoadFile reads and checks a configuration file. Every problem is reported
// with the file, the field (by line) and what is wrong; unknown fields are
// errors, so that a typo never silently widens who may purge.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvConfigFile, err)
	}
	return ParseFile(path, data)
}

// ParseFile is LoadFile on bytes already read; name labels the errors.
// Each problem is one line, "name:line: field: problem", in the order of
// the file, in plain words: an unknown field names the nearest known one,
// and a value of the wrong kind says what was expected, never a Go type.
func ParseFile(name string, data []byte) (*File, error) {
	var node yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&node); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, err)
	}
	var probs problems
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		probs.add(extra.Line, nil, "a second YAML document (after ---): a targets file is one document")
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, err)
	}
	root := &node
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode || isNull(root) {
		probs.add(1, []string{"targets"}, "no targets: the file is empty")
		return nil, probs.err(name)
	}
	shapeOK := checkShape(root, fileSchema, nil, &probs)
	var f File
	if shapeOK {
		// The shape is right, so decoding cannot fail on a kind; unknown
		// fields are already reported above.
		if err := root.Decode(&f); err != nil {
			probs.add(root.Line, nil, "the file could not be read")
		} else {
			f.validate(lineFinder{&node}, &probs)
		}
	}
	if err := probs.err(name); err != nil {
		return nil, err
	}
	f.name = name
	return &f, nil
}

// yamlLineRE finds the line in the YAML parser's own messages.
var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// syntaxError words a YAML syntax error as "name:line: not valid YAML: …".
func syntaxError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: not valid YAML: %s", name, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: not valid YAML: %s", name, strings.TrimPrefix(msg, "yaml: "))
}

// problems collects what is wrong with a file, each at its line.
type problems []problem

type problem struct {
	line int
	path []string
	msg  string
}

func (p *problems) add(line int, path []string, format string, args ...any) {
	*p = append(*p, problem{line: line, path: slices.Clone(path), msg: fmt.Sprintf(format, args...)})
}

// err joins the problems, in the order of the file's lines, as
// "name:line: field: problem".
func (p problems) err(name string) error {
	if len(p) == 0 {
		return nil
	}
	slices.SortStableFunc(p, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(p))
	for i, pr := range p {
		if len(pr.path) == 0 {
			errs[i] = fmt.Errorf("%s:%d: %s", name, pr.line, pr.msg)
		} else {
			errs[i] = fmt.Errorf("%s:%d: %s: %s", name, pr.line, strings.Join(pr.path, "."), pr.msg)
		}
	}
	return errors.Join(errs...)
}

// shape is what a field of the file holds, for checking the file's shape
// before it is decoded.
type shape struct {
	kind   shapeKind
	what   string            // a mapping's name in messages, e.g. "a target"
	fields map[string]*shape // a mapping's fields
	order  []string          // a mapping's fields in the order README lists them
	item   *shape            // a list's items
}

type shapeKind int

const (
	shapeText shapeKind = iota
	shapeNumber
	shapeBool
	shapeList
	shapeMapping
)

func mappingShape(what string, fields ...any) *shape {
	s := &shape{kind: shapeMapping, what: what, fields: map[string]*shape{}}
	for i := 0; i+1 < len(fields); i += 2 {
		key := fields[i].(string)
		s.fields[key], s.order = fields[i+1].(*shape), append(s.order, key)
	}
	return s
}

var (
	textShape   = &shape{kind: shapeText}
	textsShape  = &shape{kind: shapeList, item: textShape}
	targetShape = mappingShape("a target",
		"name", textShape, "distribution", textShape, "tenant", textShape,
		"provider", textShape, "zone", textShape, "service", textShape, "url", textShape, "token_env", textShape, "soft", &shape{kind: shapeBool},
		"domains", textsShape, "channels", textsShape, "users", textsShape, "usergroups", textsShape, "paths", textsShape,
		"confirm", textShape, "confirm_over", &shape{kind: shapeNumber}, "approver_must_differ", &shape{kind: shapeBool},
		"role_arn", textShape)
	fileSchema = mappingShape("the file", "default", textShape, "targets", &shape{kind: shapeList, item: targetShape})
)

// checkShape reports where n does not have shape s, and whether the file
// can be decoded: an unknown or repeated field is reported but does not
// stop the decoding (so that the other checks still run); a value of the
// wrong kind does.
func checkShape(n *yaml.Node, s *shape, path []string, probs *problems) bool {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return true
	}
	switch s.kind {
	case shapeText:
		if n.Kind != yaml.ScalarNode {
			probs.add(n.Line, path, "must be a single value, not %s", kindName(n))
			return false
		}
	case shapeNumber:
		var i int
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			probs.add(n.Line, path, "must be a whole number, e.g. 20, not %s", valueName(n))
			return false
		}
	case shapeBool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			probs.add(n.Line, path, "must be true or false, not %s", valueName(n))
			return false
		}
	case shapeList:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && s.item.kind == shapeText {
				probs.add(n.Line, path, "must be a list, even of one: write [%s]", n.Value)
			} else {
				probs.add(n.Line, path, "must be a list (each item on a line starting with -), not %s", kindName(n))
			}
			return false
		}
		ok := true
		for i, item := range n.Content {
			ok = checkShape(item, s.item, append(path, strconv.Itoa(i)), probs) && ok
		}
		return ok
	case shapeMapping:
		if n.Kind != yaml.MappingNode {
			probs.add(n.Line, path, "must be %s (fields such as %s: …), not %s", s.what, strings.Join(s.order[:min(2, len(s.order))], ": …, "), valueName(n))
			return false
		}
		ok := true
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			at := append(slices.Clone(path), k.Value)
			field, known := s.fields[k.Value]
			switch {
			case k.Kind != yaml.ScalarNode:
				probs.add(k.Line, path, "a field name must be a single word, not %s", kindName(k))
			case !known:
				if near := nearest(k.Value, s.order); near != "" {
					probs.add(k.Line, at, "unknown field; did you mean %q?", near)
				} else {
					probs.add(k.Line, at, "unknown field; the fields of %s are %s", s.what, strings.Join(s.order, ", "))
				}
			case seen[k.Value] > 0:
				probs.add(k.Line, at, "set twice (also on line %d): keep one", seen[k.Value])
			default:
				seen[k.Value] = k.Line
				ok = checkShape(v, field, at, probs) && ok
			}
		}
		return ok
	}
	return true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// kindName says in words what kind of YAML value n is.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping of fields"
	}
	return "a single value"
}

// valueName is kindName, quoting a single value.
func valueName(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}

// nearest returns the known field closest to key, if any is close enough
// to be the one meant: a typo or two away, or one a prefix of the other
// (role for role_arn), which wins over a
// word as near by its letters (role is also two from zone).
func nearest(key string, known []string) string {
	key = strings.ToLower(key)
	best, bestDist := "", 0
	for _, k := range known {
		d := editDistance(key, k)
		if strings.HasPrefix(k, key) || strings.HasPrefix(key, k) {
			d = min(d, 1)
		}
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist <= max(2, len(key)/4) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (f *File) validate(lines lineFinder, probs *problems) {
	re := fileRE()
	fail := func(path []string, format string, args ...any) {
		probs.add(lines.line(path), path, format, args...)
	}
	if len(f.Targets) == 0 {
		fail([]string{"targets"}, "no targets")
	}
	seen := map[string]bool{}
	hosts := map[string]string{}
	roles := map[string]struct{ name, role string }{}
	for i, t := range f.Targets {
		at := func(field string) []string { return []string{"targets", fmt.Sprint(i), field} }
		switch {
		case !re.targetName.MatchString(t.Name):
			fail(at("name"), "%q is not a target name (a lower-case letter, then lower-case letters, digits, - and _, up to %d)", t.Name, purge.MaxTargetName)
		case seen[t.Name]:
			fail(at("name"), "%q is used by two targets", t.Name)
		case purge.IsKeyword(t.Name):
			fail(at("name"), "%q is a word of the command itself (help, status, list, targets, usage): pick another name", t.Name)
		}
		seen[t.Name] = true
		provider := t.ProviderName()
		if !slices.Contains(Providers, provider) {
			fail(at("provider"), "%q is not a provider: use %s", t.Provider, strings.Join(Providers, ", "))
			continue
		}
		f.Targets[i].Provider = provider
		for field, takers := range providerFields {
			if lines.has(at(field)) && !slices.Contains(takers, provider) {
				verb := "takes"
				if len(takers) > 1 {
					verb = "take"
				}
				fail(at(field), "is not a field of a %s target (%s %s it)", provider, strings.Join(takers, " and "), verb)
			}
		}
		if provider != ProviderCloudFront {
			f.Targets[i].tokenEnvLine = lines.line(at("token_env"))
			f.validateProvider(t, at, fail)
		} else {
			f.validateCloudFront(t, at, fail, roles)
		}
		if len(t.Channels) == 0 {
			fail(at("channels"), "no channels: nobody could purge this target")
		}
		for _, d := range t.Domains {
			d = strings.ToLower(d)
			if !re.domain.MatchString(d) {
				fail(at("domains"), "%q is not a host name", d)
			} else if other, ok := hosts[d]; ok {
				fail(at("domains"), "%q also belongs to target %q: a pasted URL must pick one target", d, other)
			}
			hosts[d] = t.Name
		}
		for _, u := range t.Users {
			if !re.user.MatchString(u) {
				fail(at("users"), "%q is not a Slack user ID (U… or W…)", u)
			}
		}
		for _, g := range t.UserGroups {
			if !slack.IsUserGroupID(g) {
				fail(at("usergroups"), "%q is not a Slack user group ID (S…)", g)
			}
		}
		for _, p := range t.Paths {
			if n, err := purge.NormalizePath(p); err != nil || n != p {
				fail(at("paths"), "%q is not a normalized path prefix (it must start with /, may end in *)", p)
			}
		}
		if _, err := purge.ParseConfirmMode(string(t.Confirm)); err != nil {
			fail(at("confirm"), "%v", err)
		}
		if t.ConfirmOver < 0 {
			fail(at("confirm_over"), "%d is not a number of paths (0 or more)", t.ConfirmOver)
		}
	}
	if f.Default != "" && !seen[f.Default] {
		fail([]string{"default"}, "%q is not one of the targets", f.Default)
	}
	if f.Default == "" && len(f.Targets) > 1 {
		fail([]string{"default"}, "not set: with several targets, name the one a command without a target purges")
	}
}

// validateCloudFront checks a CloudFront target's own fields.
func (f *File) validateCloudFront(t Target, at func(string) []string, fail func([]string, string, ...any), roles map[string]struct{ name, role string }) {
	re := fileRE()
	switch {
	case t.Distribution == "" && t.Tenant == "":
		fail(at("distribution"), "set distribution (E…) or tenant (dt_…)")
	case t.Distribution != "" && t.Tenant != "":
		fail(at("tenant"), "set distribution or tenant, not both")
	case t.Distribution != "" && !IsDistributionID(t.Distribution):
		fail(at("distribution"), "%q is not a distribution ID (upper-case letters and digits)", t.Distribution)
	case t.Tenant != "" && !purge.ValidTenantID(t.Tenant):
		fail(at("tenant"), "%q is not a distribution tenant ID (dt_ then letters and digits)", t.Tenant)
	}
	if t.RoleARN != "" && !re.roleARN.MatchString(t.RoleARN) {
		fail(at("role_arn"), "%q is not an IAM role ARN", t.RoleARN)
	}
	// Calls for a distribution go through one set of credentials, so
	// two targets on one distribution must agree on the role.
	id := t.Distribution + t.Tenant
	if other, ok := roles[id]; ok && other.role != t.RoleARN {
		fail(at("role_arn"), "target %q uses %s through another role_arn (%q): targets on one distribution or tenant must use the same role", other.name, id, other.role)
	} else if !ok && id != "" {
		roles[id] = struct{ name, role string }{t.Name, t.RoleARN}
	}
}

// validateProvider checks the fields of a Cloudflare, Fastly or Varnish
// target. A token is never in the file: token_env names the variable that
// holds it, and Config checks that the variable is set.
func (f *File) validateProvider(t Target, at func(string) []string, fail func([]string, string, ...any)) {
	re := fileRE()
	provider := t.ProviderName()
	switch provider {
	case ProviderCloudflare:
		switch {
		case t.Zone == "":
			fail(at("zone"), "not set: the Cloudflare zone ID (32 hex digits, on the zone's Overview page)")
		case !re.zone.MatchString(t.Zone):
			fail(at("zone"), "%q is not a Cloudflare zone ID (32 hex digits)", t.Zone)
		}
	case ProviderFastly:
		switch {
		case t.Service == "":
			fail(at("service"), "not set: the Fastly service ID (letters and digits, on the service's page)")
		case !re.service.MatchString(t.Service):
			fail(at("service"), "%q is not a Fastly service ID (letters and digits)", t.Service)
		}
	case ProviderVarnish:
		// The value is shown only once it parses with no user in it: a URL
		// that does not parse may hold a password all the same.
		if u, err := url.Parse(t.URL); t.URL == "" {
			fail(at("url"), "not set: where the Varnish cache takes PURGE and BAN requests, e.g. http://127.0.0.1:6081")
		} else if err != nil || strings.Contains(t.URL, "@") {
			fail(at("url"), "is not an http(s) URL of the cache without a user or password (restrict PURGE and BAN by address in the VCL)")
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(at("url"), "%q is not an http(s) URL of the cache", t.URL)
		}
	}
	if provider == ProviderCloudflare || provider == ProviderFastly {
		switch {
		case t.TokenEnv == "":
			fail(at("token_env"), "not set: name the environment variable that holds the %s API token (the token itself never goes in the file)", providerTitle(provider))
		case !re.envName.MatchString(t.TokenEnv):
			fail(at("token_env"), "%q is not an environment variable name (letters, digits and _): token_env names the variable, it does not hold the token", shorten(t.TokenEnv))
		}
	}
	if len(t.Domains) == 0 {
		fail(at("domains"), "no domains: a %s target needs the host its paths are purged on", providerTitle(provider))
	}
}

// providerTitle names a provider as users read it.
func providerTitle(provider string) string {
	switch provider {
	case ProviderCloudflare:
		return "Cloudflare"
	case ProviderFastly:
		return "Fastly"
	case ProviderVarnish:
		return "Varnish"
	}
	return "CloudFront"
}

// shorten keeps a value that may be a pasted secret out of messages: only
// its first characters are shown.
func shorten(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:6] + "…"
}

// Target returns the file's target named name, if there is one.
func (f *File) Target(name string) (Target, bool) {
	for _, t := range f.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

func (f *File) usesUserGroups() bool {
	for _, t := range f.Targets {
		if len(t.UserGroups) > 0 {
			return true
		}
	}
	return false
}

// lineFinder finds the line of a field in the parsed YAML document, for
// error messages.
type lineFinder struct{ root *yaml.Node }

func (l lineFinder) line(path []string) int {
	line, _ := l.find(path)
	return line
}

// has reports whether the field at path is written in the file.
func (l lineFinder) has(path []string) bool {
	_, found := l.find(path)
	return found
}

// find follows path from the document's root: the line of the field at
// path, or of the deepest one found on the way, and whether it is there.
func (l lineFinder) find(path []string) (line int, found bool) {
	n := l.root
	if n == nil || len(n.Content) == 0 {
		return 0, false
	}
	n = n.Content[0]
	line = n.Line
	for _, key := range path {
		switch n.Kind {
		case yaml.MappingNode:
			next := -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = i
					break
				}
			}
			if next < 0 {
				return line, false
			}
			line, n = n.Content[next].Line, n.Content[next+1]
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscan(key, &idx); err != nil || idx >= len(n.Content) {
				return line, false
			}
			n = n.Content[idx]
			line = n.Line
		default:
			return line, false
		}
	}
	return line, true
}
