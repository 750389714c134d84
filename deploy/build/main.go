// Command build makes the Lambda deployment package: it cross-compiles
// ./cmd/cdnpurge for Linux as a static binary named bootstrap (what the
// provided.al2023 runtime runs) and writes it into a reproducible zip, so
// that the same source and toolchain give the same bytes, and so the same
// sha256 as Lambda's CodeSha256.
//
// Usage, from anywhere in the module:
//
//	go run ./deploy/build [-arch arm64|amd64] [-o function.zip]
//
// It prints the zip's path, size and sha256.
package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/cdnpurge/cdnpurge/deploy/internal/gobuild"
	"github.com/cdnpurge/cdnpurge/internal/buildtags"
	"github.com/cdnpurge/cdnpurge/internal/config"
)

// binaryName is the name the provided.al2023 runtime executes.
const binaryName = "bootstrap"

// zipTime is every entry's modification time: a fixed one, so that the zip
// does not change with the time of the build. 1980-01-01 is the earliest
// time the zip format's MS-DOS fields can hold.
var zipTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

func main() {
	arch := flag.String("arch", "arm64", "target architecture: arm64 (Graviton, what the template deploys) or amd64")
	out := flag.String("o", "function.zip", "path of the zip to write")
	configFile := flag.String("config", "", "a targets file (YAML) to check and ship in the zip as "+configName+"; deploy with TargetsConfigFile="+configPathInLambda)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./deploy/build [-arch arm64|amd64] [-o function.zip] [-config cdnpurge.yaml]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a, err := buildZip(ctx, *arch, *out, *configFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	fmt.Print(a)
	if *configFile != "" {
		fmt.Printf("  targets %s, checked (deploy with TargetsConfigFile=%s)\n", configName, configPathInLambda)
	}
}

// artifact describes a written zip.
type artifact struct {
	Path   string
	Size   int64
	SHA256 [sha256.Size]byte
}

// String is what the command prints: the hex digest for sha256sum, the
// base64 one to compare with `aws lambda get-function` (CodeSha256).
func (a artifact) String() string {
	return fmt.Sprintf("%s\n  size    %d bytes (%.2f MB)\n  sha256  %s\n  CodeSha256 (Lambda) %s\n",
		a.Path, a.Size, float64(a.Size)/1e6,
		hex.EncodeToString(a.SHA256[:]), base64.StdEncoding.EncodeToString(a.SHA256[:]))
}

// The targets file in the zip, and where Lambda unpacks it: the function's
// code lives in /var/task (LAMBDA_TASK_ROOT).
const (
	configName         = "cdnpurge.yaml"
	configPathInLambda = "/var/task/" + configName
)

// buildZip compiles the binary for linux/arch and writes the zip to out,
// with the targets file configFile when it is not empty. The file is checked
// first, as the function will check it at start, so that a mistake stops
// the build instead of every cold start.
func buildZip(ctx context.Context, arch, out, configFile string) (artifact, error) {
	if arch != "arm64" && arch != "amd64" {
		return artifact{}, fmt.Errorf("-arch %q: want arm64 or amd64 (the architectures Lambda runs)", arch)
	}
	var targets []byte
	if configFile != "" {
		if _, err := config.LoadFile(configFile); err != nil {
			return artifact{}, err
		}
		var err error
		if targets, err = os.ReadFile(configFile); err != nil {
			return artifact{}, err
		}
	}
	tmp, err := os.MkdirTemp("", "cdnpurge-build-")
	if err != nil {
		return artifact{}, err
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, binaryName)
	// The Lambda's tags (buildtags.Lambda): lambda.norpc drops
	// aws-lambda-go's legacy RPC mode, which only the retired go1.x runtime
	// used; cdnpurge_lambda leaves out serve's Prometheus client, which the
	// Lambda (it writes EMF) never uses and which would take the zip over
	// 5 MB. Without VCS stamping a commit that touches only docs, or a
	// dirty work tree, gives the same zip (and so no needless Lambda
	// update).
	if err := gobuild.Build(ctx, gobuild.Options{GOARCH: arch, Tags: buildtags.Lambda(), Out: bin}); err != nil {
		return artifact{}, err
	}

	binary, err := os.ReadFile(bin)
	if err != nil {
		return artifact{}, err
	}
	var buf bytes.Buffer
	if err := writeZip(&buf, binary, targets); err != nil {
		return artifact{}, err
	}
	if err := gobuild.WriteFileAtomic(out, buf.Bytes()); err != nil {
		return artifact{}, err
	}
	return artifact{Path: out, Size: int64(buf.Len()), SHA256: sha256.Sum256(buf.Bytes())}, nil
}

// writeZip writes a zip holding bootstrap, with a fixed time and mode 0755,
// and, when targets is not nil, the targets file (mode 0644), so that the
// bytes depend only on the binary and the file.
func writeZip(w io.Writer, binary, targets []byte) error {
	zw := zip.NewWriter(w)
	// Best compression: the zip is built once and downloaded at every cold
	// start, and Lambda's limit counts its compressed size.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	// The runtime executes bootstrap: without the executable bits Lambda
	// fails every invoke with "permission denied".
	if err := addZipEntry(zw, binaryName, 0o755, binary); err != nil {
		return err
	}
	if targets != nil {
		if err := addZipEntry(zw, configName, 0o644, targets); err != nil {
			return err
		}
	}
	return zw.Close()
}

// addZipEntry adds one file with the fixed time zipTime.
func addZipEntry(zw *zip.Writer, name string, mode os.FileMode, data []byte) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
	h.SetMode(mode)
	f, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}
