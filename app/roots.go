package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Env is the part of the process environment the default model folders depend on. It is
// passed in rather than read from the process so that discovery holds no global state and
// tests can describe any machine.
type Env struct {
	// GOOS is the operating system ("linux", "darwin", "windows", ...), as runtime.GOOS.
	GOOS string
	// Home is the user's home folder.
	Home string
	// Getenv returns the value of an environment variable, "" when unset; nil means every
	// variable is unset.
	Getenv func(key string) string
}

// EnvFromOS describes the running process: its GOOS, home folder and environment.
func EnvFromOS() Env {
	home, _ := os.UserHomeDir() // without a home only the variables can name folders
	return Env{GOOS: runtime.GOOS, Home: home, Getenv: os.Getenv}
}

func (e Env) get(key string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(key)
}

// home joins elems onto the home folder, or returns "" when the home folder is unknown (a
// relative path would silently search the working folder instead).
func (e Env) home(elems ...string) string {
	if e.Home == "" {
		return ""
	}
	return filepath.Join(append([]string{e.Home}, elems...)...)
}

// UserModelsDir is the folder Janus Desktop keeps its own models in (where downloads go):
//
//	macOS:   ~/Library/Application Support/Janus Desktop/models
//	Windows: %LOCALAPPDATA%\Janus Desktop\models (models are large, so not the roaming profile)
//	others:  $XDG_DATA_HOME/janus-desktop/models, by default ~/.local/share/janus-desktop/models
//
// Models are data, not settings, hence the XDG data folder rather than os.UserConfigDir.
// It returns "" when neither the variables nor the home folder name a place.
func (e Env) UserModelsDir() string {
	switch e.GOOS {
	case "darwin":
		return e.home("Library", "Application Support", "Janus Desktop", "models")
	case "windows":
		if d := e.get("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "Janus Desktop", "models")
		}
		return e.home("AppData", "Local", "Janus Desktop", "models")
	}
	if d := e.get("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "janus-desktop", "models")
	}
	return e.home(".local", "share", "janus-desktop", "models")
}

// HFHubCache is the Hugging Face hub cache folder, resolved as huggingface_hub resolves it
// on every platform: HF_HUB_CACHE, else the older HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func (e Env) HFHubCache() string {
	for _, key := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := e.get(key); d != "" {
			return d
		}
	}
	if d := e.get("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := e.get("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	return e.home(".cache", "huggingface", "hub")
}

// DefaultRoots are the folders Discover searches when the user names none, in order of
// preference (Find prefers earlier roots): JANUS_MODELS when set, a list separated as PATH
// is (colons; semicolons on Windows) that replaces the defaults; otherwise UserModelsDir
// followed by HFHubCache. Folders that cannot be named (no home folder) are left out.
func DefaultRoots(e Env) []string {
	if list := e.get("JANUS_MODELS"); list != "" {
		var roots []string
		for _, r := range splitList(list, e.GOOS) {
			if r != "" {
				roots = append(roots, r)
			}
		}
		return roots
	}
	var roots []string
	for _, r := range []string{e.UserModelsDir(), e.HFHubCache()} {
		if r != "" {
			roots = append(roots, r)
		}
	}
	return roots
}

// splitList splits a PATH-style list with the separator of goos (filepath.SplitList uses
// the running system's, and Env may describe another).
func splitList(list, goos string) []string {
	if goos == "windows" {
		return strings.Split(list, ";")
	}
	return strings.Split(list, ":")
}
