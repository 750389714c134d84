// Command image builds cdnpurge's container image offline, with no Docker
// and no registry: it cross-compiles the static binary for each
// architecture (the build step of deploy/build, shared through
// deploy/internal/gobuild) and assembles, with go-containerregistry, the
// image the Dockerfile describes: an empty base, a layer with the machine's
// CA bundle, a layer with the binary, one manifest per architecture in an
// OCI image index. It writes the index as an OCI image layout in a tar.
//
// Usage, from anywhere in the module:
//
//	go run ./deploy/image [-o cdnpurge-image.tar] [-arch amd64,arm64] [-ref cdnpurge:latest]
//
// It prints each architecture's manifest digest and sizes, and the index's
// digest. docs/operate/image.md says how to load, push and run it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cdnpurge/cdnpurge/deploy/internal/gobuild"
)

// defaultCABundle is where Debian's ca-certificates package writes the
// bundle.
const defaultCABundle = "/etc/ssl/certs/ca-certificates.crt"

func main() {
	out := flag.String("o", "cdnpurge-image.tar", "path of the OCI layout tarball to write")
	arches := flag.String("arch", "amd64,arm64", "architectures, comma-separated: amd64, arm64")
	ref := flag.String("ref", "cdnpurge:latest", "the name index.json gives the image (docker load tags it so; its tag is skopeo's oci-archive:FILE:TAG)")
	ca := flag.String("ca", defaultCABundle, "the CA bundle to ship (from the ca-certificates package)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./deploy/image [-o cdnpurge-image.tar] [-arch amd64,arm64] [-ref cdnpurge:latest] [-ca FILE]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := build(ctx, options{Out: *out, Arches: strings.Split(*arches, ","), Ref: *ref, CABundle: *ca})
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Print(r)
}

// options says what build makes.
type options struct {
	Out      string
	Arches   []string
	Ref      string
	CABundle string
}

// result describes a written image tarball.
type result struct {
	Path   string
	Size   int64
	Index  v1.Hash
	Images []Image
}

// String is what the command prints.
func (r result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (OCI image layout, tar: %.2f MB)\n  index        %s\n", r.Path, float64(r.Size)/1e6, r.Index)
	for _, im := range r.Images {
		d, _ := im.Image.Digest()
		fmt.Fprintf(&b, "  linux/%-6s %s  %.2f MB compressed, %.2f MB uncompressed\n", im.Arch, d, float64(im.Compressed)/1e6, float64(im.Uncompressed)/1e6)
	}
	return b.String()
}

// build compiles the binary for each architecture, assembles the images and
// writes their index to opts.Out.
func build(ctx context.Context, opts options) (result, error) {
	if len(opts.Arches) == 0 {
		return result{}, fmt.Errorf("no architecture")
	}
	for i, a := range opts.Arches {
		if a != "amd64" && a != "arm64" {
			return result{}, fmt.Errorf("-arch %q: want amd64 or arm64", a)
		}
		if slices.Contains(opts.Arches[:i], a) {
			return result{}, fmt.Errorf("-arch: %s twice", a)
		}
	}
	caBundle, err := os.ReadFile(opts.CABundle)
	if err != nil {
		return result{}, fmt.Errorf("CA bundle (install Debian's ca-certificates, or give -ca): %w", err)
	}
	tmp, err := os.MkdirTemp("", "cdnpurge-image-build-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(tmp)
	var images []Image
	for _, arch := range opts.Arches {
		bin := filepath.Join(tmp, "cdnpurge-"+arch)
		// The revision is stamped so that `cdnpurge --version` in the image
		// names its commit.
		if err := gobuild.Build(ctx, gobuild.Options{GOARCH: arch, StampVCS: true, Out: bin}); err != nil {
			return result{}, err
		}
		binary, err := os.ReadFile(bin)
		if err != nil {
			return result{}, err
		}
		im, err := buildImage(arch, binary, caBundle)
		if err != nil {
			return result{}, fmt.Errorf("linux/%s: %w", arch, err)
		}
		images = append(images, im)
	}
	idx := buildIndex(images)
	var buf bytes.Buffer
	if err := writeLayoutTar(&buf, idx, opts.Ref); err != nil {
		return result{}, err
	}
	if err := gobuild.WriteFileAtomic(opts.Out, buf.Bytes()); err != nil {
		return result{}, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return result{}, err
	}
	return result{Path: opts.Out, Size: int64(buf.Len()), Index: digest, Images: images}, nil
}
