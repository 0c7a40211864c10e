// Janus Desktop: chat about images and make new ones with DeepSeek's Janus models, on this
// computer. The window is package ui; this file only makes the Fyne app.
//
// Usage: janus-desktop [IMAGE...]   (images given are attached to the first chat)
//
// JANUS_MODELS lists the folders to search for models (instead of the app folder and the
// Hugging Face cache), JANUS_MODEL names the model folder to load, and JANUS_DATA the
// folder for history and settings. Downloads follow the Hugging Face variables (HF_ENDPOINT,
// HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE).
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
	a := app.NewWithID("io.github.janus-desktop.janus")
	a.SetIcon(fyne.NewStaticResource("icon.png", icon))
	env := janus.EnvFromOS()
	start := janus.DesktopOptionsFrom(env, os.Args[1:])
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
