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
	start := janus.DesktopOptionsFrom(env, os.Args[1:])
	if start.Help {
		fmt.Print(janus.DesktopUsage)
		return
	}
	a := app.NewWithID("io.github.janus-desktop.janus")
	a.SetIcon(fyne.NewStaticResource("icon.png", icon))
	w, err := ui.New(a, ui.Options{
		Env:        env,
		StoreDir:   start.StoreDir,
		ModelDir:   start.ModelDir,
		Attach:     start.Attach,
		Version:    a.Metadata().Version,
		Downloader: hub.NewDownloader(hub.FromEnv(env)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "janus-desktop:", err)
		os.Exit(1)
	}
	w.ShowAndRun()
}
