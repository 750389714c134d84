package cloudformation

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// This file evaluates the template the way CloudFormation would for one set
// of parameter values, so that a test can look at what a deployment gets
// (which resources exist, which ARNs a policy names, which environment
// variables the function has) instead of at the intrinsic functions that
// compute it. It covers what template.yaml uses: parameter defaults and
// constraints, Rules, Conditions, Ref, Fn::If, Fn::Sub, Fn::Join, Fn::Split,
// Fn::Select and AWS::NoValue. A reference to a resource (Ref to a resource,
// Fn::GetAtt, or an Fn::Sub that names one) cannot be known before the
// deployment and is left as written; a function it does not know fails the
// test rather than being guessed at.

// The pseudo parameters of the account the tests deploy to.
const (
	testAccountID = "123456789012"
	testStackName = "cdnpurge"
	testRegion    = "us-east-1"
)

// noValue is what Ref AWS::NoValue evaluates to: the property or list
// member that holds it is removed.
type noValue struct{}

// deployment is the template as deployed with one set of parameter values.
type deployment struct {
	tmpl      map[string]any
	params    map[string]any // string, or []any of strings for a list
	pseudo    map[string]string
	condCache map[string]bool
	evaluated map[string]bool // conditions being evaluated, to catch a loop
}

// resolve returns the resources and outputs CloudFormation would create
// for the template with the given parameter values (as a user passes them,
// a list comma-separated) in the given partition, or the error with which
// CloudFormation would refuse the values: a missing or ill-formed value, or
// a failed rule.
func resolve(tmpl map[string]any, values map[string]string, partition string) (map[string]any, error) {
	d := &deployment{
		tmpl:   tmpl,
		params: map[string]any{},
		pseudo: map[string]string{
			"AWS::AccountId": testAccountID,
			"AWS::Partition": partition,
			"AWS::Region":    testRegion,
			"AWS::StackName": testStackName,
			"AWS::URLSuffix": "amazonaws.com",
		},
		condCache: map[string]bool{},
		evaluated: map[string]bool{},
	}
	if err := d.setParameters(values); err != nil {
		return nil, err
	}
	if err := d.checkRules(); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, section := range []string{"Resources", "Outputs"} {
		items, _ := at(tmpl, section).(map[string]any)
		kept := map[string]any{}
		for id, item := range items {
			if c, ok := at(item, "Condition").(string); ok {
				on, err := d.condition(c)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", section, id, err)
				}
				if !on {
					continue
				}
			}
			v, err := d.eval(item)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", section, id, err)
			}
			kept[id] = v
		}
		out[section] = kept
	}
	return out, nil
}

// mustResolve is resolve for values that must be accepted.
func mustResolve(tb testing.TB, tmpl map[string]any, values map[string]string, partition string) map[string]any {
	tb.Helper()
	d, err := resolve(tmpl, values, partition)
	if err != nil {
		tb.Fatalf("deploying with %v: %v", values, err)
	}
	return d
}

// setParameters applies defaults, parses lists and checks each value
// against its parameter's constraints, as CloudFormation does before it
// creates anything.
func (d *deployment) setParameters(values map[string]string) error {
	declared, _ := at(d.tmpl, "Parameters").(map[string]any)
	for name := range values {
		if _, ok := declared[name]; !ok {
			return fmt.Errorf("parameter %s is not declared", name)
		}
	}
	for name, p := range declared {
		raw, given := values[name]
		if !given {
			def := at(p, "Default")
			if def == nil {
				return fmt.Errorf("parameter %s: a value is required", name)
			}
			raw = fmt.Sprint(def)
		}
		typ, _ := at(p, "Type").(string)
		var entries []string
		switch typ {
		case "String", "Number":
			entries = []string{raw}
			d.params[name] = raw
		case "CommaDelimitedList":
			// One entry more than there are commas, each trimmed of spaces
			// (CloudFormation parameters, "Type").
			var list []any
			for _, e := range strings.Split(raw, ",") {
				e = strings.TrimSpace(e)
				entries = append(entries, e)
				list = append(list, e)
			}
			d.params[name] = list
		default:
			return fmt.Errorf("parameter %s: type %q is not handled by this test", name, typ)
		}
		if err := checkConstraints(p, entries); err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
	}
	return nil
}

