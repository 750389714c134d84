package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// scratch holds what the tests build once: the image tarball and the
// layout unpacked from it.
var scratch string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cdnpurge-image-test-")
	if err != nil {
		panic(err)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is the image the tests look into, built for both architectures.
type built struct {
	result result
	// layout is the OCI layout unpacked from the tarball, as a tool that
	// reads it sees it.
	layout string
	// index is the image index that index.json names.
	index v1.ImageIndex
}

var (
	buildOnce sync.Once
	theBuild  built
	buildErr  error
)

// mustBuilt builds the image once per test run (the two cross-compiles
// take most of it) and returns it read back from its tarball.
func mustBuilt(tb testing.TB) built {
	tb.Helper()
	buildOnce.Do(func() {
		if _, err := os.Stat(defaultCABundle); err != nil {
			buildErr = errors.New("no CA bundle at " + defaultCABundle + ": install Debian's ca-certificates (.ci/run does)")
			return
		}
		out := filepath.Join(scratch, "cdnpurge-image.tar")
		theBuild.result, buildErr = build(tb.Context(), options{Out: out, Arches: []string{"amd64", "arm64"}, Ref: "cdnpurge:test", CABundle: defaultCABundle})
		if buildErr != nil {
			return
		}
		theBuild.layout = filepath.Join(scratch, "layout")
		if buildErr = untar(out, theBuild.layout); buildErr != nil {
			return
		}
		var top v1.ImageIndex
		if top, buildErr = layout.ImageIndexFromPath(theBuild.layout); buildErr != nil {
			return
		}
		theBuild.index, buildErr = top.ImageIndex(theBuild.result.Index)
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return theBuild
}

// untar unpacks the regular files and directories of the tar at path into
// dir, refusing names that would leave it.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(name, filepath.Clean(dir)+string(filepath.Separator)) {
			return errors.New("tar entry outside the directory: " + h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(name, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				if err = os.MkdirAll(filepath.Dir(name), 0o755); err == nil {
					err = os.WriteFile(name, data, os.FileMode(h.Mode)&0o777)
				}
			}
		default:
			err = errors.New("unexpected tar entry type in " + h.Name)
		}
		if err != nil {
			return err
		}
	}
}

// images returns the index's images by architecture.
func (b built) images(tb testing.TB) map[string]v1.Image {
	tb.Helper()
	im, err := b.index.IndexManifest()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		img, err := b.index.Image(d.Digest)
		if err != nil {
			tb.Fatal(err)
		}
		out[d.Platform.Architecture] = img
	}
	return out
}

// TestIndex: the tarball's layout names one index, which holds exactly
// linux/amd64 and linux/arm64, each an image whose config runs cdnpurge
// serve on 8080 as the nonroot user.
func TestIndex(t *testing.T) {
	b := mustBuilt(t)
	raw, err := os.ReadFile(filepath.Join(b.layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" ||
		top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" || top.Manifests[0].Annotations["io.containerd.image.name"] != "cdnpurge:test" {
		t.Fatalf("index.json does not name one image index as cdnpurge:test:\n%s", raw)
	}
	if top.Manifests[0].Digest != b.result.Index {
		t.Errorf("index.json names %s, the builder printed %s", top.Manifests[0].Digest, b.result.Index)
	}
	idx := b.index
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		if d.MediaType != "application/vnd.oci.image.manifest.v1+json" || d.ArtifactType != "" {
			t.Errorf("%s: media type %s, artifact type %q", d.Platform, d.MediaType, d.ArtifactType)
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	for _, d := range im.Manifests {
		t.Run(d.Platform.String(), func(t *testing.T) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != d.Platform.Architecture {
				t.Errorf("config is for %s/%s", cf.OS, cf.Architecture)
			}
			c := cf.Config
			if uid, _, _ := strings.Cut(c.User, ":"); uid == "" || uid == "0" || uid == "root" {
				t.Errorf("runs as %q: root", c.User)
			}
			if c.User != "65532:65532" {
				t.Errorf("User %q, want 65532:65532", c.User)
			}
			if !slices.Equal(c.Entrypoint, []string{"cdnpurge"}) || !slices.Equal(c.Cmd, []string{"serve", "--addr", ":8080"}) {
				t.Errorf("Entrypoint %q, Cmd %q", c.Entrypoint, c.Cmd)
			}
			if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
				t.Errorf("ExposedPorts %v, want 8080/tcp", c.ExposedPorts)
			}
			if !slices.Equal(c.Env, []string{"PATH=/usr/local/bin"}) {
				t.Errorf("Env %q", c.Env)
			}
			if !cf.Created.Equal(time.Unix(0, 0)) {
				t.Errorf("created %s, want the fixed epoch", cf.Created)
			}
		})
	}
}

