package app

import (
	"context"
)

// Location says where a model lives, for the picker.
type Location string

// Model locations.
const (
	// LocationApp is the app's own models folder (UserModelsDir).
	LocationApp Location = "app folder"
	// LocationHFCache is the Hugging Face hub cache.
	LocationHFCache Location = "Hugging Face cache"
	// LocationUser is a folder the user added in the settings.
	LocationUser Location = "your folder"
	// LocationEnv is a folder JANUS_MODELS names.
	LocationEnv Location = "JANUS_MODELS"
)

// SearchRoot is one folder the model search looks in.
type SearchRoot struct {
	Path     string
	Location Location
	// Exists is false for a folder that is not there (often the case for the defaults).
	Exists bool
}

// ModelChoice is one line of the model picker.
type ModelChoice struct {
	ModelEntry
	// Location says where it lives.
	Location Location
	// MemoryBytes is the memory its weights need when loaded (0 when unknown, as for an
	// incomplete folder).
	MemoryBytes int64
}

// ModelSearch is what the picker and the "no model found" screen show.
type ModelSearch struct {
	// Roots are the folders searched, in order.
	Roots []SearchRoot
	// Models are the models found (complete or not).
	Models []ModelChoice
	// Err joins the folders that could not be read.
	Err error
}

// SearchRoots lists the folders to search: DefaultRoots(env) and then the user's extra
// folders, each with its Location.
func SearchRoots(env Env, extra []string) []SearchRoot { panic("TODO") }

// SearchModels runs Discover over SearchRoots(env, extra) and sizes what it finds.
func SearchModels(env Env, extra []string) ModelSearch { panic("TODO") }

// Usable are the complete models.
func (s ModelSearch) Usable() []ModelChoice { panic("TODO") }

// NoModelText is the "no model found" screen's text: where models were looked for and how
// to get one.
func (s ModelSearch) NoModelText() string { panic("TODO") }

// SuggestedRepos are the Hugging Face repositories of the released models, smallest first.
func SuggestedRepos() []string {
	return []string{"deepseek-ai/Janus-Pro-1B", "deepseek-ai/Janus-1.3B", "deepseek-ai/Janus-Pro-7B"}
}

// Downloader fetches a model into the app's models folder. The download itself is another
// issue: until one exists the window shows its "Download…" button disabled (a nil
// Downloader).
type Downloader interface {
	// Download fetches repo ("deepseek-ai/Janus-Pro-1B"), reporting bytes done of total, and
	// returns the model folder.
	Download(ctx context.Context, repo string, progress func(done, total int64)) (dir string, err error)
}
