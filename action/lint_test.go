package action

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestActionlint lints .github/workflows with actionlint, which also checks
// the inputs given to `uses: ./` against action.yml, and, when shellcheck
// is installed, the scripts of run: steps.
func TestActionlint(t *testing.T) {
	actionlint := testutil.MustTool(t, "actionlint", "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
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
	shellcheck := testutil.MustTool(t, "shellcheck", "apt-get install shellcheck")
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
