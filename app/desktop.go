package app

import (
	"cmp"
	"errors"
	"log/slog"
	"strings"
)

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

// DesktopStart is what a start of the desktop app is to do, decided before any window
// exists: print Say and exit (help, or images handed to the window already running on the
// data folder), show Err and exit with an error (that window does not answer: a second one
// would load the model again and write over its history), or open the window with Options and
// Claim.
type DesktopStart struct {
	Options DesktopOptions
	// Claim is this process's claim on the data folder; nil when it could not be made (a
	// folder that cannot hold a socket: the window opens anyway).
	Claim *FolderClaim
	Say   string
	Exit  bool
	Err   error
}

// StartDesktop reads the command line and claims the data folder (ClaimDataFolder).
func StartDesktop(env Env, args []string) DesktopStart {
	s := DesktopStart{Options: DesktopOptionsFrom(env, args)}
	if s.Options.Help {
		s.Say, s.Exit = DesktopUsage, true
		return s
	}
	dir := cmp.Or(s.Options.StoreDir, env.DefaultStoreDir())
	if dir == "" {
		return s
	}
	claim, err := ClaimDataFolder(dir, Launch{Attach: s.Options.Attach})
	switch {
	case errors.Is(err, ErrAlreadyRunning):
		s.Say, s.Exit = "janus-desktop: "+err.Error()+"\n", true
	case errors.As(err, new(*BusyError)):
		slog.Info("hand over to the running window", "err", errors.Unwrap(err))
		s.Err = err
	case err != nil:
		slog.Warn("another window on this data folder is not ruled out", "err", err)
	}
	s.Claim = claim
	return s
}
