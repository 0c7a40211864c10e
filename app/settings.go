package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/janus-desktop/janus/compute"
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
	// TopP filters sampling when Temperature > 0 (0: model.DefaultTopP; 1: off). Only
	// settings.json sets it; the window's top-k is always model.DefaultTopK.
	TopP float64 `json:"top_p"`
}

// Options is the model form of a: the CLI's and the API's sampling filters unless TopP is set
// (the window sampled with no filter at all, where they filter).
func (a AnswerSettings) Options() model.AnswerOptions {
	topP := a.TopP
	if topP == 0 {
		topP = model.DefaultTopP
	}
	return model.AnswerOptions{MaxNewTokens: a.MaxNewTokens, Temperature: a.Temperature, TopP: topP, TopK: model.DefaultTopK}
}

// LoadOptions are s's options for loading the model called name, each written one way (""
// and "exact" are one precision, every core is 0 threads), so that two loads compare equal
// when they would load the same: a window offers to load again only when they differ.
func (s Settings) LoadOptions(name string) LoadOptions {
	or := func(v, def string) string {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
			return v
		}
		return def
	}
	threads := s.Threads
	if threads >= runtime.NumCPU() {
		threads = 0 // every core, as the settings' "All cores" says it
	}
	return LoadOptions{Name: name, Backend: or(s.Backend, "auto"), Threads: threads,
		Weights: or(s.Weights, model.WeightsStored), Precision: or(s.Precision, PrecisionExact)}
}

// Settings are the user's choices, kept in settings.json in the store folder. The file is
// written 0600 in a 0700 folder (the store's), readable only by the user, because it holds
// the API key of "Serve on localhost" (ServeSettings.APIKey).
type Settings struct {
	// Version is the file format's version.
	Version int `json:"version"`
	// Backend is "auto" or a backend's name ("cpu", "metal"); BackendChoices lists those
	// this system can run.
	Backend string `json:"backend"`
	// Threads caps the CPU backend's goroutines (0: every core).
	Threads int `json:"threads"`
	// Weights is the weight format models are loaded in: one of model.WeightFormats
	// ("auto", the default, picks for this machine's memory; "q8", "q4m" and "q4" quantize while loading;
	// "" is "stored", as for model.Options).
	Weights string `json:"weights"`
	// Precision is the arithmetic of the large matrix products (compute.Precisions):
	// "exact" (float32, the default; "" too) or "bf16" (activations rounded to BF16 as the
	// original does in bfloat16; faster prompts, images and picture decoding on CPUs that
	// have AVX-512 BF16).
	Precision string `json:"precision,omitempty"`
	// Generation holds the canvas's defaults (its Prompt is ignored).
	Generation GenerationSettings `json:"generation"`
	// Answer holds the chat's answer settings.
	Answer AnswerSettings `json:"answer"`
	// ModelFolders are folders the user added to the model search.
	ModelFolders []string `json:"model_folders,omitempty"`
	// LastModel is the path of the model folder loaded last, loaded again at start.
	LastModel string `json:"last_model,omitempty"`
	// Serve is the "Serve on localhost" setting: the OpenAI-compatible API on the loaded
	// model (app/api's StartServing).
	Serve ServeSettings `json:"serve"`
	// Drafts are what was typed and not sent when the window last closed, put back at the
	// next start: quitting loses nothing the user wrote.
	Drafts Drafts `json:"drafts,omitzero"`
	// Window is the window's size when it last closed, in the toolkit's scale-independent
	// units; the next start opens at it (nil: the default size).
	Window *WindowSize `json:"window,omitempty"`
	// View is the view in front when the window last closed: ViewCreate, or "" for Chat.
	View string `json:"view,omitempty"`
	// HideSidebar is set when the window last closed without its sidebar (View > Hide
	// sidebar).
	HideSidebar bool `json:"hide_sidebar,omitempty"`
}

// The choices of Settings.Precision, compute's, named here so that the window need not reach
// past app to the compute layer.
const (
	PrecisionExact = compute.PrecisionExact
	PrecisionBF16  = compute.PrecisionBF16
)

