package gobuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBuildRejectsArch(t *testing.T) {
	for _, arch := range []string{"", "386", "riscv64"} {
		t.Run(arch, func(t *testing.T) {
			if err := Build(t.Context(), Options{GOARCH: arch, Out: filepath.Join(t.TempDir(), "cdnpurge")}); err == nil {
				t.Fatalf("Build accepted GOARCH %q", arch)
			}
		})
	}
}

// TestWriteFileAtomic writes over an existing file and leaves nothing
// else in the directory.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "artifact")
	for _, data := range []string{"first", "second"} {
		if err := WriteFileAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1", len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "artifact"), nil); err == nil {
		t.Error("WriteFileAtomic into a missing directory succeeded")
	}
}
