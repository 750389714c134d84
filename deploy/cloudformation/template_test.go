package cloudformation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// The template keeps CloudFormation's short tags (!Ref, !Sub, !GetAtt...):
// that is how AWS documents templates and how the tutorial's reads, and
// cfn-lint understands them. A plain YAML decode into map[string]any would
// drop the tags (or fail on them), so the test decodes into yaml.Node and
// rewrites each tag into its long JSON form ({"Ref": x}, {"Fn::Sub": x},
// {"Fn::GetAtt": [res, attr]}); assertions then compare one form, and a
// template rewritten in long form would pass the same tests.

// mustDecode returns Template as plain Go values in long form.
func mustDecode(tb testing.TB) map[string]any {
	tb.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(Template, &doc); err != nil {
		tb.Fatalf("template.yaml: %v", err)
	}
	v, err := longForm(&doc)
	if err != nil {
		tb.Fatalf("template.yaml: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("template.yaml: top level is %T, want a mapping", v)
	}
	return m
}

// longForm converts n to map[string]any, []any and scalars, turning each
// CloudFormation short tag into the long form it abbreviates.
func longForm(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: want one document", n.Line)
		}
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	}
	if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		plain := *n
		plain.Tag = "" // let YAML resolve the tagged value as if it had no tag
		v, err := longForm(&plain)
		if err != nil {
			return nil, err
		}
		switch name := tag[1:]; name {
		case "Ref", "Condition":
			return map[string]any{name: v}, nil
		case "GetAtt":
			// !GetAtt Res.Attr is short for Fn::GetAtt: [Res, Attr].
			if s, ok := v.(string); ok {
				res, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, fmt.Errorf("line %d: !GetAtt %q has no attribute", n.Line, s)
				}
				v = []any{res, attr}
			}
			return map[string]any{"Fn::GetAtt": v}, nil
		default:
			return map[string]any{"Fn::" + name: v}, nil
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			v, err := longForm(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := longForm(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// at follows keys (map keys, or decimal indexes into lists) from v and
// returns nil when a step is missing.
func at(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// list returns v as a list: CloudFormation and IAM accept one value or a
// list wherever a list is meant.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// resourcesOfType returns the logical IDs of the resources of type typ.
func resourcesOfType(t map[string]any, typ string) []string {
	var ids []string
	for id, r := range at(t, "Resources").(map[string]any) {
		if at(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func ref(name string) any { return map[string]any{"Ref": name} }

func getAtt(res, attr string) any { return map[string]any{"Fn::GetAtt": []any{res, attr}} }

// isTrue accepts a YAML boolean or the strings CloudFormation also takes.
func isTrue(v any) bool { return v == true || v == "true" || v == "True" }

// The resources' logical IDs that the assertions below rely on.
const (
	functionID = "Function"
	logGroupID = "FunctionLogGroup"
	urlID      = "FunctionUrl"
	roleID     = "FunctionRole"
)

func TestParameters(t *testing.T) {
	tmpl := mustDecode(t)
	tests := []struct {
		name   string
		noEcho bool
	}{
		// The tutorial's four names, kept so that its users' deploy commands work.
		{"DistributionId", false},
		{"SigningKey", true},
		{"SlackChannel", false},
		{"SlackUrl", true}, // a webhook URL lets anyone holding it post
		{"CodeS3Bucket", false},
		{"CodeS3Key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := at(tmpl, "Parameters", tt.name)
			if p == nil {
				t.Fatalf("parameter %s is missing", tt.name)
			}
			if got := isTrue(at(p, "NoEcho")); got != tt.noEcho {
				t.Errorf("NoEcho = %v, want %v", got, tt.noEcho)
			}
		})
	}
}

// TestParameterPatterns checks the AllowedPatterns against sample values;
// the patterns are simple enough to mean the same in Go and in CloudFormation.
func TestParameterPatterns(t *testing.T) {
	tmpl := mustDecode(t)
	tests := []struct {
		param string
		value string
		want  bool
	}{
		{"DistributionId", "E2QWRUHEXAMPLE", true},
		{"DistributionId", "EDFDVBD6EXAMPLE", true},
		{"DistributionId", "e2qwruhexample", false},
		{"DistributionId", "", false},
		{"DistributionId", "E2QW/../EXAMPLE", false},
		{"DistributionId", "E2QWRUHEXAMPLE\n", false},
		{"DistributionId", strings.Repeat("E", 33), false},
		{"SlackUrl", "", true}, // no audit webhook
		{"SlackUrl", "https://hooks.slack.com/services/T000/B000/XXXX", true},
		{"SlackUrl", "http://hooks.slack.com/services/T000/B000/XXXX", false},
		{"SlackUrl", "https://hooks.slack.com.evil.example/services/x", false},
		{"SlackUrl", "https://example.com/hooks.slack.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.param+"/"+tt.value, func(t *testing.T) {
			pattern, _ := at(tmpl, "Parameters", tt.param, "AllowedPattern").(string)
			if pattern == "" {
				t.Fatalf("parameter %s has no AllowedPattern", tt.param)
			}
			// CloudFormation matches the whole value; anchor as it does.
			re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
			if err != nil {
				t.Fatalf("AllowedPattern %q: %v", pattern, err)
			}
			if got := re.MatchString(tt.value); got != tt.want {
				t.Errorf("AllowedPattern %q matches %q = %v, want %v", pattern, tt.value, got, tt.want)
			}
			if tt.param == "DistributionId" {
				// The stack must accept exactly what the function accepts at start.
				if cfg := config.IsDistributionID(tt.value); cfg != tt.want {
					t.Errorf("config.IsDistributionID(%q) = %v, but the template says %v", tt.value, cfg, tt.want)
				}
			}
		})
	}
}

func TestFunction(t *testing.T) {
	tmpl := mustDecode(t)
	if got := resourcesOfType(tmpl, "AWS::Lambda::Function"); !slices.Equal(got, []string{functionID}) {
		t.Fatalf("Lambda functions = %v, want [%s]", got, functionID)
	}
	props := at(tmpl, "Resources", functionID, "Properties")
	tests := []struct {
		path []string
		want any
	}{
		{[]string{"Runtime"}, "provided.al2023"},
		{[]string{"Architectures"}, []any{"arm64"}},
		{[]string{"Handler"}, "bootstrap"},
		// Each follow-up hop polls for up to this long; see TestFollowUps.
		{[]string{"Timeout"}, 300},
		{[]string{"MemorySize"}, 128},
		{[]string{"Role"}, getAtt("FunctionRole", "Arn")},
		{[]string{"LoggingConfig", "LogFormat"}, "JSON"},
		{[]string{"LoggingConfig", "LogGroup"}, ref(logGroupID)},
		// Exactly the four variables from the four parameters: in particular
		// no CDNPURGE_DEV_ALLOW_LOOPBACK or CDNPURGE_CLOUDFRONT_ENDPOINT.
		{[]string{"Environment", "Variables"}, map[string]any{
			config.EnvDistributionID: ref("DistributionId"),
			config.EnvSigningSecret:  ref("SigningKey"),
			config.EnvChannels:       ref("SlackChannel"),
			config.EnvWebhookURL:     ref("SlackUrl"),
		}},
		{[]string{"Code", "S3Bucket"}, ref("CodeS3Bucket")},
		{[]string{"Code", "S3Key"}, ref("CodeS3Key")},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.path, "."), func(t *testing.T) {
			if got := at(props, tt.path...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
			}
		})
	}
	t.Run("log group retention", func(t *testing.T) {
		got := at(tmpl, "Resources", logGroupID, "Properties", "RetentionInDays")
		if !reflect.DeepEqual(got, ref("LogRetentionInDays")) {
			t.Errorf("RetentionInDays = %#v, want the LogRetentionInDays parameter", got)
		}
	})
}

// statement is one IAM policy statement and where it was found.
type statement struct {
	where string
	body  map[string]any
}

// iamStatements returns every statement of every identity policy in the
// template: inline in roles, and in any IAM policy resource, so that a
// grant added anywhere is checked.
func iamStatements(t *testing.T, tmpl map[string]any) []statement {
	t.Helper()
	var docs []struct {
		where string
		doc   any
	}
	for _, id := range resourcesOfType(tmpl, "AWS::IAM::Role") {
		for i, p := range list(at(tmpl, "Resources", id, "Properties", "Policies")) {
			docs = append(docs, struct {
				where string
				doc   any
			}{fmt.Sprintf("%s policy %d (%v)", id, i, at(p, "PolicyName")), at(p, "PolicyDocument")})
		}
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"} {
		for _, id := range resourcesOfType(tmpl, typ) {
			docs = append(docs, struct {
				where string
				doc   any
			}{id, at(tmpl, "Resources", id, "Properties", "PolicyDocument")})
		}
	}
	var out []statement
	for _, d := range docs {
		for i, s := range list(at(d.doc, "Statement")) {
			m, ok := s.(map[string]any)
			if !ok {
				t.Fatalf("%s statement %d is %T", d.where, i, s)
			}
			out = append(out, statement{fmt.Sprintf("%s statement %d", d.where, i), m})
		}
	}
	return out
}

func TestRoleLeastPrivilege(t *testing.T) {
	tmpl := mustDecode(t)
	roles := resourcesOfType(tmpl, "AWS::IAM::Role")
	if len(roles) != 1 {
		t.Fatalf("IAM roles = %v, want one", roles)
	}
	role := at(tmpl, "Resources", roles[0], "Properties")
	if v := at(role, "ManagedPolicyArns"); v != nil {
		// AWSLambdaBasicExecutionRole, the usual one, grants logs on "*".
		t.Errorf("ManagedPolicyArns = %v, want none", v)
	}
	if got := at(role, "AssumeRolePolicyDocument", "Statement", "0", "Principal", "Service"); got != "lambda.amazonaws.com" {
		t.Errorf("role is assumable by %v, want lambda.amazonaws.com", got)
	}

	distributionARN := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DistributionId}"}
	logGroupARN := func(v any) bool {
		// The group's Arn attribute, or an ARN built from its name.
		sub, _ := at(v, "Fn::Sub").(string)
		return reflect.DeepEqual(v, getAtt(logGroupID, "Arn")) || strings.Contains(sub, "${"+logGroupID+"}")
	}
	want := []struct {
		action   string
		resource func(any) bool
	}{
		{"cloudfront:CreateInvalidation", func(v any) bool { return reflect.DeepEqual(v, distributionARN) }},
		{"cloudfront:GetInvalidation", func(v any) bool { return reflect.DeepEqual(v, distributionARN) }},
		{"cloudfront:ListInvalidations", func(v any) bool { return reflect.DeepEqual(v, distributionARN) }},
		{"logs:CreateLogStream", logGroupARN},
		{"logs:PutLogEvents", logGroupARN},
		// The follow-up's asynchronous self-invocation: the function's own
		// (unqualified) ARN, nothing else.
		{"lambda:InvokeFunction", func(v any) bool { return reflect.DeepEqual(v, getAtt(functionID, "Arn")) }},
	}

	stmts := iamStatements(t, tmpl)
	granted := map[string]bool{}
	for _, s := range stmts {
		t.Run(s.where, func(t *testing.T) {
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, ok := s.body[k]; ok {
					t.Errorf("uses %s: an allow-list is easier to audit", k)
				}
			}
			if s.body["Effect"] != "Allow" {
				t.Errorf("Effect = %v, want Allow", s.body["Effect"])
			}
			resources := list(s.body["Resource"])
			if len(resources) == 0 {
				t.Errorf("has no Resource")
			}
			for _, r := range resources {
				// A literal ARN or one built with Fn::Sub; the log group's
				// Arn attribute ends in ":*" but names one group.
				str, ok := r.(string)
				if !ok {
					str, _ = at(r, "Fn::Sub").(string)
				}
				if strings.Contains(str, "*") {
					t.Errorf("Resource %q has a wildcard", str)
				}
			}
			for _, a := range list(s.body["Action"]) {
				action, _ := a.(string)
				if action == "*" || strings.HasSuffix(action, ":*") || action == "" {
					t.Errorf("Action %#v is a wildcard or not a string", a)
					continue
				}
				i := slices.IndexFunc(want, func(w struct {
					action   string
					resource func(any) bool
				}) bool {
					return w.action == action
				})
				if i < 0 {
					t.Errorf("grants %s, which cdnpurge does not need", action)
					continue
				}
				granted[action] = true
				for _, r := range resources {
					if !want[i].resource(r) {
						t.Errorf("%s on %#v, want it on its own resource only", action, r)
					}
				}
			}
		})
	}
	for _, w := range want {
		if !granted[w.action] {
			t.Errorf("%s is not granted", w.action)
		}
	}
}