// ViewCreate is Settings.View for the Create view.
const ViewCreate = "create"

// WindowSize is a window's width and height.
type WindowSize struct {
	Width  float32 `json:"width"`
	Height float32 `json:"height"`
}

// Drafts are the unsent texts and images of the chats' composers, and the canvas's prompt
// and settings.
type Drafts struct {
	// Chat is a new chat's, Chats those of chats in the history, by their id: each chat
	// keeps its own.
	Chat   string            `json:"chat,omitempty"`
	Chats  map[string]string `json:"chats,omitempty"`
	Prompt string            `json:"prompt,omitempty"`
	// Images are the images attached and not sent, by chat id ("" for a new chat's). They are
	// kept as paths: the files are the user's, and are read again at the next start.
	Images map[string][]DraftImage `json:"images,omitempty"`
	// Editing are the chats (by id) whose unsent text is their last question being changed
	// (Edit): Send replaces that question and its answer rather than asking another.
	Editing []string `json:"editing,omitempty"`
	// Canvas is what the canvas's controls were set to (images, seed, guidance,
	// temperature; its prompt is Prompt), nil when they were the Generation defaults.
	Canvas *GenerationSettings `json:"canvas,omitempty"`
}

// DraftImage is an image attached to an unsent message.
type DraftImage struct {
	Path string `json:"path"`
	// Label is what its chip says: the file's name, or what a picture of the canvas is.
	Label string `json:"label,omitempty"`
}

// HasUnsent reports whether d holds text or images typed and not sent (the canvas's
// controls alone are not that).
func (d Drafts) HasUnsent() bool {
	return strings.TrimSpace(d.Chat) != "" || strings.TrimSpace(d.Prompt) != "" || len(d.Chats) > 0 || len(d.Images) > 0
}

// Equal reports whether d and o hold the same texts and images.
func (d Drafts) Equal(o Drafts) bool {
	return d.Chat == o.Chat && d.Prompt == o.Prompt && maps.Equal(d.Chats, o.Chats) &&
		maps.EqualFunc(d.Images, o.Images, slices.Equal) && slices.Equal(d.Editing, o.Editing) &&
		(d.Canvas == nil) == (o.Canvas == nil) && (d.Canvas == nil || *d.Canvas == *o.Canvas)
}

// Clone is a copy of s sharing no map, slice or pointer with it, so that one goroutine can
// write a snapshot while another changes the settings it came from.
func (s Settings) Clone() Settings {
	s.ModelFolders = slices.Clone(s.ModelFolders)
	s.Drafts.Chats = maps.Clone(s.Drafts.Chats)
	s.Drafts.Editing = slices.Clone(s.Drafts.Editing)
	if s.Drafts.Images != nil {
		images := make(map[string][]DraftImage, len(s.Drafts.Images))
		for id, list := range s.Drafts.Images {
			images[id] = slices.Clone(list)
		}
		s.Drafts.Images = images
	}
	if s.Drafts.Canvas != nil {
		c := *s.Drafts.Canvas
		s.Drafts.Canvas = &c
	}
	if s.Window != nil {
		w := *s.Window
		s.Window = &w
	}
	return s
}

// DefaultServePort is the port "Serve on localhost" listens on unless the user picks another.
const DefaultServePort = 8765

// ServeSettings say whether and where the app serves the API to other programs.
type ServeSettings struct {
	// Enabled starts the server whenever a model is loaded; off by default.
	Enabled bool `json:"enabled"`
	// Port is the port on 127.0.0.1.
	Port int `json:"port"`
	// APIKey, when set, is the key requests must carry (Authorization: Bearer KEY). It is
	// kept in settings.json as typed, which only the user can read (0600).
	APIKey string `json:"api_key,omitempty"`
}

// Addr is the address to listen on: the loopback interface only, so that only programs on
// this machine reach the model.
func (s ServeSettings) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
}

// DefaultSettings are the settings of a first start: automatic backend, every core, the
// original's generation defaults, greedy answers.
func DefaultSettings() Settings {
	return Settings{Version: SettingsVersion, Backend: "auto", Weights: model.WeightsAuto, Generation: DefaultGenerationSettings(),
		Serve: ServeSettings{Port: DefaultServePort}}
}

