package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The facts of the image, the same as the Dockerfile's final stage states
// (TestDockerfileMatchesBuilder compares them).
const (
	// BinaryPath is where the binary sits in the image.
	BinaryPath = "/usr/local/bin/cdnpurge"
	// CABundlePath is where the CA certificates sit, where Go's crypto/x509
	// looks first on Linux.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// User is distroless's nonroot user and group: not root, and no
	// /etc/passwd needed for a numeric one.
	User = "65532:65532"
	// Port is the port `serve` listens on by default, as the config's
	// ExposedPorts names it.
	Port = "8080/tcp"
	// PATH is the image's only environment variable.
	PATH = "/usr/local/bin"
)

// Entrypoint and Cmd are the image's: `docker run IMAGE` serves on :8080,
// `docker run IMAGE invalidate /x` runs any other command.
var (
	Entrypoint = []string{"cdnpurge"}
	Cmd        = []string{"serve", "--addr", ":8080"}
)

// epoch is every time in the image (files, history, creation): a fixed
// one, so that the same binary gives the same digest.
var epoch = time.Unix(0, 0).UTC()

// Config is the image's run configuration, for every architecture.
func Config() v1.Config {
	return v1.Config{
		User:         User,
		Entrypoint:   append([]string(nil), Entrypoint...),
		Cmd:          append([]string(nil), Cmd...),
		ExposedPorts: map[string]struct{}{Port: {}},
		Env:          []string{"PATH=" + PATH},
	}
}

// file is one regular file of a layer.
type file struct {
	path string // absolute, in the image
	mode int64
	data []byte
}

// fileLayer returns a layer holding files and their parent directories,
// owned by root, with the fixed time epoch, and the size of its
// uncompressed tar.
func fileLayer(files ...file) (v1.Layer, int64, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		rel := strings.TrimPrefix(f.path, "/")
		var parents []string
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, 0, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, 0, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	raw := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		// gzip's default level: its best saves under 1% of the binary's
		// layer for three times the time. The compressed layer is kept, so
		// it is compressed once, not again for each use (digest, write).
		tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
	return layer, int64(len(raw)), err
}

// Image is one architecture's image and its sizes.
type Image struct {
	Arch  string
	Image v1.Image
	// Compressed is the size of its layers as pushed and pulled;
	// Uncompressed, as unpacked on a node.
	Compressed, Uncompressed int64
}

// buildImage assembles the image for linux/arch on an empty base: a layer
// with the CA bundle, a layer with the static binary, and Config.
func buildImage(arch string, binary, caBundle []byte) (Image, error) {
	ca, caSize, err := fileLayer(file{CABundlePath, 0o644, caBundle})
	if err != nil {
		return Image{}, err
	}
	bin, binSize, err := fileLayer(file{BinaryPath, 0o755, binary})
	if err != nil {
		return Image{}, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: ca, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "COPY ca-certificates.crt " + CABundlePath}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "COPY cdnpurge " + BinaryPath}},
	)
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = Config()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return Image{}, err
	}
	out := Image{Arch: arch, Image: img, Uncompressed: caSize + binSize}
	for _, l := range []v1.Layer{ca, bin} {
		n, err := l.Size()
		if err != nil {
			return Image{}, err
		}
		out.Compressed += n
	}
	return out, nil
}

// buildIndex puts the images in an OCI image index, one manifest per
// architecture.
func buildIndex(images []Image) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, im := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        noArtifactType{im.Image},
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: im.Arch}},
		})
	}
	return idx
}

// noArtifactType is an image whose index descriptor has no artifactType:
// go-containerregistry gives one (the config's media type) to every
// manifest, but the OCI image spec keeps the field for artifacts, and
// `docker buildx` writes none for an image.
type noArtifactType struct{ v1.Image }

// ArtifactType is empty: an image, not an artifact.
func (noArtifactType) ArtifactType() (string, error) { return "", nil }

// writeLayoutTar writes idx as an OCI image layout (index.json naming the
// index as ref, the blobs) packed in a tar, what `skopeo copy
// oci-archive:`, `docker load` and `podman load` read. go-containerregistry
// writes the layout as a directory only (its tarball package writes
// Docker's single-image format, which holds no index), so the directory is
// written to a temporary one and packed here, in name order with the fixed
// time epoch.
func writeLayoutTar(w io.Writer, idx v1.ImageIndex, ref string) error {
	dir, err := os.MkdirTemp("", "cdnpurge-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(refAnnotations(ref))); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == dir {
			return err
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("pack the OCI layout: %w", err)
	}
	return tw.Close()
}

// refAnnotations names the index in index.json: ref's tag for OCI tools
// (skopeo's oci-archive:FILE:TAG) and the whole reference for containerd
// and Docker, which tag the loaded image with it.
func refAnnotations(ref string) map[string]string {
	tag := "latest"
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		tag = ref[i+1:]
	}
	return map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          ref,
	}
}
