package action

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustTool returns the path of an outside program, found on PATH or in
// $(go env GOPATH)/bin, where `go install` puts it; it skips the test when
// there is none (.ci/run installs it, so in CI nothing skips).
func mustTool(t *testing.T, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		path := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	t.Skipf("%s is not installed (.ci/run installs it)", name)
	return ""
}

// TestActionlint lints .github/workflows with actionlint, which also checks
// the inputs given to `uses: ./` against action.yml, and, when shellcheck
// is installed, the scripts of run: steps.
func TestActionlint(t *testing.T) {
	actionlint := mustTool(t, "actionlint")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, actionlint, "-no-color")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}

// TestShellcheck checks run.sh, and the scripts of action.yml's run:
// steps (which actionlint does not read), with shellcheck.
func TestShellcheck(t *testing.T) {
	shellcheck := mustTool(t, "shellcheck")
	scripts := []string{"run.sh"}
	m, _ := mustMetadata(t)
	for i, s := range m.Runs.Steps {
		if s.Run == "" {
			continue
		}
		file := filepath.Join(t.TempDir(), "action.yml-step-"+strconv.Itoa(i+1))
		if err := os.WriteFile(file, []byte(s.Run), 0o644); err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, file)
	}
	for _, script := range scripts {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		out, err := exec.CommandContext(ctx, shellcheck, "--shell=bash", script).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", filepath.Base(script), err, out)
		}
	}
}
