package main

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion runs `cdnpurge --version` and `cdnpurge version`: one line,
// exit 0, nothing on stderr.
func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^cdnpurge \S+ \(\S+, ` + runtime.GOOS + "/" + runtime.GOARCH + `\)\n$`)
	for _, arg := range []string{"--version", "version", "-version"} {
		t.Run(arg, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, arg)
			if code != 0 || errOut != "" || !line.MatchString(out) {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
	if !strings.Contains(usage, "--version") {
		t.Error("the usage text does not name --version")
	}
}

// TestFormatVersion words the build information as a stamped release, a
// stamped work tree with changes, and a build with nothing stamped.
func TestFormatVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release, stamped", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}}, true, "cdnpurge v1.4.0 (0123abc, " + platform + ")"},
		{"work tree with changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}}, true, "cdnpurge devel (0123abc-dirty, " + platform + ")"},
		{"nothing stamped", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "cdnpurge devel (devel, " + platform + ")"},
		{"no build information", nil, false, "cdnpurge devel (devel, " + platform + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion(tt.info, tt.ok); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
