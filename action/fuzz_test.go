package action

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeCdnpurge is a stand-in for the cdnpurge binary that records its
// arguments, NUL-separated, in $FAKE_ARGS and answers as a created
// invalidation does.
const fakeCdnpurge = `#!/usr/bin/env bash
printf '%s\0' "$@" >"$FAKE_ARGS"
printf '{"id":"IFAKE0000000","status":"Completed"}\n'
`

// wantItems splits paths as run.sh documents: several lines, one item a
// line without the spaces and tabs around it, blank lines dropped; a single
// line, split on spaces and tabs. Carriage returns are dropped first.
func wantItems(paths string) []string {
	paths = strings.ReplaceAll(paths, "\r", "")
	if !strings.Contains(paths, "\n") {
		return strings.FieldsFunc(paths, func(r rune) bool { return r == ' ' || r == '\t' })
	}
	var items []string
	for line := range strings.Lines(paths) {
		if line = strings.Trim(line, " \t\n"); line != "" {
			items = append(items, line)
		}
	}
	return items
}

// FuzzScriptInputs runs run.sh, with the stand-in for cdnpurge, on paths
// and a caller reference from outside, and checks that cdnpurge is given
// each item as one argument, after "--", and the reference as written:
// whatever the input holds, nothing of it is run, split otherwise or read
// as a flag.
func FuzzScriptInputs(f *testing.F) {
	for _, seed := range []struct{ paths, reference string }{
		{"/index.html", ""},
		{"/a /b\t/c", "deploy-1"},
		{"/a b.html\n/c d.html\n", "repo/run/1"},
		{"\n\n/x\n  \n", "  padded  "},
		{"/$(touch pwned)\n/`id`\n/${HOME}\n/*", "$(id)"},
		{"--wait\n-x\n--", "--json"},
		{"/a\r\n/b\r\n", "ref"},
		{`/q"u'o\n/back\slash`, `a'b"c\d`},
	} {
		f.Add(seed.paths, seed.reference)
	}
	needBash(f)
	bin := filepath.Join(f.TempDir(), "cdnpurge")
	if err := os.WriteFile(bin, []byte(fakeCdnpurge), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, paths, reference string) {
		if strings.ContainsRune(paths+reference, 0) {
			t.Skip("an environment variable cannot hold NUL")
		}
		argsFile := filepath.Join(t.TempDir(), "args")
		s := &stand{bin: bin, workspace: t.TempDir(), vars: map[string]string{"FAKE_ARGS": argsFile}}
		r := s.run(t, map[string]string{"paths": paths, "distribution": "EDFDVBD6EXAMPLE", "caller-reference": reference})
		items := wantItems(paths)
		ref := strings.Trim(reference, " \t\n")
		if len(items) == 0 || strings.ContainsFunc(ref, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			if r.code != 2 {
				t.Fatalf("want the input refused (exit 2); %s", r)
			}
			if _, err := os.Stat(argsFile); err == nil {
				t.Fatal("cdnpurge ran on a refused input")
			}
			return
		}
		if r.code != 0 {
			t.Fatalf("want exit 0; %s", r)
		}
		raw, err := os.ReadFile(argsFile)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		if len(args) < 3 || !strings.HasPrefix(args[2], "--caller-reference=") {
			t.Fatalf("cdnpurge got %q, want --caller-reference= third", args)
		}
		if ref == "" {
			ref = strings.TrimPrefix(args[2], "--caller-reference=")
		}
		want := append([]string{"invalidate", "--json", "--caller-reference=" + ref, "--distribution=EDFDVBD6EXAMPLE", "--wait", "--timeout=15m", "--"}, items...)
		if !slices.Equal(args, want) {
			t.Fatalf("cdnpurge got %q, want %q", args, want)
		}
		if r.outputs["invalidation-id"] != "IFAKE0000000" {
			t.Errorf("outputs %v", r.outputs)
		}
	})
}
