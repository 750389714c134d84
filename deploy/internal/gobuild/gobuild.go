// Package gobuild is the build step the deployment artifacts share: it
// cross-compiles ./cmd/cdnpurge for Linux as a static, reproducible binary.
// deploy/build puts it in the Lambda zip, deploy/image in the container
// image.
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MainPackage is the command built, relative to the module root.
const MainPackage = "./cmd/cdnpurge"

// Options says what to build.
type Options struct {
	// GOARCH is the target architecture: amd64 or arm64.
	GOARCH string
	// Tags are build tags (e.g. lambda.norpc).
	Tags []string
	// StampVCS stamps the VCS revision into the binary, which
	// `cdnpurge --version` prints, when the module is a git work tree;
	// without it the bytes depend on the code alone (a commit that touches
	// only docs gives the same binary).
	StampVCS bool
	// Out is the path of the binary to write.
	Out string
}

// Build compiles MainPackage for linux/opts.GOARCH into opts.Out.
func Build(ctx context.Context, opts Options) error {
	if opts.GOARCH != "arm64" && opts.GOARCH != "amd64" {
		return fmt.Errorf("architecture %q: want arm64 or amd64", opts.GOARCH)
	}
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	buildVCS := "-buildvcs=false"
	if opts.StampVCS {
		buildVCS = "-buildvcs=auto"
	}
	args := []string{"build"}
	if len(opts.Tags) > 0 {
		args = append(args, "-tags", strings.Join(opts.Tags, ","))
	}
	args = append(args,
		// -trimpath and an empty build ID keep local paths and build IDs out
		// of the binary, so it is reproducible; -s -w drop the symbol table
		// and DWARF debug data, which nothing running it uses.
		"-trimpath",
		"-ldflags", "-s -w -buildid=",
		buildVCS,
		"-o", opts.Out, MainPackage)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	// CGO_ENABLED=0: a static binary needs nothing from the system's libc
	// (there is none in the image, nor one to rely on in Lambda).
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+opts.GOARCH, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", MainPackage, opts.GOARCH, err, stderr.Bytes())
	}
	return nil
}

// ModuleRoot returns the directory of the main module's go.mod, so the
// commands work from any directory in the module.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the cdnpurge module")
	}
	return filepath.Dir(gomod), nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, so a failed build never leaves a truncated artifact to ship.
func WriteFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
