package app

import (
	"github.com/janus-desktop/janus/model"
)

// SettingsFile is the settings' file name in the store folder.
const SettingsFile = "settings.json"

// AnswerSettings are how chat answers are generated.
type AnswerSettings struct {
	// MaxNewTokens caps an answer (0: model.DefaultMaxNewTokens).
	MaxNewTokens int `json:"max_new_tokens"`
	// Temperature 0 is greedy decoding, as the official inference.py; the demos use 0.1.
	Temperature float64 `json:"temperature"`
	// TopP filters sampling when Temperature > 0 (0: off).
	TopP float64 `json:"top_p"`
}

// Options is the model form of a.
func (a AnswerSettings) Options() model.AnswerOptions {
	return model.AnswerOptions{MaxNewTokens: a.MaxNewTokens, Temperature: a.Temperature, TopP: a.TopP}
}

// Settings are the user's choices, kept in settings.json in the store folder.
type Settings struct {
	// Version is the file format's version.
	Version int `json:"version"`
	// Backend is "auto", "cpu" or "metal".
	Backend string `json:"backend"`
	// Threads caps the CPU backend's goroutines (0: every core).
	Threads int `json:"threads"`
	// Generation holds the canvas's defaults (its Prompt is ignored).
	Generation GenerationSettings `json:"generation"`
	// Answer holds the chat's answer settings.
	Answer AnswerSettings `json:"answer"`
	// ModelFolders are folders the user added to the model search.
	ModelFolders []string `json:"model_folders,omitempty"`
	// LastModel is the path of the model folder loaded last, loaded again at start.
	LastModel string `json:"last_model,omitempty"`
}

// DefaultSettings are the settings of a first start: automatic backend, every core, the
// original's generation defaults, greedy answers.
func DefaultSettings() Settings { panic("TODO") }

// Validate reports the first setting out of range.
func (s Settings) Validate() error { panic("TODO") }

// LoadSettings reads settings.json, filling missing fields with defaults. A missing file
// gives DefaultSettings; a corrupt or invalid one is set aside (reported as a Problem) and
// the defaults are returned with it.
func (s *Store) LoadSettings() (Settings, []Problem, error) { panic("TODO") }

// SaveSettings validates and writes settings.json atomically.
func (s *Store) SaveSettings(st Settings) error { panic("TODO") }
