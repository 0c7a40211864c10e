// Janus Desktop: chat about images and make new ones with DeepSeek's Janus models, on this
// computer. The window is package ui; this file only makes the Fyne app.
//
// Usage: janus-desktop [IMAGE...]; `janus-desktop -h` says which environment variables it
// reads (app.DesktopUsage).
package main

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
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
	start := janus.DesktopOptionsFrom(env, os.Args[1:])
	if start.Help {
		fmt.Print(janus.DesktopUsage)
		return
	}
	a := app.NewWithID("io.github.janus-desktop.janus")
	a.SetIcon(fyne.NewStaticResource("icon.png", icon))
	// One window per data folder: a second start hands its images to the first and exits.
	var claim *janus.Window
	if dir := cmp.Or(start.StoreDir, env.DefaultStoreDir()); dir != "" {
		var err error
		switch claim, err = janus.ClaimWindow(dir, janus.Launch{Attach: start.Attach}); {
		case errors.Is(err, janus.ErrAlreadyRunning):
			fmt.Println("janus-desktop:", err)
			return
		case errors.As(err, new(*janus.BusyError)):
			slog.Info("hand over to the running window", "err", errors.Unwrap(err))
			fail(a, err)
		case err != nil:
			slog.Warn("another window on this data folder is not ruled out", "err", err)
		}
	}
	w, err := ui.New(a, ui.Options{
		Env:        env,
		StoreDir:   start.StoreDir,
		ModelDir:   start.ModelDir,
		Attach:     start.Attach,
		Version:    a.Metadata().Version,
		Downloader: hub.NewDownloader(hub.FromEnv(env)),
		Claim:      claim,
	})
	if err != nil {
		if claim != nil {
			claim.Close() // a start meanwhile opens its own window, not a wait on this one
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
