package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/deploy/internal/gobuild"
	"github.com/cdnpurge/cdnpurge/internal/buildtags"
)

// maxZipSize is the product target for the arm64 deployment package.
const maxZipSize = 5_000_000 // bytes

// TestBuildReproducible builds the arm64 zip twice, in two directories, and
// requires identical bytes: what is uploaded can then be checked against a
// rebuild of the same commit. The second build mostly hits the build cache.
func TestBuildReproducible(t *testing.T) {
	first := mustBuild(t, "arm64")
	second := mustBuild(t, "arm64")
	a, b := mustRead(t, first.Path), mustRead(t, second.Path)
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds differ: %x (%d bytes) and %x (%d bytes)", first.SHA256, len(a), second.SHA256, len(b))
	}
	t.Logf("arm64 function.zip: %d bytes (%.2f MB), sha256 %x", first.Size, float64(first.Size)/1e6, first.SHA256)
	if first.Size >= maxZipSize {
		t.Errorf("arm64 zip is %d bytes, want under %d (the product target)", first.Size, maxZipSize)
	}
	checkZip(t, a, elf.EM_AARCH64)
}

// TestLambdaLinksNoPrometheus lists the packages the Lambda build links,
// with the tags buildZip gives, and fails on any of serve's Prometheus
// client or its protobuf encoding: they are what took the zip over 5 MB.
func TestLambdaLinksNoPrometheus(t *testing.T) {
	root, err := gobuild.ModuleRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags", strings.Join(buildtags.Lambda(), ","), gobuild.MainPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), out)
	}
	for _, pkg := range deps {
		if strings.HasPrefix(pkg, "github.com/prometheus/") || strings.HasPrefix(pkg, "google.golang.org/protobuf/") {
			t.Errorf("the Lambda build links %s", pkg)
		}
	}
}

// TestBuildAMD64 checks the other architecture Lambda runs. It compiles the
// whole dependency tree once more, so -short skips it.
func TestBuildAMD64(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips compiling a second architecture")
	}
	a := mustBuild(t, "amd64")
	t.Logf("amd64 function.zip: %d bytes (%.2f MB)", a.Size, float64(a.Size)/1e6)
	checkZip(t, mustRead(t, a.Path), elf.EM_X86_64)
}

func TestBuildRejectsUnknownArch(t *testing.T) {
	if _, err := buildZip(t.Context(), "386", filepath.Join(t.TempDir(), "function.zip"), ""); err == nil {
		t.Fatal("buildZip accepted -arch 386")
	}
}

// TestBuildShipsTargetsFile checks -config: a good file lands in the zip as
// cdnpurge.yaml, byte for byte, and a bad one stops the build before it
// compiles anything, naming the file and line.
func TestBuildShipsTargetsFile(t *testing.T) {
	good := filepath.Join("..", "..", "internal", "config", "testdata", "three-targets.yaml")
	var buf bytes.Buffer
	if err := writeZip(&buf, []byte("\x7fELF not really"), mustRead(t, good)); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[1].Name != configName || zr.File[1].Mode().Perm() != 0o644 {
		t.Fatalf("zip entries: %v", zr.File)
	}
	rc, _ := zr.File[1].Open()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, mustRead(t, good)) {
		t.Fatal("the targets file in the zip differs from the one given")
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("default: www\ntargets:\n  - name: www\n    distribution: nope\n    channels: [x]\n"), 0o644)
	_, err = buildZip(t.Context(), "arm64", filepath.Join(t.TempDir(), "function.zip"), bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4: targets.0.distribution") {
		t.Fatalf("bad targets file: %v", err)
	}
}

// TestWriteZipDeterministic checks the zip writer alone, without compiling.
func TestWriteZipDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if err := writeZip(buf, []byte("\x7fELF not really"), []byte("targets: []\n")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same input, different zips")
	}
}

// mustBuild builds the zip for arch into a fresh temporary directory.
func mustBuild(tb testing.TB, arch string) artifact {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "function.zip")
	a, err := buildZip(tb.Context(), arch, out, "")
	if err != nil {
		tb.Fatal(err)
	}
	if a.Path != out {
		tb.Fatalf("artifact path %q, want %q", a.Path, out)
	}
	return a
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkZip requires exactly one entry, bootstrap, executable, with the fixed
// time, holding a Linux ELF executable for machine.
func checkZip(t *testing.T, data []byte, machine elf.Machine) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		names := make([]string, 0, len(zr.File))
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip entries = %q, want exactly [bootstrap]", names)
	}
	f := zr.File[0]
	if mode := f.Mode(); !mode.IsRegular() || mode.Perm() != 0o755 {
		t.Errorf("bootstrap mode = %v, want -rwxr-xr-x", mode)
	}
	if !f.Modified.Equal(zipTime) {
		t.Errorf("bootstrap modified %v, want the fixed %v", f.Modified, zipTime)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	bin, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if ef.Machine != machine || ef.Type != elf.ET_EXEC || ef.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("bootstrap is %v %v %v, want %v ET_EXEC for Linux", ef.Machine, ef.Type, ef.OSABI, machine)
	}
	// A static binary has no interpreter: it needs nothing from the image.
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("bootstrap is dynamically linked (has PT_INTERP); want CGO_ENABLED=0")
		}
	}
}
