package app

import (
	"time"
)

// StoreVersion is the version of the history files this code writes; files of a later
// version are set aside rather than misread.
const StoreVersion = 1

// Kind tells chats from image sets in the history.
type Kind string

// History kinds.
const (
	KindChat     Kind = "chat"
	KindImageSet Kind = "images"
)

// ImageRef names an image copied into the store: its content's SHA-256, which is also its
// file name under images/.
type ImageRef struct {
	// SHA256 is the hex digest of the file's bytes.
	SHA256 string `json:"sha256"`
	// Ext is the file's extension with its dot (".png", ".jpg"), from its content.
	Ext string `json:"ext"`
	// Name is the file's original base name, for people.
	Name string `json:"name,omitempty"`
	// Width and Height are the picture's size.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// ChatRecord is a chat as chats/ID.json holds it.
type ChatRecord struct {
	Version  int           `json:"version"`
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Created  time.Time     `json:"created"`
	Updated  time.Time     `json:"updated"`
	Model    string        `json:"model,omitempty"`
	Messages []ChatMessage `json:"messages"`
	// Answer holds the answer settings the chat used.
	Answer AnswerSettings `json:"answer"`
}

// SetImage is one image of an image set.
type SetImage struct {
	// Image is the PNG in the store (with its text chunks).
	Image ImageRef `json:"image"`
	// Seed is the image's own seed: generating it alone with this seed gives it again.
	Seed uint64 `json:"seed"`
}

// ImageSet is one generation run as sets/ID.json holds it.
type ImageSet struct {
	Version  int                `json:"version"`
	ID       string             `json:"id"`
	Title    string             `json:"title"`
	Created  time.Time          `json:"created"`
	Updated  time.Time          `json:"updated"`
	Model    string             `json:"model,omitempty"`
	Settings GenerationSettings `json:"settings"`
	Images   []SetImage         `json:"images"`
}

// HistoryEntry is one line of the history list.
type HistoryEntry struct {
	ID      string
	Kind    Kind
	Title   string
	Created time.Time
	Updated time.Time
	// Thumbnail is the path of a small picture for the entry ("" when it has none): the first
	// image of the chat or set. Store.ThumbnailPath makes it on first use.
	Thumbnail string
	// Image is the entry's first image ("" SHA256 when it has none).
	Image ImageRef
}

// Problem is a history or settings file that could not be read and was set aside.
type Problem struct {
	// Path is the file as it was; MovedTo is where it was moved ("" if moving failed too).
	Path, MovedTo string
	// Err says what was wrong.
	Err error
}

// Error is the one-line message for the window.
func (p Problem) Error() string { panic("TODO") }

// Store is the history folder: chats, image sets, the images they refer to, and
// settings.json. Every write is atomic (temporary file, fsync, rename, fsync of the folder),
// so a crash at any moment leaves each file either as it was or complete. Its methods may be
// called from any goroutine.
type Store struct {
	root string
}

// OpenStore opens (creating when needed) the history folder root.
func OpenStore(root string) (*Store, error) { panic("TODO") }

// Root is the store's folder.
func (s *Store) Root() string { return s.root }

// DefaultStoreDir is the OS data folder of Janus Desktop, the parent of UserModelsDir:
//
//	macOS:   ~/Library/Application Support/Janus Desktop
//	Windows: %LOCALAPPDATA%\Janus Desktop
//	others:  $XDG_DATA_HOME/janus-desktop, by default ~/.local/share/janus-desktop
func (e Env) DefaultStoreDir() string { panic("TODO") }

// NewID returns a new history id: sortable by creation time, unique.
func NewID(kind Kind) string { panic("TODO") }

// SaveChat writes c (setting its Version, and Updated to now).
func (s *Store) SaveChat(c *ChatRecord) error { panic("TODO") }

// LoadChat reads chat id. A corrupt or unknown-version file is set aside and the error is a
// *Problem.
func (s *Store) LoadChat(id string) (*ChatRecord, error) { panic("TODO") }

// SaveSet writes set (setting its Version, and Updated to now).
func (s *Store) SaveSet(set *ImageSet) error { panic("TODO") }

// LoadSet reads image set id; a bad file is set aside as LoadChat does.
func (s *Store) LoadSet(id string) (*ImageSet, error) { panic("TODO") }

// List returns the history, newest (last updated) first. Files that cannot be read are set
// aside and returned as problems; the others are still listed.
func (s *Store) List() ([]HistoryEntry, []Problem, error) { panic("TODO") }

// Rename gives entry id a new title.
func (s *Store) Rename(id, title string) error { panic("TODO") }

// Delete removes entry id; images no other entry refers to are removed too.
func (s *Store) Delete(id string) error { panic("TODO") }

// ImportImage copies the image file at path into the store (content-addressed: importing
// the same bytes twice keeps one file) after checking it with CheckImageFile.
func (s *Store) ImportImage(path string) (ImageRef, error) { panic("TODO") }

// PutImage stores encoded image bytes (a PNG the app made) under their digest.
func (s *Store) PutImage(data []byte, ext string) (ImageRef, error) { panic("TODO") }

// ImagePath is the file of a stored image.
func (s *Store) ImagePath(ref ImageRef) string { panic("TODO") }

// ThumbnailPath returns the path of ref's ThumbnailSize thumbnail, making it on first use
// (it decodes the image: call it off the UI goroutine).
func (s *Store) ThumbnailPath(ref ImageRef) (string, error) { panic("TODO") }
