package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
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
}

// Target is one thing to purge and the rules for purging it.
type Target struct {
	Name string `yaml:"name"`
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
}

type filePatterns struct{ targetName, tenant, roleARN, user, domain *regexp.Regexp }

// fileRE holds the patterns the file is checked with. They are compiled on
// first use, not at start-up: compiling them cost about 1 ms of every Lambda
// cold start, most of which never reads a file.
var fileRE = sync.OnceValue(func() *filePatterns {
	return &filePatterns{
		targetName: regexp.MustCompile(fmt.Sprintf(`^[a-z][a-z0-9_-]{0,%d}$`, purge.MaxTargetName-1)),
		tenant:     regexp.MustCompile(`^dt_[A-Za-z0-9]{1,64}$`),
		roleARN:    regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`),
		user:       regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`),
		domain:     regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`),
	}
})

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
func ParseFile(name string, data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var node yaml.Node
	yaml.Unmarshal(data, &node)
	if err := f.validate(name, lineFinder{&node}); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) validate(name string, lines lineFinder) error {
	re := fileRE()
	var errs []error
	fail := func(path []string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, lines.line(path), strings.Join(path, "."), fmt.Sprintf(format, args...)))
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
		switch {
		case t.Distribution == "" && t.Tenant == "":
			fail(at("distribution"), "set distribution (E…) or tenant (dt_…)")
		case t.Distribution != "" && t.Tenant != "":
			fail(at("tenant"), "set distribution or tenant, not both")
		case t.Distribution != "" && !IsDistributionID(t.Distribution):
			fail(at("distribution"), "%q is not a distribution ID (upper-case letters and digits)", t.Distribution)
		case t.Tenant != "" && !re.tenant.MatchString(t.Tenant):
			fail(at("tenant"), "%q is not a distribution tenant ID (dt_ then letters and digits)", t.Tenant)
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
	if f.Default != "" && !seen[f.Default] {
		fail([]string{"default"}, "%q is not one of the targets", f.Default)
	}
	if f.Default == "" && len(f.Targets) > 1 {
		fail([]string{"default"}, "not set: with several targets, name the one a command without a target purges")
	}
	return errors.Join(errs...)
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
	n := l.root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	n = n.Content[0]
	line := n.Line
	for _, key := range path {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscan(key, &idx); err != nil || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		default:
			return line
		}
	}
	return line
}
