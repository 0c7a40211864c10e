// Janus Desktop: chat about images and make new ones with DeepSeek's Janus models, on this
// computer. The window is package ui; this file only makes the Fyne app.
//
// Usage: janus-desktop [IMAGE...]; `janus-desktop -h` says which environment variables it
// reads (app.DesktopUsage).
package main

import (
	_ "embed"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	janus "github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/hub"
	"github.com/janus-desktop/janus/ui"
)

// icon is the window's icon when the app runs unpackaged (go run .); fyne package bundles it too.
//
//go:embed assets/icon.png
var icon []byte

func main() {
	env := janus.EnvFromOS()
	start := janus.StartDesktop(env, os.Args[1:])
	fmt.Print(start.Say)
	if start.Exit {
		return
	}
	a := app.NewWithID("io.github.janus-desktop.janus")
	a.SetIcon(fyne.NewStaticResource("icon.png", icon))
	if start.Err != nil {
		fail(a, start.Err)
	}
	w, err := ui.New(a, ui.Options{
		Env:        env,
		StoreDir:   start.Options.StoreDir,
		ModelDir:   start.Options.ModelDir,
		Attach:     start.Options.Attach,
		Version:    a.Metadata().Version,
		Downloader: hub.NewEnvDownloader(env),
		Claim:      start.Claim,
	})
	if err != nil {
		if start.Claim != nil {
			start.Claim.Close() // a start meanwhile opens its own window, not a wait on this one
		}
		fail(a, err)
	}
	w.ShowAndRun()
}

// fail says why the app cannot start, on stderr and in a window (a start from a launcher has
// no terminal), and exits.
func fail(a fyne.App, err error) {
	fmt.Fprintln(os.Stderr, "janus-desktop:", err)
	ui.ShowStartError(a, err)
	os.Exit(1)
}