// checkConstraints checks AllowedPattern, AllowedValues, MinLength and
// MaxLength; for a list, each entry (CloudFormation parameters,
// "AllowedPattern").
func checkConstraints(p any, entries []string) error {
	for _, e := range entries {
		if pattern, ok := at(p, "AllowedPattern").(string); ok {
			// CloudFormation matches the whole value.
			re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
			if err != nil {
				return fmt.Errorf("AllowedPattern %q: %v", pattern, err)
			}
			if !re.MatchString(e) {
				return fmt.Errorf("%q does not match AllowedPattern %q", e, pattern)
			}
		}
		if allowed, ok := at(p, "AllowedValues").([]any); ok {
			if !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == e }) {
				return fmt.Errorf("%q is not one of AllowedValues %v", e, allowed)
			}
		}
		if n, ok := at(p, "MinLength").(int); ok && utf8.RuneCountInString(e) < n {
			return fmt.Errorf("%q is shorter than MinLength %d", e, n)
		}
		if n, ok := at(p, "MaxLength").(int); ok && utf8.RuneCountInString(e) > n {
			return fmt.Errorf("a value of %d characters is longer than MaxLength %d", utf8.RuneCountInString(e), n)
		}
	}
	return nil
}

// checkRules evaluates the Rules section: every assertion of a rule whose
// condition holds must hold.
func (d *deployment) checkRules() error {
	rules, _ := at(d.tmpl, "Rules").(map[string]any)
	for name, r := range rules {
		if c := at(r, "RuleCondition"); c != nil {
			on, err := d.truth(c)
			if err != nil {
				return fmt.Errorf("rule %s: %w", name, err)
			}
			if !on {
				continue
			}
		}
		for i, a := range list(at(r, "Assertions")) {
			ok, err := d.truth(at(a, "Assert"))
			if err != nil {
				return fmt.Errorf("rule %s assertion %d: %w", name, i, err)
			}
			if !ok {
				return fmt.Errorf("rule %s: %v", name, at(a, "AssertDescription"))
			}
		}
	}
	return nil
}

