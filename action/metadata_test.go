package action

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// metadata is what the tests read of action.yml.
type metadata struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []step `yaml:"steps"`
	} `yaml:"runs"`
}

type step struct {
	ID    string            `yaml:"id"`
	Uses  string            `yaml:"uses"`
	Shell string            `yaml:"shell"`
	Run   string            `yaml:"run"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

// step returns the step of m with id, failing the test if there is none.
func (m metadata) step(tb testing.TB, id string) step {
	tb.Helper()
	i := slices.IndexFunc(m.Runs.Steps, func(s step) bool { return s.ID == id })
	if i < 0 {
		tb.Fatalf("action.yml has no step with id %s", id)
	}
	return m.Runs.Steps[i]
}

// buildInputs are the inputs the build steps use instead of the script.
var buildInputs = []string{"go-version"}

// mustMetadata reads the repository's action.yml and returns it, and its
// text.
func mustMetadata(tb testing.TB) (metadata, string) {
	tb.Helper()
	raw, err := os.ReadFile("../action.yml")
	if err != nil {
		tb.Fatal(err)
	}
	var m metadata
	if err := yaml.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("action.yml: %v", err)
	}
	return m, string(raw)
}

// TestMetadataPassesEveryInput checks that action.yml hands each input to
// run.sh as INPUT_<NAME> (or to a build step), that run.sh reads each, that
// each output is one run.sh writes, and that no run: text holds an
// expression, where an input would become shell code.
func TestMetadataPassesEveryInput(t *testing.T) {
	m, _ := mustMetadata(t)
	script, err := os.ReadFile("run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", m.Runs.Using)
	}
	if !m.Inputs["paths"].Required {
		t.Error("input paths is not required")
	}
	purgeStep := m.step(t, "purge")
	if want := `bash "$GITHUB_ACTION_PATH/action/run.sh"`; purgeStep.Run != want {
		t.Errorf("the purge step runs %q, want %q", purgeStep.Run, want)
	}
	for name := range m.Inputs {
		t.Run("input "+name, func(t *testing.T) {
			expr := "${{ inputs." + name + " }}"
			if slices.Contains(buildInputs, name) {
				used := slices.ContainsFunc(m.Runs.Steps, func(s step) bool {
					for _, v := range s.With {
						if v == expr {
							return true
						}
					}
					return false
				})
				if !used {
					t.Errorf("build input %s is used by no step's with:", name)
				}
				return
			}
			if got := purgeStep.Env[inputEnv(name)]; got != expr {
				t.Errorf("the purge step's env %s is %q, want %q", inputEnv(name), got, expr)
			}
			if !strings.Contains(string(script), inputEnv(name)) {
				t.Errorf("run.sh never reads %s", inputEnv(name))
			}
		})
	}
	for k := range purgeStep.Env {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			if _, ok := m.Inputs[strings.ToLower(strings.ReplaceAll(name, "_", "-"))]; !ok {
				t.Errorf("the purge step passes %s, which is no input", k)
			}
		}
	}
	for name, out := range m.Outputs {
		if want := "${{ steps.purge.outputs." + name + " }}"; out.Value != want {
			t.Errorf("output %s is %q, want %q", name, out.Value, want)
		}
		if !strings.Contains(string(script), "output "+name+" ") {
			t.Errorf("run.sh never writes output %s", name)
		}
	}
	for _, s := range m.Runs.Steps {
		if s.Run != "" && s.Shell != "bash" {
			t.Errorf("step %q runs with shell %q; run.sh and the tests assume bash", s.ID, s.Shell)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q interpolates an expression into its script:\n%s", s.ID, s.Run)
		}
	}
}

// pinned is a uses: of another repository's action at a full commit SHA,
// with the version as a comment.
var pinned = regexp.MustCompile(`^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$`)

// TestActionsPinned checks that every action that action.yml and the
// workflows use from another repository is pinned to a commit, not a tag
// that can move.
func TestActionsPinned(t *testing.T) {
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(files, "../action.yml") {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(raw)) {
			line = strings.TrimRight(line, "\n")
			use, ok := strings.CutPrefix(strings.TrimPrefix(strings.TrimSpace(line), "- "), "uses: ")
			if !ok || strings.HasPrefix(use, "./") {
				continue
			}
			if !pinned.MatchString(line) {
				t.Errorf("%s: %q is not pinned to a commit with its version as a comment", filepath.Base(file), strings.TrimSpace(line))
			}
		}
	}
}
