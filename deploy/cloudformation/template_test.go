package cloudformation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/secretarn"
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
		// The targets beyond the tutorial's: configuration, not secrets.
		{"TargetsConfig", false},
		{"TargetsConfigFile", false},
		{"AdditionalDistributionIds", false},
		{"DistributionTenantIds", false},
		{"AssumeRoleArns", false},
		{"SlackBotToken", true}, // acts as the Slack app
		// Where the secrets live: ARNs, not secrets.
		{"SigningKeySecretArn", false},
		{"SlackUrlSecretArn", false},
		{"SlackBotTokenSecretArn", false},
		{"ProviderTokenSecretArns", false},
		{"ProviderTokenParameterArns", false},
		{"SecretKmsKeyArns", false},
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
		// For a list, the pattern is checked entry by entry, and "" is the
		// one entry of the empty default (TestDeploymentRefused shows that an
		// empty entry in a non-empty list is refused by a rule).
		{"AdditionalDistributionIds", "", true},
		{"AdditionalDistributionIds", "E3ABCDEXAMPLE", true},
		{"AdditionalDistributionIds", "e3abcdexample", false},
		{"AdditionalDistributionIds", "E3ABCDEXAMPLE/*", false},
		{"AdditionalDistributionIds", "*", false},
		{"DistributionTenantIds", "", true},
		{"DistributionTenantIds", "dt_2wjDZi3hD1ivOXf6rpZJO1AB", true},
		{"DistributionTenantIds", "dt_", false},
		{"DistributionTenantIds", "2wjDZi3hD1ivOXf6rpZJO1AB", false},
		{"DistributionTenantIds", "E3ABCDEXAMPLE", false},
		{"DistributionTenantIds", "dt_*", false},
		{"DistributionTenantIds", "dt_" + strings.Repeat("a", 65), false},
		{"AssumeRoleArns", "", true},
		{"AssumeRoleArns", "arn:aws:iam::210987654321:role/cdnpurge-target", true},
		{"AssumeRoleArns", "arn:aws:iam::210987654321:role/teams/web/cdnpurge", true},
		{"AssumeRoleArns", "arn:aws-cn:iam::210987654321:role/cdnpurge-target", true},
		{"AssumeRoleArns", "arn:aws:iam::210987654321:role/*", false},
		{"AssumeRoleArns", "arn:aws:iam::*:role/cdnpurge-target", false},
		{"AssumeRoleArns", "arn:aws:iam::210987654321:user/cdnpurge", false},
		{"AssumeRoleArns", "arn:aws:sts::210987654321:assumed-role/cdnpurge/s", false},
		{"AssumeRoleArns", "cdnpurge-target", false},
		{"SlackBotToken", "", true}, // no user-group restrictions
		{"SlackBotToken", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", true},
		{"SlackBotToken", "xoxp-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", false},
		{"SlackBotToken", "xoxb-", false},
		{"SlackBotToken", " xoxb-1234", false},
		{"SigningKeySecretArn", "", true}, // the value is in SigningKey
		{"SigningKeySecretArn", secretARN, true},
		{"SigningKeySecretArn", paramARN, true},
		{"SigningKeySecretArn", "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/token", true},
		{"SigningKeySecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*", false},
		{"SigningKeySecretArn", "arn:aws:secretsmanager:us-east-1:*:secret:cdnpurge", false},
		{"SigningKeySecretArn", "arn:aws:ssm:us-east-1:123456789012:parameter/*", false},
		{"SigningKeySecretArn", "arn:aws:ssm:us-east-1:123456789012:parameter//x", false},
		{"SigningKeySecretArn", "arn:aws:s3:::bucket/key", false},
		{"SigningKeySecretArn", "cdnpurge/signing", false},
		{"SlackUrlSecretArn", secretARN, true},
		{"SlackBotTokenSecretArn", paramARN, true},
		{"ProviderTokenSecretArns", "", true},
		{"ProviderTokenSecretArns", secretARN, true},
		{"ProviderTokenSecretArns", paramARN, false}, // SSM goes in ProviderTokenParameterArns
		{"ProviderTokenParameterArns", "", true},
		{"ProviderTokenParameterArns", paramARN, true},
		{"ProviderTokenParameterArns", secretARN, false},
		{"SecretKmsKeyArns", "", true},
		{"SecretKmsKeyArns", kmsKeyARN, true},
		{"SecretKmsKeyArns", "arn:aws:kms:us-east-1:123456789012:key/*", false},
		{"SecretKmsKeyArns", "arn:aws:kms:us-east-1:123456789012:alias/cdnpurge", false},
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
			if strings.HasSuffix(tt.param, "SecretArn") && tt.value != "" {
				// The stack must accept exactly the ARNs the function accepts.
				if _, err := secretarn.Parse(tt.value); (err == nil) != tt.want {
					t.Errorf("secretarn.Parse(%q) = %v, but the template says %v", tt.value, err, tt.want)
				}
			}
			if (tt.param == "DistributionId" || tt.param == "AdditionalDistributionIds") && tt.value != "" {
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
		// The environment depends on the parameters: see TestDeployments.
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

// tutorialParams are the parameters of a stack deployed the tutorial's way:
// its four, plus where the code is.
func tutorialParams() map[string]string {
	return map[string]string{
		"DistributionId": "E2QWRUHEXAMPLE",
		"SigningKey":     "8f742231b10e8888abcd99yyyzzz85a5",
		"SlackChannel":   "C0DEPLOY01",
		"SlackUrl":       "https://hooks.slack.com/services/T000/B000/XXXX",
		"CodeS3Bucket":   "artifacts-example",
	}
}

// with returns the tutorial's parameters plus the given name, value pairs.
func with(kv ...string) map[string]string {
	p := tutorialParams()
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

// The environment of a stack with only the tutorial's parameters: exactly
// its four variables (in particular no CDNPURGE_DEV_ALLOW_LOOPBACK or
// CDNPURGE_CLOUDFRONT_ENDPOINT).
func tutorialEnv(kv ...string) map[string]any {
	p := tutorialParams()
	env := map[string]any{
		config.EnvDistributionID: p["DistributionId"],
		config.EnvSigningSecret:  p["SigningKey"],
		config.EnvChannels:       p["SlackChannel"],
		config.EnvWebhookURL:     p["SlackUrl"],
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// grants maps each IAM action a deployment allows to the resources it is
// allowed on, sorted. A resource known only once deployed is written as
// its !GetAtt.
type grants map[string][]string

var (
	invalidationActions = []string{"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"}
	// Service Authorization Reference, Amazon CloudFront: the tenant
	// operations have their own actions, on the distribution-tenant type.
	tenantInvalidationActions = []string{
		"cloudfront:CreateInvalidationForDistributionTenant",
		"cloudfront:GetInvalidationForDistributionTenant",
		"cloudfront:ListInvalidationsForDistributionTenant",
	}
)

// grant returns g with actions allowed on resources.
func (g grants) grant(actions []string, resources ...string) grants {
	out := grants{}
	for a, r := range g {
		out[a] = slices.Clone(r)
	}
	for _, a := range actions {
		out[a] = append(out[a], resources...)
		slices.Sort(out[a])
	}
	return out
}

// tutorialGrants are the permissions of a stack with only the tutorial's
// parameters: invalidations on its one distribution, writing its own log
// group, invoking itself. Nothing else.
func tutorialGrants(partition string) grants {
	return grants{
		"logs:CreateLogStream":  {"!GetAtt " + logGroupID + ".Arn"},
		"logs:PutLogEvents":     {"!GetAtt " + logGroupID + ".Arn"},
		"lambda:InvokeFunction": {"!GetAtt " + functionID + ".Arn"},
	}.grant(invalidationActions, distributionARN(partition, tutorialParams()["DistributionId"]))
}

func distributionARN(partition, id string) string {
	return "arn:" + partition + ":cloudfront::" + testAccountID + ":distribution/" + id
}

func tenantARN(partition, id string) string {
	return "arn:" + partition + ":cloudfront::" + testAccountID + ":distribution-tenant/" + id
}

const (
	roleA = "arn:aws:iam::210987654321:role/cdnpurge-target"
	roleB = "arn:aws:iam::210987654322:role/teams/web/cdnpurge"

	sampleConfigYAML = "default: www\ntargets:\n  - name: www\n    distribution: E2QWRUHEXAMPLE\n  - name: shop\n    tenant: dt_2wjDZi3hD1ivOXf6rpZJO1AB\n"
	sampleBotToken   = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"

	secretARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/signing-AbCdEf"
	secretARN2 = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdnpurge/cloudflare-GhIjKl"
	secretARN3 = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/fastly-MnOpQr"
	paramARN   = "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/bot-token"
	paramARN2  = "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/signing"
	paramARN3  = "arn:aws:ssm:us-east-1:123456789012:parameter/cdnpurge/providers/fastly"
	kmsKeyARN  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// secretParams are the tutorial's parameters with the signing key (and
// the webhook URL, when the pairs name SlackUrlSecretArn) given by ARN
// instead, plus the given name, value pairs.
func secretParams(kv ...string) map[string]string {
	p := with(kv...)
	delete(p, "SigningKey")
	if p["SlackUrlSecretArn"] != "" {
		delete(p, "SlackUrl")
	}
	return p
}

// secretEnv is tutorialEnv with the variables the secrets by ARN replace
// taken out, plus the given pairs.
func secretEnv(drop []string, kv ...string) map[string]any {
	env := tutorialEnv(kv...)
	for _, k := range drop {
		delete(env, k)
	}
	return env
}

// viaServices is the only Condition a statement may have: kms:Decrypt
// only when Secrets Manager or SSM in the stack's region asks for it.
var viaServices = map[string]any{"StringEquals": map[string]any{"kms:ViaService": []any{
	"secretsmanager." + testRegion + ".amazonaws.com", "ssm." + testRegion + ".amazonaws.com",
}}}

// deployments are stacks as users deploy them: the values, and what the
// function gets. Each is also linted (TestCFNLint).
var deployments = []struct {
	name      string
	params    map[string]string
	partition string
	grants    grants
	env       map[string]any
}{
	{
		// Deploying with only the tutorial's parameters gives exactly the
		// permissions and variables the stack gave before it knew targets.
		name:      "tutorial's parameters only",
		params:    tutorialParams(),
		partition: "aws",
		grants:    tutorialGrants("aws"),
		env:       tutorialEnv(),
	},
	{
		name: "distributions, tenants and roles",
		params: with(
			"TargetsConfig", sampleConfigYAML,
			"SlackBotToken", sampleBotToken,
			"AdditionalDistributionIds", "E3ABCDEXAMPLE,E4ABCDEXAMPLE",
			"DistributionTenantIds", "dt_2wjDZi3hD1ivOXf6rpZJO1AB,dt_other1",
			"AssumeRoleArns", roleA+","+roleB,
		),
		partition: "aws",
		grants: tutorialGrants("aws").
			grant(invalidationActions, distributionARN("aws", "E3ABCDEXAMPLE"), distributionARN("aws", "E4ABCDEXAMPLE")).
			grant(tenantInvalidationActions, tenantARN("aws", "dt_2wjDZi3hD1ivOXf6rpZJO1AB"), tenantARN("aws", "dt_other1")).
			grant([]string{"sts:AssumeRole"}, roleA, roleB),
		env: tutorialEnv(config.EnvConfigYAML, sampleConfigYAML, config.EnvBotToken, sampleBotToken),
	},
	{
		// Each list grants on its own: tenants alone add only the tenant
		// actions.
		name: "one tenant, configuration file in the zip",
		params: with(
			"TargetsConfigFile", "/var/task/cdnpurge.yaml",
			"DistributionTenantIds", "dt_2wjDZi3hD1ivOXf6rpZJO1AB",
		),
		partition: "aws",
		grants:    tutorialGrants("aws").grant(tenantInvalidationActions, tenantARN("aws", "dt_2wjDZi3hD1ivOXf6rpZJO1AB")),
		env:       tutorialEnv(config.EnvConfigFile, "/var/task/cdnpurge.yaml"),
	},
	{
		name:      "one role in another account",
		params:    with("TargetsConfig", sampleConfigYAML, "AssumeRoleArns", roleA),
		partition: "aws",
		grants:    tutorialGrants("aws").grant([]string{"sts:AssumeRole"}, roleA),
		env:       tutorialEnv(config.EnvConfigYAML, sampleConfigYAML),
	},
	{
		// CloudFormation trims each entry of a list.
		name:      "spaces around entries",
		params:    with("AdditionalDistributionIds", " E3ABCDEXAMPLE , E4ABCDEXAMPLE "),
		partition: "aws",
		grants:    tutorialGrants("aws").grant(invalidationActions, distributionARN("aws", "E3ABCDEXAMPLE"), distributionARN("aws", "E4ABCDEXAMPLE")),
		env:       tutorialEnv(),
	},
	{
		// The built ARNs carry a literal partition; CloudFront has two.
		name: "China partition",
		params: with(
			"AdditionalDistributionIds", "E3ABCDEXAMPLE,E4ABCDEXAMPLE",
			"DistributionTenantIds", "dt_2wjDZi3hD1ivOXf6rpZJO1AB",
		),
		partition: "aws-cn",
		grants: tutorialGrants("aws-cn").
			grant(invalidationActions, distributionARN("aws-cn", "E3ABCDEXAMPLE"), distributionARN("aws-cn", "E4ABCDEXAMPLE")).
			grant(tenantInvalidationActions, tenantARN("aws-cn", "dt_2wjDZi3hD1ivOXf6rpZJO1AB")),
		env: tutorialEnv(),
	},
	{
		// The signing key in Secrets Manager: one read, on that secret.
		name:      "signing key from Secrets Manager",
		params:    secretParams("SigningKeySecretArn", secretARN),
		partition: "aws",
		grants:    tutorialGrants("aws").grant([]string{"secretsmanager:GetSecretValue"}, secretARN),
		env:       secretEnv([]string{config.EnvSigningSecret}, config.EnvSigningSecretARN, secretARN),
	},
	{
		// Every secret by ARN, from both services, under a customer key:
		// each action on exactly its ARNs, kms:Decrypt on exactly the key.
		name: "every secret by ARN, with a customer-managed key",
		params: secretParams(
			"SigningKeySecretArn", paramARN2,
			"SlackUrlSecretArn", secretARN,
			"SlackBotTokenSecretArn", paramARN,
			"ProviderTokenSecretArns", secretARN2+","+secretARN3,
			"ProviderTokenParameterArns", paramARN3,
			"SecretKmsKeyArns", kmsKeyARN,
			"TargetsConfig", sampleConfigYAML,
		),
		partition: "aws",
		grants: tutorialGrants("aws").
			grant([]string{"ssm:GetParameter"}, paramARN2, paramARN, paramARN3).
			grant([]string{"secretsmanager:GetSecretValue"}, secretARN, secretARN2, secretARN3).
			grant([]string{"kms:Decrypt"}, kmsKeyARN),
		env: secretEnv([]string{config.EnvSigningSecret, config.EnvWebhookURL},
			config.EnvSigningSecretARN, paramARN2, config.EnvWebhookURLARN, secretARN,
			config.EnvBotTokenARN, paramARN, config.EnvConfigYAML, sampleConfigYAML),
	},
	{
		// A key with nothing to decrypt grants nothing.
		name:      "KMS key without secret ARNs",
		params:    with("SecretKmsKeyArns", kmsKeyARN),
		partition: "aws",
		grants:    tutorialGrants("aws"),
		env:       tutorialEnv(),
	},
}

// TestDeployments deploys the template on paper (see resolve) for each
// entry of deployments and checks what the function gets: exactly the
// expected IAM grants, each on exactly the expected ARNs, and exactly the
// expected environment.
func TestDeployments(t *testing.T) {
	tmpl := mustDecode(t)
	for _, tt := range deployments {
		t.Run(tt.name, func(t *testing.T) {
			d := mustResolve(t, tmpl, tt.params, tt.partition)

			t.Run("role", func(t *testing.T) {
				roles := resourcesOfType(d, "AWS::IAM::Role")
				if !slices.Equal(roles, []string{roleID}) {
					t.Fatalf("IAM roles = %v, want [%s]", roles, roleID)
				}
				role := at(d, "Resources", roleID, "Properties")
				if v := at(role, "ManagedPolicyArns"); v != nil {
					// AWSLambdaBasicExecutionRole, the usual one, grants logs on "*".
					t.Errorf("ManagedPolicyArns = %v, want none", v)
				}
				if got := at(role, "AssumeRolePolicyDocument", "Statement", "0", "Principal", "Service"); got != "lambda.amazonaws.com" {
					t.Errorf("role is assumable by %v, want lambda.amazonaws.com", got)
				}
				for _, id := range resourcesOfType(d, "AWS::IAM::Policy") {
					if got := list(at(d, "Resources", id, "Properties", "Roles")); !reflect.DeepEqual(got, []any{ref(roleID)}) {
						t.Errorf("policy %s is attached to %#v, want [%s]", id, got, roleID)
					}
				}
			})

			t.Run("IAM grants", func(t *testing.T) {
				got := grants{}
				for _, s := range iamStatements(t, d) {
					for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
						if _, ok := s.body[k]; ok {
							t.Errorf("%s uses %s: an allow-list is easier to audit", s.where, k)
						}
					}
					if s.body["Effect"] != "Allow" {
						t.Errorf("%s: Effect = %v, want Allow", s.where, s.body["Effect"])
					}
					if c := s.body["Condition"]; c != nil && !reflect.DeepEqual(c, viaServices) {
						t.Errorf("%s: Condition = %#v, want none, or for kms:Decrypt %#v", s.where, c, viaServices)
					}
					// kms:Decrypt comes only with kms:ViaService, and the
					// condition only with it.
					if decrypt := slices.Contains(list(s.body["Action"]), any("kms:Decrypt")); decrypt != (s.body["Condition"] != nil) ||
						decrypt && len(list(s.body["Action"])) != 1 {
						t.Errorf("%s: Action %v with Condition %#v: kms:Decrypt goes alone, with kms:ViaService", s.where, s.body["Action"], s.body["Condition"])
					}
					var resources []string
					for _, r := range list(s.body["Resource"]) {
						resources = append(resources, grantTarget(t, s.where, r))
					}
					if len(resources) == 0 {
						t.Errorf("%s has no Resource", s.where)
					}
					for _, a := range list(s.body["Action"]) {
						action, _ := a.(string)
						if action == "" || strings.Contains(action, "*") {
							t.Errorf("%s: Action %#v is a wildcard or not a string", s.where, a)
							continue
						}
						got = got.grant([]string{action}, resources...)
					}
				}
				if !reflect.DeepEqual(got, tt.grants) {
					t.Errorf("grants:\n%s\nwant exactly:\n%s", formatGrants(got), formatGrants(tt.grants))
				}
			})

			t.Run("environment", func(t *testing.T) {
				got := at(d, "Resources", functionID, "Properties", "Environment", "Variables")
				if !reflect.DeepEqual(got, tt.env) {
					t.Errorf("environment = %#v, want exactly %#v", got, tt.env)
				}
			})
		})
	}
}

// grantTarget renders one Resource of a deployed policy statement, with
// the IAM policy variables replaced as IAM replaces them for the function's
// role, and checks that it names one thing: no wildcard, no variable left,
// no ARN cut short by an empty ID.
func grantTarget(t *testing.T, where string, r any) string {
	t.Helper()
	switch v := r.(type) {
	case string:
		arn := iamPolicyVariables.Replace(v)
		switch {
		case strings.ContainsAny(arn, "*?"):
			t.Errorf("%s: Resource %q has a wildcard", where, v)
		case strings.Contains(arn, "${"):
			t.Errorf("%s: Resource %q has a policy variable IAM may not resolve to one value", where, v)
		case !strings.HasPrefix(arn, "arn:"), strings.HasSuffix(arn, "/"), strings.HasSuffix(arn, ":"):
			t.Errorf("%s: Resource %q is not a whole ARN", where, v)
		}
		return arn
	case map[string]any:
		// The log group's Arn attribute ends in ":*" but names one group
		// and its streams; the function's names the function.
		if ga := list(v["Fn::GetAtt"]); len(v) == 1 && len(ga) == 2 {
			return fmt.Sprintf("!GetAtt %v.%v", ga[0], ga[1])
		}
	}
	t.Errorf("%s: Resource %#v is not an ARN or a resource's Arn attribute", where, r)
	return fmt.Sprintf("%#v", r)
}

func formatGrants(g grants) string {
	var b strings.Builder
	for _, a := range slices.Sorted(maps.Keys(g)) {
		fmt.Fprintf(&b, "  %s on %s\n", a, strings.Join(g[a], ", "))
	}
	return b.String()
}

// TestDeploymentRefused checks that values which would grant more than
// intended, or name nothing, fail the deployment instead: CloudFormation
// checks parameter constraints and rules before it creates anything.
func TestDeploymentRefused(t *testing.T) {
	tmpl := mustDecode(t)
	tests := []struct {
		name    string
		params  map[string]string
		without string // a parameter left out
		wantErr string
	}{
		{"empty entry between commas", with("AdditionalDistributionIds", "E3ABCDEXAMPLE,,E4ABCDEXAMPLE"), "", "rule NoEmptyAdditionalDistributionId"},
		{"comma at the end of tenants", with("DistributionTenantIds", "dt_abc,"), "", "rule NoEmptyDistributionTenantId"},
		{"comma at the start of roles", with("AssumeRoleArns", ","+roleA), "", "rule NoEmptyAssumeRoleArn"},
		{"lower-case distribution ID", with("AdditionalDistributionIds", "e3abcdexample"), "", "AllowedPattern"},
		{"wildcard distribution", with("AdditionalDistributionIds", "*"), "", "AllowedPattern"},
		{"tenant ID without dt_", with("DistributionTenantIds", "2wjDZi3hD1ivOXf6rpZJO1AB"), "", "AllowedPattern"},
		{"distribution ID given as a tenant", with("DistributionTenantIds", "E3ABCDEXAMPLE"), "", "AllowedPattern"},
		{"any role in an account", with("AssumeRoleArns", "arn:aws:iam::210987654321:role/*"), "", "AllowedPattern"},
		{"a role name in any account", with("AssumeRoleArns", "arn:aws:iam::*:role/cdnpurge-target"), "", "AllowedPattern"},
		{"a user, not a role", with("AssumeRoleArns", "arn:aws:iam::210987654321:user/cdnpurge"), "", "AllowedPattern"},
		{"both configuration sources", with("TargetsConfig", sampleConfigYAML, "TargetsConfigFile", "/var/task/cdnpurge.yaml"), "", "rule OneTargetsConfigSource"},
		{"user token, not a bot token", with("SlackBotToken", "xoxp-1234567890-0987654321-AbCdEf"), "", "AllowedPattern"},
		{"configuration over Lambda's 4 KB", with("TargetsConfig", strings.Repeat("#", 4097)), "", "MaxLength"},
		{"no signing key", tutorialParams(), "SigningKey", "rule OneSigningKey: Set SigningKey or SigningKeySecretArn."},
		{"signing key both ways", with("SigningKeySecretArn", secretARN), "", "rule OneSigningKey: Set SigningKey or SigningKeySecretArn, not both."},
		{"webhook both ways", with("SlackUrlSecretArn", secretARN), "", "rule OneSlackUrl"},
		{"bot token both ways", with("SlackBotToken", sampleBotToken, "SlackBotTokenSecretArn", paramARN), "", "rule OneSlackBotToken"},
		{"every secret of an account", secretParams("SigningKeySecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"), "", "AllowedPattern"},
		{"a parameter as a provider secret", with("ProviderTokenSecretArns", paramARN), "", "AllowedPattern"},
		{"empty entry in provider tokens", with("ProviderTokenParameterArns", paramARN+","), "", "rule NoEmptyProviderTokenParameterArn"},
		{"empty entry in provider secrets", with("ProviderTokenSecretArns", ","+secretARN), "", "rule NoEmptyProviderTokenSecretArn"},
		{"empty entry in keys", with("SecretKmsKeyArns", kmsKeyARN+",,"+kmsKeyARN), "", "rule NoEmptySecretKmsKeyArn"},
		{"a key alias", with("SecretKmsKeyArns", "arn:aws:kms:us-east-1:123456789012:alias/cdnpurge"), "", "AllowedPattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delete(tt.params, tt.without)
			_, err := resolve(tmpl, tt.params, "aws")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("deploying: error %v, want one containing %q", err, tt.wantErr)
			}
		})
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
// rules would refuse at deploy time: once on the template as written, and
// once with each deployment's parameter values (cfn-lint's --parameter-files),
// with which it also checks that the values fit the parameters' types and
// that required ones are given. (cfn-lint 1.x does not check a value against
// AllowedPattern nor evaluate Rules; TestDeploymentRefused does.) Warnings
// fail too: the template has none, and a new one deserves a look.
func TestCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not found on PATH (pip install cfn-lint): the template is not linted")
	}
	tmpl := mustDecode(t)
	runs := []struct {
		name   string
		params map[string]string
	}{{"as written", nil}}
	for _, d := range deployments {
		if d.partition == "aws" { // cfn-lint's regions are in the aws partition
			runs = append(runs, struct {
				name   string
				params map[string]string
			}{d.name, d.params})
		}
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--format", "parseable"}
			if run.params != nil {
				args = append(args, "--parameter-files", mustParameterFile(t, tmpl, run.params))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			// The file, not Template, so cfn-lint reports lines of the real file.
			cmd := exec.CommandContext(ctx, bin, append(args, "--", "template.yaml")...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
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
		})
	}
}

// mustParameterFile writes values as a CloudFormation parameter file
// ([{"ParameterKey": ..., "ParameterValue": ...}]), a list parameter's value
// as a JSON list, and returns its path.
func mustParameterFile(tb testing.TB, tmpl map[string]any, values map[string]string) string {
	tb.Helper()
	var entries []map[string]any
	for _, name := range slices.Sorted(maps.Keys(values)) {
		var v any = values[name]
		if at(tmpl, "Parameters", name, "Type") == "CommaDelimitedList" {
			var l []string
			for _, e := range strings.Split(values[name], ",") {
				l = append(l, strings.TrimSpace(e))
			}
			v = l
		}
		entries = append(entries, map[string]any{"ParameterKey": name, "ParameterValue": v})
	}
	data, err := json.Marshal(entries)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "parameters.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
