package app

import "runtime/debug"

// Version is the version to show: linked (set when the binary was built: -ldflags -X, or
// the app's metadata) when not empty, else "dev" with the commit Go recorded when it built
// from a git checkout, so that a bug report names its build.
func Version(linked string) string {
	if linked != "" {
		return linked
	}
	v := "dev"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev string
	modified := false
	for _, s := range bi.Settings {
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