// TestFollowUps checks what the asynchronous self-invocation needs: one
// statement that lets the function invoke itself and nothing else, in a
// policy of its own (inline in the role it would be a circular dependency:
// the role cannot name the function that needs it), and Lambda's delivery
// settings for the follow-up events.
func TestFollowUps(t *testing.T) {
	tmpl := mustDecode(t)

	t.Run("self-invoke statement", func(t *testing.T) {
		var found []statement
		for _, s := range iamStatements(t, tmpl) {
			for _, a := range list(s.body["Action"]) {
				if a, _ := a.(string); strings.HasPrefix(strings.ToLower(a), "lambda:") {
					found = append(found, s)
					break
				}
			}
		}
		if len(found) != 1 {
			t.Fatalf("statements granting lambda actions = %d, want 1", len(found))
		}
		s := found[0]
		policy := strings.Fields(s.where)[0] // the logical ID, see iamStatements
		if !slices.Contains(resourcesOfType(tmpl, "AWS::IAM::Policy"), policy) {
			t.Errorf("the grant is in %s, want a separate AWS::IAM::Policy", s.where)
		}
		if got := list(s.body["Action"]); !reflect.DeepEqual(got, []any{"lambda:InvokeFunction"}) {
			t.Errorf("Action = %#v, want exactly lambda:InvokeFunction", got)
		}
		if got := list(s.body["Resource"]); !reflect.DeepEqual(got, []any{getAtt(functionID, "Arn")}) {
			t.Errorf("Resource = %#v, want exactly the function's own ARN (!GetAtt %s.Arn)", got, functionID)
		}
		if c := s.body["Condition"]; c != nil {
			t.Errorf("Condition = %#v, want none", c)
		}
		if got := list(at(tmpl, "Resources", policy, "Properties", "Roles")); !reflect.DeepEqual(got, []any{ref(roleID)}) {
			t.Errorf("policy %s is attached to %#v, want [%s]", policy, got, roleID)
		}
	})

	t.Run("event invoke config", func(t *testing.T) {
		ids := resourcesOfType(tmpl, "AWS::Lambda::EventInvokeConfig")
		if len(ids) != 1 {
			t.Fatalf("event invoke configs = %v, want one", ids)
		}
		props := at(tmpl, "Resources", ids[0], "Properties")
		want := map[string]any{
			"FunctionName": ref(functionID),
			"Qualifier":    "$LATEST",
			// A failed follow-up is not retried: retries are how duplicate
			// follow-ups happen.
			"MaximumRetryAttempts": 0,
			// Slack honours a response_url for 30 minutes.
			"MaximumEventAgeInSeconds": 1800,
		}
		got, _ := props.(map[string]any)
		if !reflect.DeepEqual(got, want) {
			// DestinationConfig and the like would need more permissions.
			t.Errorf("properties = %#v, want exactly %#v", got, want)
		}
	})
}

