package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionLine is what `cdnpurge --version` prints: the module version, the
// VCS revision when the build stamped one ("devel" otherwise), and the
// platform, from the build information the Go toolchain embeds.
func versionLine() string {
	return formatVersion(debug.ReadBuildInfo())
}

// formatVersion words the build information info (ok false: none, as in a
// binary built without module support).
func formatVersion(info *debug.BuildInfo, ok bool) string {
	version, revision := "devel", "devel"
	if ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && revision != "devel" {
			revision += "-dirty"
		}
	}
	return fmt.Sprintf("cdnpurge %s (%s, %s/%s)", version, revision, runtime.GOOS, runtime.GOARCH)
}