// entry is one tar entry as the layer test compares it.
type entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	ModTime  int64
}

// TestLayers: two layers holding exactly the CA bundle and the binary with
// their directories, owned by root at the fixed time; the bundle is the
// machine's, the binary a static ELF for the image's architecture, 0755.
func TestLayers(t *testing.T) {
	b := mustBuilt(t)
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	caBundle, err := os.ReadFile(defaultCABundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := func(name string) entry { return entry{name, tar.TypeDir, 0o755, 0, 0, 0} }
	want := [][]entry{
		{dir("etc/"), dir("etc/ssl/"), dir("etc/ssl/certs/"), {"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0, 0, 0}},
		{dir("usr/"), dir("usr/local/"), dir("usr/local/bin/"), {"usr/local/bin/cdnpurge", tar.TypeReg, 0o755, 0, 0, 0}},
	}
	for arch, img := range b.images(t) {
		t.Run(arch, func(t *testing.T) {
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != len(want) {
				t.Fatalf("%d layers, want %d", len(layers), len(want))
			}
			for i, l := range layers {
				got, files := mustReadLayer(t, l)
				if !slices.Equal(got, want[i]) {
					t.Errorf("layer %d holds\n%v\nwant\n%v", i, got, want[i])
				}
				if ca, ok := files["etc/ssl/certs/ca-certificates.crt"]; ok && !bytes.Equal(ca, caBundle) {
					t.Error("the CA bundle is not the machine's")
				}
				if bin, ok := files["usr/local/bin/cdnpurge"]; ok {
					checkStaticELF(t, bin, machines[arch])
				}
			}
		})
	}
}

// mustReadLayer lists a layer's entries and returns its regular files'
// contents by name.
func mustReadLayer(tb testing.TB, l v1.Layer) ([]entry, map[string][]byte) {
	tb.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	var entries []entry
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, files
		}
		if err != nil {
			tb.Fatal(err)
		}
		entries = append(entries, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix()})
		if h.Typeflag == tar.TypeReg {
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// checkStaticELF checks that bin is an executable ELF for machine with no
// program interpreter: statically linked, so it runs on an empty base.
func checkStaticELF(t *testing.T, bin []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("ELF for %s, type %s; want %s, ET_EXEC", f.Machine, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}

// mustBinary extracts the binary of the image for arch from its layer
// into a temporary directory and returns its path.
func mustBinary(tb testing.TB, b built, arch string) string {
	tb.Helper()
	img, ok := b.images(tb)[arch]
	if !ok {
		tb.Fatalf("no image for %s", arch)
	}
	layers, err := img.Layers()
	if err != nil {
		tb.Fatal(err)
	}
	_, files := mustReadLayer(tb, layers[len(layers)-1])
	bin, ok := files[strings.TrimPrefix(BinaryPath, "/")]
	if !ok {
		tb.Fatalf("no %s in the last layer", BinaryPath)
	}
	path := filepath.Join(tb.TempDir(), "cdnpurge")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestBinaryRuns takes the binary of the image for this machine out of its
// layer and runs it as the image would, in an environment with nothing but
// PATH and a minimal configuration: --version answers, serve binds the
// port PORT gives (0: a free one), logs JSON lines to stdout, answers
// /healthz, and exits 0 on SIGTERM.
func TestBinaryRuns(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the image's binaries run on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := mustBinary(t, mustBuilt(t), runtime.GOARCH)

	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	if !regexp.MustCompile(`^cdnpurge \S+ \(\S+, linux/` + runtime.GOARCH + `\)\n$`).Match(out) {
		t.Errorf("--version printed %q", out)
	}

	const secret = "image-test-signing-secret-012345" // 32 characters, as Slack's are
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:8080")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"PATH=" + PATH, "PORT=0",
		config.EnvDistributionID + "=" + testutil.DistributionID, config.EnvChannels + "=deploys", config.EnvSigningSecret + "=" + secret,
		// /healthz calls no CDN: the emulator only makes the endpoint valid.
		config.EnvCloudFrontEndpoint + "=" + testutil.MustEmulator(t, time.Minute), config.EnvDevAllowLoopback + "=1",
	}
	p := testutil.MustStartProcess(t, cmd)
	addr, _ := p.Next(t, "serving Slack commands")["addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:8080" {
		t.Errorf("serve listens on %s, want 127.0.0.1 and the free port PORT=0 asks for", addr)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t); err != nil {
		t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, p.Stderr())
	}
	logs := p.Stdout()
	if !strings.Contains(logs, `"msg":"PORT replaces the port of --addr"`) || !strings.Contains(logs, `"msg":"shutting down"`) {
		t.Errorf("the log lacks the PORT line or the shutdown:\n%s", logs)
	}
	if strings.Contains(logs+p.Stderr(), secret) {
		t.Error("serve's output shows the signing secret")
	}
}

// TestReproducible: the same binary and CA bundle give the same image
// digest, whenever it is built.
func TestReproducible(t *testing.T) {
	var digests []v1.Hash
	for range 2 {
		im, err := buildImage("arm64", []byte("not really a binary"), []byte("not really a bundle"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := im.Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		var buf bytes.Buffer
		if err := writeLayoutTar(&buf, buildIndex([]Image{im}), "cdnpurge:latest"); err != nil {
			t.Fatal(err)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds, two digests: %v", digests)
	}
}

// TestBuildRefuses: architectures the image is not for, twice the same
// one, or no CA bundle stop the build before it compiles anything.
func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name    string
		opts    options
		wantErr string
	}{
		{"386", options{Arches: []string{"386"}, CABundle: defaultCABundle}, `-arch "386": want amd64 or arm64`},
		{"empty", options{Arches: []string{""}, CABundle: defaultCABundle}, `-arch "": want amd64 or arm64`},
		{"twice", options{Arches: []string{"amd64", "amd64"}, CABundle: defaultCABundle}, "amd64 twice"},
		{"none", options{CABundle: defaultCABundle}, "no architecture"},
		{"no CA bundle", options{Arches: []string{"amd64"}, CABundle: filepath.Join(t.TempDir(), "missing.crt")}, "install Debian's ca-certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Out = filepath.Join(t.TempDir(), "image.tar")
			_, err := build(t.Context(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("build = %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(tt.opts.Out); !errors.Is(err, os.ErrNotExist) {
				t.Error("a refused build wrote its output")
			}
		})
	}
}

func TestRefAnnotations(t *testing.T) {
	tests := []struct{ ref, tag string }{
		{"cdnpurge:latest", "latest"},
		{"cdnpurge", "latest"},
		{"ghcr.io/acme/cdnpurge:v1.2.0", "v1.2.0"},
		{"127.0.0.1:5000/cdnpurge", "latest"},
		{"127.0.0.1:5000/cdnpurge:dev", "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			a := refAnnotations(tt.ref)
			if a["org.opencontainers.image.ref.name"] != tt.tag || a["io.containerd.image.name"] != tt.ref {
				t.Errorf("refAnnotations(%q) = %v, want tag %q", tt.ref, a, tt.tag)
			}
		})
	}
}
