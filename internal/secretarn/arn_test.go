package secretarn

import (
	"strings"
	"testing"
)

// structural are the words of an ARN's form, not of the value parsed.
var structural = map[string]bool{"arn": true, "aws": true, "secretsmanager": true, "ssm": true, "secret": true, "parameter": true}

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		want     ARN
		param    string
		err      string // a part of the error; "" for none
	}{
		{name: "secret", in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/signing-AbCdEf",
			want: ARN{"aws", "secretsmanager", "us-east-1", "123456789012", "secret:cdnpurge/signing-AbCdEf"}},
		{name: "secret in another partition", in: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x",
			want: ARN{"aws-us-gov", "secretsmanager", "us-gov-west-1", "123456789012", "secret:x"}},
		{name: "parameter", in: "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/cloudflare-token",
			want: ARN{"aws", "ssm", "eu-west-1", "123456789012", "parameter/prod/cloudflare-token"}, param: "/prod/cloudflare-token"},
		{name: "top-level parameter", in: "arn:aws:ssm:eu-west-1:123456789012:parameter/token",
			want: ARN{"aws", "ssm", "eu-west-1", "123456789012", "parameter/token"}, param: "/token"},
		{name: "empty", in: "", err: "not an ARN"},
		{name: "too few parts", in: "arn:aws:secretsmanager:us-east-1:123456789012", err: "not an ARN"},
		{name: "not arn", in: "urn:aws:secretsmanager:us-east-1:123456789012:secret:x", err: "not an ARN"},
		{name: "partition", in: "arn:awsx:secretsmanager:us-east-1:123456789012:secret:x", err: "partition is not an AWS partition"},
		{name: "service", in: "arn:aws:s3:us-east-1:123456789012:secret:x", err: "service holds no secret"},
		{name: "no region", in: "arn:aws:secretsmanager::123456789012:secret:x", err: "is not a region"},
		{name: "bad region", in: "arn:aws:ssm:US-EAST-1:123456789012:parameter/x", err: "is not a region"},
		{name: "region without number", in: "arn:aws:ssm:us-east-x:123456789012:parameter/x", err: "is not a region"},
		{name: "short account", in: "arn:aws:secretsmanager:us-east-1:12345:secret:x", err: "12-digit"},
		{name: "account letters", in: "arn:aws:secretsmanager:us-east-1:12345678901a:secret:x", err: "12-digit"},
		{name: "secret without name", in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:", err: "secret:NAME"},
		{name: "secret as parameter", in: "arn:aws:secretsmanager:us-east-1:123456789012:parameter/x", err: "secret:NAME"},
		{name: "secret name space", in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a b", err: "does not allow"},
		{name: "secret name colon", in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b", err: "does not allow"},
		{name: "parameter as secret", in: "arn:aws:ssm:us-east-1:123456789012:secret:x", err: "parameter/NAME"},
		{name: "parameter double slash", in: "arn:aws:ssm:us-east-1:123456789012:parameter//x", err: "parameter/NAME"},
		{name: "parameter empty level", in: "arn:aws:ssm:us-east-1:123456789012:parameter/a//b", err: "not an SSM parameter name"},
		{name: "parameter trailing slash", in: "arn:aws:ssm:us-east-1:123456789012:parameter/a/", err: "not an SSM parameter name"},
		{name: "parameter newline", in: "arn:aws:ssm:us-east-1:123456789012:parameter/a\n", err: "not an SSM parameter name"},
		{name: "a webhook URL pasted by mistake", in: "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX", err: "not an ARN"},
		{name: "a token after arn:", in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:xoxb-SECRET TOKEN", err: "does not allow"},
		{name: "too long", in: "arn:aws:ssm:us-east-1:123456789012:parameter/" + strings.Repeat("a", maxLen), err: "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Parse(%q) = %+v, %v; want an error with %q", c.in, got, err, c.err)
				}
				// What failed to parse may be the secret itself, pasted
				// into the _ARN variable: no part of it is quoted.
				for _, part := range strings.FieldsFunc(c.in, func(r rune) bool { return r == ':' || r == '/' }) {
					if structural[part] {
						continue // the words of an ARN's form, which the error may name
					}
					if len(part) >= 4 && strings.Contains(err.Error(), part) {
						t.Errorf("the error %q quotes %q of the input", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
			}
			if got.String() != c.in {
				t.Errorf("String() = %q, want %q", got.String(), c.in)
			}
			if got.ParameterName() != c.param {
				t.Errorf("ParameterName() = %q, want %q", got.ParameterName(), c.param)
			}
		})
	}
}

func TestLooksLikeARN(t *testing.T) {
	for in, want := range map[string]bool{
		"arn:aws:ssm:us-east-1:123456789012:parameter/x": true,
		"arn:":          true,
		"cf-token-0123": false,
		"":              false,
		" arn:aws":      false,
	} {
		if got := LooksLikeARN(in); got != want {
			t.Errorf("LooksLikeARN(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParse checks that Parse never panics, and that what it accepts
// prints back as itself, parses again to the same ARN, and has the shape
// the services allow.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:cdnpurge/signing-AbCdEf",
		"arn:aws:ssm:eu-west-1:123456789012:parameter/prod/token",
		"arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x",
		"arn:aws:ssm:us-east-1:123456789012:parameter//x",
		"arn:aws:s3:::bucket",
		"arn::::::",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			// The input that failed may be a secret: it is never quoted.
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("Parse(%q): the error quotes the input: %v", s, err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		if again, err := Parse(a.String()); err != nil || again != a {
			t.Fatalf("Parse(String()) = %+v, %v; want %+v", again, err, a)
		}
		if strings.ContainsAny(s, " \t\r\n\x00") {
			t.Fatalf("Parse(%q) accepted white space or NUL", s)
		}
		if (a.Service == SSM) != strings.HasPrefix(a.ParameterName(), "/") {
			t.Fatalf("Parse(%q): service %q, parameter name %q", s, a.Service, a.ParameterName())
		}
	})
}