// condition returns the value of the named condition.
func (d *deployment) condition(name string) (bool, error) {
	if v, ok := d.condCache[name]; ok {
		return v, nil
	}
	c := at(d.tmpl, "Conditions", name)
	if c == nil {
		return false, fmt.Errorf("condition %s is not declared", name)
	}
	if d.evaluated[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	d.evaluated[name] = true
	v, err := d.truth(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	d.condCache[name] = v
	return v, nil
}

// truth evaluates a condition function (or a rule function) to a boolean.
func (d *deployment) truth(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("%#v is not a condition function", v)
	}
	for fn, arg := range m {
		args := list(arg)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return d.condition(name)
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes one condition")
			}
			b, err := d.truth(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			want := fn == "Fn::Or"
			for _, a := range args {
				b, err := d.truth(a)
				if err != nil {
					return false, err
				}
				if b == want {
					return want, nil
				}
			}
			return !want, nil
		case "Fn::Equals", "Fn::Contains", "Fn::EachMemberEquals":
			if len(args) != 2 {
				return false, fmt.Errorf("%s takes two values", fn)
			}
			a, err := d.eval(args[0])
			if err != nil {
				return false, err
			}
			b, err := d.eval(args[1])
			if err != nil {
				return false, err
			}
			switch fn {
			case "Fn::Equals":
				return reflect.DeepEqual(a, b), nil
			case "Fn::Contains":
				return slices.Contains(list(a), b), nil
			default: // Fn::EachMemberEquals
				for _, e := range list(a) {
					if e != b {
						return false, nil
					}
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("condition function %s is not handled by this test", fn)
	}
	panic("unreachable")
}

// eval evaluates the intrinsic functions in v that the parameters decide.
func (d *deployment) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := d.eval(e)
			if err != nil {
				return nil, err
			}
			if _, gone := r.(noValue); !gone {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return d.function(k, arg, v)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := d.eval(e)
			if err != nil {
				return nil, err
			}
			if _, gone := r.(noValue); !gone {
				out[k] = r
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// function evaluates one intrinsic function; node is the function as
// written, returned when it depends on a resource.
func (d *deployment) function(fn string, arg, node any) (any, error) {
	args := list(arg)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return noValue{}, nil
		}
		if p, ok := d.params[name]; ok {
			return p, nil
		}
		if p, ok := d.pseudo[name]; ok {
			return p, nil
		}
		if at(d.tmpl, "Resources", name) == nil {
			return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
		}
		return node, nil // a resource: known only once deployed
	case "Fn::GetAtt":
		return node, nil
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If takes a condition and two values")
		}
		name, _ := args[0].(string)
		on, err := d.condition(name)
		if err != nil {
			return nil, err
		}
		if on {
			return d.eval(args[1])
		}
		return d.eval(args[2])
	case "Fn::Sub":
		return d.sub(arg, node)
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join takes a delimiter and a list")
		}
		delim, ok := args[0].(string)
		if !ok {
			// CloudFormation refuses a function as the delimiter.
			return nil, fmt.Errorf("Fn::Join delimiter %#v is not a string", args[0])
		}
		vals, err := d.eval(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, e := range list(vals) {
			s, ok := e.(string)
			if !ok {
				return node, nil
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Split":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Split takes a delimiter and a string")
		}
		delim, _ := args[0].(string)
		src, err := d.eval(args[1])
		if err != nil {
			return nil, err
		}
		s, ok := src.(string)
		if !ok {
			return node, nil
		}
		var out []any
		for _, e := range strings.Split(s, delim) {
			out = append(out, e)
		}
		return out, nil
	case "Fn::Select":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Select takes an index and a list")
		}
		var i int
		if _, err := fmt.Sscan(fmt.Sprint(args[0]), &i); err != nil {
			return nil, fmt.Errorf("Fn::Select index %v: %v", args[0], err)
		}
		vals, err := d.eval(args[1])
		if err != nil {
			return nil, err
		}
		l := list(vals)
		if i < 0 || i >= len(l) {
			return nil, fmt.Errorf("Fn::Select index %d out of range of %d", i, len(l))
		}
		return l[i], nil
	}
	return nil, fmt.Errorf("%s is not handled by this test", fn)
}

// subVar matches ${Name} and ${!Literal} in an Fn::Sub string.
var subVar = regexp.MustCompile(`\$\{(!?)([^}]*)\}`)

// sub evaluates Fn::Sub. ${!X} is the literal text ${X}; the variable
// values are inserted as they are, never substituted again.
func (d *deployment) sub(arg, node any) (any, error) {
	var (
		str  string
		vars = map[string]any{}
	)
	switch a := arg.(type) {
	case string:
		str = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string and a map of variables")
		}
		s, ok := a[0].(string)
		if !ok {
			// CloudFormation refuses a function as the string.
			return nil, fmt.Errorf("Fn::Sub string %#v is not a string", a[0])
		}
		str = s
		m, _ := a[1].(map[string]any)
		for k, v := range m {
			r, err := d.eval(v)
			if err != nil {
				return nil, err
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("Fn::Sub %#v", arg)
	}
	var (
		err        error
		unresolved bool
	)
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		g := subVar.FindStringSubmatch(m)
		if g[1] == "!" {
			return "${" + g[2] + "}"
		}
		name := g[2]
		v, ok := vars[name]
		if !ok {
			if p, isParam := d.params[name]; isParam {
				v, ok = p, true
			} else if p, isPseudo := d.pseudo[name]; isPseudo {
				v, ok = p, true
			}
		}
		if !ok {
			// A resource (${Res} or ${Res.Attr}): known only once deployed.
			res, _, _ := strings.Cut(name, ".")
			if at(d.tmpl, "Resources", res) == nil {
				err = fmt.Errorf("Fn::Sub %q: ${%s} is no parameter, variable or resource", str, name)
			}
			unresolved = true
			return m
		}
		s, isString := v.(string)
		if !isString {
			unresolved = true
			if _, isList := v.([]any); isList {
				err = fmt.Errorf("Fn::Sub %q: ${%s} is a list", str, name)
			}
			return m
		}
		return s
	})
	if err != nil {
		return nil, err
	}
	if unresolved {
		return node, nil
	}
	return out, nil
}

// iamPolicyVariables are the policy variables IAM replaces in a Resource
// when the function's role uses the policy (IAM policy elements: variables
// and tags); the role lives in the stack's account.
var iamPolicyVariables = strings.NewReplacer("${aws:PrincipalAccount}", testAccountID)
