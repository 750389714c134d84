package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// TestREADMEEmulatorCommands runs the README's emulator section as a
// newcomer would: its AWS CLI and cdnpurge command blocks, verbatim except
// for the emulator's port and `go run ./cmd/cdnpurge` (a binary built once),
// in a shell with nothing in its environment but PATH and an empty HOME (no
// AWS configuration). Every command must succeed.
func TestREADMEEmulatorCommands(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed: cannot run the README's aws commands")
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "## The local CloudFront emulator")
	end := strings.Index(readme, "## Deploy to AWS Lambda")
	if start < 0 || end < start {
		t.Fatal("README has no emulator section")
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readme[start:end], -1)
	if len(blocks) < 3 || !strings.Contains(blocks[0][1], "cdnpurge emulate --addr 127.0.0.1:4510 --distribution EDFDVBD6EXAMPLE") {
		t.Fatalf("the emulator section's first blocks are not emulate, the AWS CLI and cdnpurge: %q", blocks)
	}
	bin := filepath.Join(t.TempDir(), "cdnpurge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	emu := strings.TrimPrefix(testutil.MustEmulator(t, 200*time.Millisecond), "http://")
	for i, b := range blocks[1:3] {
		script := strings.NewReplacer("127.0.0.1:4510", emu, "go run ./cmd/cdnpurge", bin).Replace(b[1])
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("README emulator block %d failed: %v\n%s\n%s", i+2, err, b[1], out)
		}
	}
}