func TestFunctionURL(t *testing.T) {
	tmpl := mustDecode(t)
	if got := resourcesOfType(tmpl, "AWS::Lambda::Url"); !slices.Equal(got, []string{urlID}) {
		t.Fatalf("Function URLs = %v, want [%s]", got, urlID)
	}
	props := at(tmpl, "Resources", urlID, "Properties")
	for k, want := range map[string]any{
		"AuthType":          "NONE", // Slack signs requests; it cannot sign AWS ones
		"InvokeMode":        "BUFFERED",
		"TargetFunctionArn": getAtt(functionID, "Arn"),
	} {
		if got := at(props, k); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	if got := at(tmpl, "Outputs", "FunctionURL", "Value"); !reflect.DeepEqual(got, getAtt(urlID, "FunctionUrl")) {
		t.Errorf("output FunctionURL = %#v, want the URL's FunctionUrl", got)
	}
	for _, name := range []string{"FunctionName", "FunctionArn"} {
		if at(tmpl, "Outputs", name, "Value") == nil {
			t.Errorf("output %s is missing", name)
		}
	}
}

// TestPublicURLPermissions checks the two resource-policy statements a
// public Function URL needs since October 2025, and that neither opens the
// function to anything but its URL.
func TestPublicURLPermissions(t *testing.T) {
	tmpl := mustDecode(t)
	ids := resourcesOfType(tmpl, "AWS::Lambda::Permission")
	tests := []struct {
		action    string
		condition string // the property that scopes the public grant to the URL
		want      any
	}{
		{"lambda:InvokeFunctionUrl", "FunctionUrlAuthType", "NONE"},
		// Without InvokedViaFunctionUrl, Principal "*" would let anyone call
		// the Invoke API directly, bypassing the URL.
		{"lambda:InvokeFunction", "InvokedViaFunctionUrl", true},
	}
	if len(ids) != len(tests) {
		t.Errorf("Lambda permissions = %v, want exactly %d", ids, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			var found []string
			for _, id := range ids {
				if at(tmpl, "Resources", id, "Properties", "Action") == tt.action {
					found = append(found, id)
				}
			}
			if len(found) != 1 {
				t.Fatalf("permissions with Action %s = %v, want one", tt.action, found)
			}
			props := at(tmpl, "Resources", found[0], "Properties")
			if got := at(props, "Principal"); got != "*" {
				t.Errorf("Principal = %#v, want \"*\"", got)
			}
			if got := at(props, "FunctionName"); !reflect.DeepEqual(got, ref(functionID)) && !reflect.DeepEqual(got, getAtt(functionID, "Arn")) {
				t.Errorf("FunctionName = %#v, want the function", got)
			}
			got := at(props, tt.condition)
			if b, ok := tt.want.(bool); ok && b {
				if !isTrue(got) {
					t.Errorf("%s = %#v, want true", tt.condition, got)
				}
			} else if got != tt.want {
				t.Errorf("%s = %#v, want %#v", tt.condition, got, tt.want)
			}
		})
	}
}

// TestCFNLint runs cfn-lint so that CI catches what AWS's own schemas and
// rules would refuse at deploy time. Warnings fail too: the template has
// none, and a new one deserves a look.
func TestCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not found on PATH (pip install cfn-lint): the template is not linted")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// The file, not Template, so cfn-lint reports lines of the real file.
	cmd := exec.CommandContext(ctx, bin, "--format", "parseable", "--", "template.yaml")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		// cfn-lint's exit code is a bit set: 2 errors, 4 warnings,
		// 8 informational (not failed on), 1 a crash.
		if code := exit.ExitCode(); code&(1|2|4) != 0 {
			t.Errorf("cfn-lint exit %d:\n%s", code, out.String())
		}
	default:
		t.Fatalf("cfn-lint: %v\n%s", err, out.String())
	}
}
