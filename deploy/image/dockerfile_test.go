package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stage is what the Dockerfile's final stage says about the image, read
// with BuildKit's own parser (what `docker build` reads it with).
type stage struct {
	From       string
	User       string
	Entrypoint []string
	Cmd        []string
	Expose     []string
	Env        map[string]string
	// Copies maps each COPY's destination to its source.
	Copies map[string]string
	// CopyFlags maps each COPY's destination to its flags (--from, --chmod).
	CopyFlags map[string][]string
}

// mustParseDockerfile parses the Dockerfile at path and returns its
// instructions, the final stage's read into a stage.
func mustParseDockerfile(tb testing.TB, path string) ([]*parser.Node, stage) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		tb.Fatal(err)
	}
	nodes := res.AST.Children
	last := -1
	for i, n := range nodes {
		if strings.EqualFold(n.Value, "from") {
			last = i
		}
	}
	if last < 0 {
		tb.Fatal("the Dockerfile has no FROM")
	}
	st := stage{From: nodes[last].Next.Value, Env: map[string]string{}, Copies: map[string]string{}, CopyFlags: map[string][]string{}}
	for _, n := range nodes[last+1:] {
		args := nodeArgs(n)
		switch strings.ToLower(n.Value) {
		case "user":
			st.User = args[0]
		case "entrypoint":
			if !n.Attributes["json"] {
				tb.Errorf("ENTRYPOINT in shell form runs under /bin/sh, which the image lacks: %s", n.Original)
			}
			st.Entrypoint = args
		case "cmd":
			if !n.Attributes["json"] {
				tb.Errorf("CMD in shell form: %s", n.Original)
			}
			st.Cmd = args
		case "expose":
			st.Expose = append(st.Expose, args...)
		case "env":
			// ENV's nodes come in threes: key, value, separator.
			for i := 0; i+1 < len(args); i += 3 {
				st.Env[args[i]] = args[i+1]
			}
		case "copy":
			if len(args) != 2 {
				tb.Errorf("COPY with other than one source: %s", n.Original)
				continue
			}
			st.Copies[args[1]] = args[0]
			st.CopyFlags[args[1]] = n.Flags
		default:
			tb.Errorf("the final stage has an instruction the builder does not mirror: %s", n.Original)
		}
	}
	return nodes, st
}

// nodeArgs returns an instruction's arguments.
func nodeArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

// TestDockerfileMatchesBuilder reads the Dockerfile's final stage and
// compares it with what deploy/image puts in the image: the user, the
// entrypoint, the cmd, the port, PATH, and where the binary and the CA
// bundle go. Its build stage cross-compiles a static binary.
func TestDockerfileMatchesBuilder(t *testing.T) {
	nodes, st := mustParseDockerfile(t, filepath.Join("..", "..", "Dockerfile"))
	cfg := Config()
	if st.From != "scratch" {
		t.Errorf("the final stage is FROM %s; the builder's base is empty (scratch)", st.From)
	}
	if st.User != cfg.User {
		t.Errorf("USER %q, builder %q", st.User, cfg.User)
	}
	if !slices.Equal(st.Entrypoint, cfg.Entrypoint) {
		t.Errorf("ENTRYPOINT %q, builder %q", st.Entrypoint, cfg.Entrypoint)
	}
	if !slices.Equal(st.Cmd, cfg.Cmd) {
		t.Errorf("CMD %q, builder %q", st.Cmd, cfg.Cmd)
	}
	var ports []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, strings.TrimSuffix(p, "/tcp"))
	}
	if !slices.Equal(st.Expose, ports) {
		t.Errorf("EXPOSE %q, builder %q", st.Expose, ports)
	}
	var env []string
	for k, v := range st.Env {
		env = append(env, k+"="+v)
	}
	if !slices.Equal(env, cfg.Env) {
		t.Errorf("ENV %q, builder %q", env, cfg.Env)
	}
	if src, ok := st.Copies[BinaryPath]; !ok || filepath.Base(src) != "cdnpurge" {
		t.Errorf("no COPY of the binary to %s: %v", BinaryPath, st.Copies)
	} else if !slices.Contains(st.CopyFlags[BinaryPath], "--chmod=0755") {
		t.Errorf("the binary's COPY does not set mode 0755: %v", st.CopyFlags[BinaryPath])
	}
	if src, ok := st.Copies[CABundlePath]; !ok || filepath.Base(src) != "ca-certificates.crt" {
		t.Errorf("no COPY of the CA bundle to %s: %v", CABundlePath, st.Copies)
	}
	if len(st.Copies) != 2 {
		t.Errorf("the final stage copies %d files; the builder's layers hold 2", len(st.Copies))
	}

	// The build stage: on the builder's platform, cross-compiling for the
	// target's, static and with local paths trimmed.
	from := nodes[0]
	if !strings.EqualFold(from.Value, "from") || !slices.Contains(from.Flags, "--platform=$BUILDPLATFORM") {
		t.Errorf("the build stage does not run on $BUILDPLATFORM: %s", from.Original)
	}
	var build string
	for _, n := range nodes {
		if strings.EqualFold(n.Value, "run") && strings.Contains(n.Original, "go build") {
			build = n.Original
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "-trimpath", "-s -w", "./cmd/cdnpurge"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step lacks %s: %s", want, build)
		}
	}
}
