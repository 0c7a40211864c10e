package app

import "runtime/debug"

// Version is the version to show: linked (set when the binary was built: -ldflags -X, or
// the app's metadata), else "dev", followed by the commit Go recorded when it built from a
// git checkout, so that a bug report names its build.
func Version(linked string) string {
	var settings []debug.BuildSetting
	if bi, ok := debug.ReadBuildInfo(); ok {
		settings = bi.Settings
	}
	return versionFrom(linked, settings)
}

// Software is the program's name with its Version, "Janus Desktop 0.1.0 (2eed94e12345)", as
// the window's About says it and the pictures' Software text chunk records it.
func Software(linked string) string { return "Janus Desktop " + Version(linked) }

// versionFrom is Version with the build's settings given.
func versionFrom(linked string, settings []debug.BuildSetting) string {
	v := linked
	if v == "" {
		v = "dev"
	}
	var rev string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	v += " (" + rev[:min(12, len(rev))]
	if modified {
		v += ", modified"
	}
	return v + ")"
}
