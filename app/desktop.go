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
	// Help is set by -h or --help: print DesktopUsage instead of opening the window.
	Help bool
}

// DesktopUsage is the desktop app's -h text.
const DesktopUsage = `Usage: janus-desktop [IMAGE...]

Opens the Janus Desktop window; IMAGE files are attached to the first chat.
When Janus Desktop already runs on the same data folder, its window comes
forward instead, with the IMAGE files attached.

Environment:
  JANUS_MODELS   folders to search for models (PATH-style), instead of the app's
                 models folder and the Hugging Face cache
  JANUS_MODEL    the model folder to load at start (default: the last one used)
  JANUS_DATA     the folder for the history and settings
  HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE
                 downloads, as Hugging Face's own tools read them

The command-line tool, janus, answers, generates, downloads and serves the same models.
`

// DesktopOptionsFrom reads the desktop app's start options from env and its arguments
// (without the program name). Arguments starting with "-" other than -h and --help are
// skipped: macOS adds -psn_… to apps started from Finder.
func DesktopOptionsFrom(env Env, args []string) DesktopOptions {
	o := DesktopOptions{StoreDir: env.get("JANUS_DATA"), ModelDir: env.get("JANUS_MODEL")}
	for _, a := range args {
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			o.Help = true
		case a != "" && !strings.HasPrefix(a, "-"):
			o.Attach = append(o.Attach, a)
		}
	}
	return o
}