// SettingsVersion is the version of settings.json this code writes.
const SettingsVersion = 1

// MaxThreads bounds the threads setting; more goroutines than this per op only add overhead.
const MaxThreads = 1024

// Validate reports the first setting out of range.
func (s Settings) Validate() error {
	if !validBackend(s.Backend) {
		return fmt.Errorf("backend %q: want one of auto, %s", s.Backend, strings.Join(compute.Names(), ", "))
	}
	if s.Weights != "" && !slices.Contains(model.WeightFormats(), s.Weights) {
		return fmt.Errorf("weights %q: want one of %s", s.Weights, strings.Join(model.WeightFormats(), ", "))
	}
	if err := compute.CheckPrecision(s.Precision); err != nil {
		return err
	}
	if s.Threads < 0 || s.Threads > MaxThreads {
		return fmt.Errorf("threads %d: want 0 (every core) to %d", s.Threads, MaxThreads)
	}
	if err := s.Generation.Validate(); err != nil {
		return fmt.Errorf("generation defaults: %w", err)
	}
	if err := s.Answer.Options().Validate(); err != nil {
		return fmt.Errorf("answer settings: %w", err)
	}
	if s.Serve.Port < 1 || s.Serve.Port > 65535 {
		return fmt.Errorf("serve port %d: want 1 to 65535", s.Serve.Port)
	}
	for _, f := range s.ModelFolders {
		if !filepath.IsAbs(f) {
			return fmt.Errorf("model folder %q is not an absolute path", f)
		}
	}
	if s.View != "" && s.View != ViewCreate {
		return fmt.Errorf("view %q: want %q or none", s.View, ViewCreate)
	}
	return nil
}

// LoadSettings reads settings.json. Fields the file lacks keep their defaults (a file from
// an older version, or one edited by hand). A missing file gives DefaultSettings; a corrupt
// or invalid one is set aside (NAME.corrupt-TIMESTAMP, reported as a Problem), and the
// settings that are good in it are returned over the defaults and written in its place. A file that cannot be read (its permissions, say) or that a
// newer version wrote is neither moved nor written over: the defaults come with an error
// saying so, and SaveSettings refuses until a LoadSettings reads the file (*SettingsHeldError).
func (s *Store) LoadSettings() (Settings, []Problem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settingsHeld = nil
	path := filepath.Join(s.root, SettingsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultSettings(), nil, nil
	}
	if err != nil {
		s.settingsHeld = &SettingsHeldError{Path: path, Why: err}
		return DefaultSettings(), nil, s.settingsHeld
	}
	var head struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(data, &head) == nil && head.Version > SettingsVersion {
		s.settingsHeld = &SettingsHeldError{Path: path, Newer: true, Why: fmt.Errorf("a newer Janus Desktop wrote it (version %d; this one reads %d)", head.Version, SettingsVersion)}
		return DefaultSettings(), nil, s.settingsHeld
	}
	st := DefaultSettings()
	if versionless(data) {
		// Written by hand ({"threads": 2}): its fields are this version's, and the next
		// save adds the version. Set aside and reported, it read as damaged.
		slog.Info("settings file without a version: read as this version's", "path", path)
		err = json.Unmarshal(data, &st)
	} else {
		err = decodeVersioned(data, &st)
	}
	if err == nil {
		err = st.Validate()
	}
	if err != nil {
		// The file as it was is kept; the settings that are good in it are still used, and
		// written at once: otherwise they lived only until the next quit.
		st, err = salvageSettings(data, err)
		p := s.setAside(path, err)
		if p.MovedTo == "" {
			// Not moved (a read-only folder): it must not be written over either.
			s.settingsHeld = &SettingsHeldError{Path: path, Why: err}
			return st, []Problem{*p}, nil
		}
		st.Version = SettingsVersion
		if werr := s.writeJSON(path, st); werr != nil {
			slog.Warn("write repaired settings", "err", werr)
		}
		return st, []Problem{*p}, nil
	}
	return st, nil, nil
}

