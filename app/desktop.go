package app

import "strings"

// DesktopOptions are what the desktop app takes from its environment and command line at
// start; main passes them to the window.
type DesktopOptions struct {
	// StoreDir is JANUS_DATA, the history and settings folder ("": Env.DefaultStoreDir()).
	StoreDir string
	// ModelDir is JANUS_MODEL, the model folder to load at start ("": the last one used).
	ModelDir string
	// Attach are the image files named on the command line, attached to the first chat.
	Attach []string
}

// DesktopOptionsFrom reads the desktop app's start options from env and its arguments
// (without the program name). Arguments starting with "-" are skipped: macOS adds -psn_…
// to apps started from Finder, and the app has no flags of its own.
func DesktopOptionsFrom(env Env, args []string) DesktopOptions {
	o := DesktopOptions{StoreDir: env.get("JANUS_DATA"), ModelDir: env.get("JANUS_MODEL")}
	for _, a := range args {
		if a != "" && !strings.HasPrefix(a, "-") {
			o.Attach = append(o.Attach, a)
		}
	}
	return o
}
