package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseFile checks that no file makes the parser panic, and that every
// file it accepts builds its targets: what the file check lets through, the
// rule check can index without ambiguity.
func FuzzParseFile(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "three-targets.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	mistakes, err := os.ReadFile(filepath.Join("testdata", "newcomer-mistakes.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mistakes)
	providers, err := os.ReadFile(filepath.Join("testdata", "four-providers.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(providers)
	f.Add([]byte("targets:\n  - {name: a, provider: fastly, service: SU1Z0isxPaozGVK, token_env: T, domains: [a.example.com], channels: [c], distribution: E1}\n"))
	f.Add([]byte("targets: &t\n  - {name: a, distribution: E1, channels: *t}\n"))
	f.Add([]byte("targets:\n  - name: a\n    name: b\n---\n- x\n"))
	f.Add([]byte("targets:\n  - name: a\n    distribution: E1\n    channels: [c]\n"))
	f.Add([]byte("default: x\ntargets: []\n"))
	f.Add([]byte("targets:\n  - {name: help, distribution: E1, channels: [c]}\n"))
	f.Add([]byte("targets:\n  - {name: a, distribution: E1, channels: [c], domains: [A.example.com]}\n  - {name: b, distribution: E2, channels: [c], domains: [a.example.com]}\ndefault: a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := (Config{File: file}).Targets(); err != nil {
			t.Fatalf("ParseFile accepted a file whose targets do not build: %v\n%s", err, data)
		}
	})
}