// versionless reports whether data is a JSON object without a version field.
func versionless(data []byte) bool {
	var head versionHead
	return json.Unmarshal(data, &head) == nil && head.Version == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
}

// SettingsRepairedError is the Problem of a settings file this version cannot use as it is:
// Fields took their defaults and the others were kept, or, without Kept, nothing in it could
// be read (Why is the decoder's word).
type SettingsRepairedError struct {
	Fields []string
	Kept   bool
	Why    error
}

// Error is the one-line message a user reads.
func (e *SettingsRepairedError) Error() string {
	switch {
	case !e.Kept:
		return fmt.Sprintf("it could not be read (%v), so the default settings are used", e.Why)
	case len(e.Fields) == 0:
		return fmt.Sprintf("its settings were kept, though the file was not as this version writes it (%v)", e.Why)
	}
	return "these settings could not be used and took their defaults: " + strings.Join(e.Fields, ", ") + "; the others were kept"
}

// Unwrap gives the cause, for errors.Is and errors.As.
func (e *SettingsRepairedError) Unwrap() error { return e.Why }

// salvageSettings reads the settings of data one field at a time over the defaults (the
// fields of a group such as "serve" one by one too), keeping each that decodes and leaves the
// settings valid: one bad value (a thread count written as "4", a port out of range) then
// resets that setting, not the API key and model folders beside it. The error says which
// fields took their defaults; why is the whole file's error, for when nothing can be read.
func salvageSettings(data []byte, why error) (Settings, error) {
	st := DefaultSettings()
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return st, &SettingsRepairedError{Why: why}
	}
	var bad []string
	// apply decodes one field over st, kept when the settings stay valid. Decoding goes into
	// a copy whose slice has its own array: json appends into the one it finds.
	apply := func(name string, one []byte) bool {
		next := st
		next.ModelFolders = slices.Clone(st.ModelFolders)
		if err := json.Unmarshal(one, &next); err != nil || next.Validate() != nil {
			bad = append(bad, name)
			return false
		}
		st = next
		return true
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == "version" {
			continue
		}
		var group map[string]json.RawMessage
		if json.Unmarshal(fields[k], &group) == nil && len(group) > 0 {
			for _, g := range slices.Sorted(maps.Keys(group)) {
				one, _ := json.Marshal(map[string]map[string]json.RawMessage{k: {g: group[g]}})
				apply(k+"."+g, one)
			}
			continue
		}
		// A list (the model folders) keeps its good items: one bad folder is not all.
		var items []json.RawMessage
		if json.Unmarshal(fields[k], &items) == nil && len(items) > 0 {
			var kept []json.RawMessage
			for i, it := range items {
				try := append(slices.Clone(kept), it)
				one, _ := json.Marshal(map[string][]json.RawMessage{k: try})
				if apply(fmt.Sprintf("%s[%d]", k, i), one) {
					kept = try
				}
			}
			continue
		}
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		apply(k, one)
	}
	return st, &SettingsRepairedError{Fields: bad, Kept: true, Why: why}
}

// SettingsHeldError is LoadSettings' error for a settings file kept as it is, and
// SaveSettings' while it is kept: what the user had there is not written over.
type SettingsHeldError struct {
	Path string
	Why  error
	// Newer is set when a newer version of the app wrote the file.
	Newer bool
}

// Error is the one-line message a user reads.
func (e *SettingsHeldError) Error() string {
	then := "once it can be read, restart"
	if e.Newer {
		then = "update Janus Desktop to use it"
	}
	return fmt.Sprintf("%s cannot be used (%v): the default settings are used for now and are not saved over it; %s", e.Path, e.Why, then)
}

// Unwrap gives the cause, for errors.Is and errors.As.
func (e *SettingsHeldError) Unwrap() error { return e.Why }

// SaveSettings validates and writes settings.json atomically.
func (s *Store) SaveSettings(st Settings) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	st.Version = SettingsVersion
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settingsHeld != nil {
		return fmt.Errorf("save settings: %w", s.settingsHeld)
	}
	return s.writeJSON(filepath.Join(s.root, SettingsFile), st)
}
