package config

import (
	"os"
	"path/filepath"
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
		{"unknown field", "    confirm: full-purge\n", "    confirm: full-purge\n    confirn: always\n", []string{"t.yaml", "confirn", "not found"}},
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
		{"not YAML", "targets:", "targets: [", []string{"t.yaml"}},
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
		})
	}
}
