package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	f, err := LoadFile(filepath.Join("testdata", "three-targets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Default != "www" || len(f.Targets) != 3 || f.Targets[1].Paths[0] != "/guide/*" || f.Targets[2].Tenant != "dt_2abcDEF123" || !f.Targets[0].ApproverMustDiffer {
		t.Fatalf("LoadFile = %+v", f)
	}
	if _, err := LoadFile(filepath.Join("testdata", "missing.yaml")); err == nil || !strings.Contains(err.Error(), EnvConfigFile) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParseFileErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "three-targets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		old, new  string
		wantError []string
	}{
		{"unknown field", "    confirm: full-purge\n", "    confirm: full-purge\n    confirn: always\n", []string{`t.yaml:9: targets.0.confirn: unknown field; did you mean "confirm"?`}},
		{"unknown field is checked with the rest", "    channels: [docs-team]\n", "    chanels: [docs-team]\n", []string{`t.yaml:13: targets.1.chanels: unknown field; did you mean "channels"?`, "t.yaml:10: targets.1.channels: no channels"}},
		{"unknown top-level field", "default: www\n", "default: www\ntarget: []\n", []string{`t.yaml:3: target: unknown field; did you mean "targets"?`}},
		{"a field twice", "    confirm_over: 20\n", "    confirm_over: 20\n    confirm_over: 30\n", []string{"t.yaml:17: targets.1.confirm_over: set twice (also on line 16): keep one"}},
		{"one channel, not a list", "[docs-team]", "docs-team", []string{"t.yaml:13: targets.1.channels: must be a list, even of one: write [docs-team]"}},
		{"a word for a number", "confirm_over: 20", "confirm_over: many", []string{`t.yaml:16: targets.1.confirm_over: must be a whole number, e.g. 20, not "many"`}},
		{"a second document", "role/cdnpurge", "role/cdnpurge\n---\ndefault: docs", []string{"t.yaml:23: a second YAML document (after ---): a targets file is one document"}},
		{"bad distribution", "E3DOCSEXAMPLE1", "e3-docs", []string{"t.yaml:11: targets.1.distribution", `"e3-docs" is not a distribution ID`}},
		{"both distribution and tenant", "    tenant: dt_2abcDEF123\n", "    tenant: dt_2abcDEF123\n    distribution: E4EXAMPLE\n", []string{"targets.2.tenant", "not both"}},
		{"duplicate name", "name: docs", "name: www", []string{"targets.1.name", `"www" is used by two targets`}},
		{"no channels", "    channels: [docs-team]\n", "", []string{"targets.1.channels", "nobody could purge"}},
		{"domain twice", "[docs.example.com]", "[example.com]", []string{"targets.1.domains", `also belongs to target "www"`}},
		{"bad user", "U0BOB0001", "bob", []string{"targets.1.users", `"bob" is not a Slack user ID`}},
		{"bad prefix", `"/api/*"`, `"api/*"`, []string{"targets.1.paths", `"api/*" is not a normalized path prefix`}},
		{"bad confirm", "confirm: full-purge", "confirm: sometimes", []string{"targets.0.confirm", "not a confirmation mode"}},
		{"bad role", "role/cdnpurge", "user/cdnpurge", []string{"targets.2.role_arn"}},
		{"unknown default", "default: www", "default: blog", []string{"t.yaml:2: default", `"blog" is not one of the targets`}},
		{"no default", "default: www\n", "", []string{"default", "not set"}},
		{"not YAML", "targets:", "targets: [", []string{"t.yaml:3: not valid YAML: did not find expected node content"}},
		{"a tab for indentation", "    confirm: full-purge\n", "\tconfirm: full-purge\n", []string{"t.yaml:", "not valid YAML", "cannot start any token"}},
		{"empty", string(base), "# nothing yet\n", []string{"t.yaml:1: targets: no targets: the file is empty"}},
		{"digits only, like an invalidation ID", "name: docs", `name: "2024"`, []string{"targets.1.name", `"2024" is not a target name`}},
		{"negative confirm_over", "confirm_over: 20", "confirm_over: -1", []string{"targets.1.confirm_over", "-1 is not a number of paths"}},
		{"command word as a name", "name: docs", "name: usage", []string{"targets.1.name", `"usage" is a word of the command itself`}},
		{"one distribution, two roles", "    tenant: dt_2abcDEF123\n", "    distribution: E2QWRUHEXAMPLE\n", []string{"targets.2.role_arn", `target "www" uses E2QWRUHEXAMPLE through another role_arn`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(string(base), tt.old, tt.new, 1)
			if data == string(base) {
				t.Fatalf("the test did not change the file")
			}
			_, err := ParseFile("t.yaml", []byte(data))
			if err == nil {
				t.Fatal("ParseFile accepted it")
			}
			for _, w := range tt.wantError {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			assertPlainWords(t, err)
		})
	}
}

// TestParseFileShapeMistakes checks the exact message for a file with every
// kind of shape mistake: each problem on its own line as
// "file:line: field: problem", in the file's order, unknown fields with
// the nearest known one, and what was expected in words.
func TestParseFileShapeMistakes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "newcomer-mistakes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "newcomer-mistakes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile("cdnpurge.yaml", data)
	if err == nil {
		t.Fatal("ParseFile accepted it")
	}
	if got := err.Error(); got != strings.TrimSpace(string(want)) {
		t.Errorf("ParseFile error:\n%s\nwant:\n%s", got, want)
	}
	assertPlainWords(t, err)
}

// assertPlainWords fails if err shows the YAML library's or Go's view of
// the file (type names, YAML tags) instead of words a newcomer can act on.
func assertPlainWords(t *testing.T, err error) {
	t.Helper()
	for _, jargon := range jargonREs {
		if m := jargon.FindString(err.Error()); m != "" {
			t.Errorf("error shows %q: %v", m, err)
		}
	}
}

// jargonREs match what the YAML library and Go would say about a file:
// YAML tags (!!str), Go types (config.Target, []string, int, bool) and the
// library's own prefix.
var jargonREs = []*regexp.Regexp{
	regexp.MustCompile(`!!\w+`),
	regexp.MustCompile(`\bunmarshal\b`),
	regexp.MustCompile(`\bconfig\.\w+`),
	regexp.MustCompile(`\[\]\w+`),
	regexp.MustCompile(`(?:^|\s)yaml: `),
	regexp.MustCompile(`not found in type`),
	regexp.MustCompile(`\b(?:int|bool|string|uint\d*|int\d+)\b`),
}
