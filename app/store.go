package app

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/janus-desktop/janus/internal/pngfile"
)

// StoreVersion is the version of the history files this code writes; files of a later
// version are left in place for that version (NewerVersionError) rather than misread.
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

// Label names the picture for people in a sentence: "the image NAME", or, for one without a
// name (made in Create, or pasted), "a picture of W×H".
func (r ImageRef) Label() string {
	if r.Name != "" {
		return "the image " + r.Name
	}
	return fmt.Sprintf("a picture of %d×%d", r.Width, r.Height)
}

// ChatRecord is a chat as chats/ID.json holds it.
type ChatRecord struct {
	// Version is the file format's (StoreVersion when written).
	Version int `json:"version"`
	// ID names the file (chats/ID.json).
	ID string `json:"id"`
	// Title is what the history list shows.
	Title string `json:"title"`
	// Created and Updated are UTC times; the history lists the last updated first.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Model is the name of the model that wrote the last answer.
	Model string `json:"model,omitempty"`
	// Messages alternate question and answer, oldest first.
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
	// Version is the file format's (StoreVersion when written).
	Version int `json:"version"`
	// ID names the file (sets/ID.json).
	ID string `json:"id"`
	// Title is what the history list shows (the start of the prompt).
	Title string `json:"title"`
	// Created and Updated are UTC times.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Model is the name of the model that drew the images.
	Model string `json:"model,omitempty"`
	// Settings are the run's, with the seed of image 0.
	Settings GenerationSettings `json:"settings"`
	// Images are the pictures in the store, image 0 first.
	Images []SetImage `json:"images"`
}

// HistoryEntry is one line of the history list.
type HistoryEntry struct {
	// ID is the chat's or set's id (for LoadChat, LoadSet, Rename, Delete).
	ID string
	// Kind tells which.
	Kind Kind
	// Title is the chat's or set's title.
	Title string
	// Created and Updated are the record's times.
	Created time.Time
	Updated time.Time
	// Image is the entry's first image ("" SHA256 when it has none); Store.ThumbnailPath
	// makes its picture, which the window asks for when it shows the row.
	Image ImageRef
}

// Problem is a history or settings file that could not be read. One whose content is bad was
// set aside; one that could not be read at all was left in place, as it is not corrupt (its
// permissions, say, which the user can mend).
type Problem struct {
	// Path is the file as it was; MovedTo is where it was moved ("" if it was left in place
	// or moving failed too).
	Path, MovedTo string
	// InPlace is true for a file left where it is on purpose.
	InPlace bool
	// Err says what was wrong.
	Err error
}

// Error is the one-line message for the window.
func (p Problem) Error() string {
	var newer *NewerVersionError
	switch {
	case errors.As(p.Err, &newer):
		return fmt.Sprintf("%s was %v", p.Path, newer)
	case errors.As(p.Err, new(*SettingsRepairedError)):
		if p.MovedTo == "" {
			return fmt.Sprintf("%s: %v (the file as it was could not be set aside, so it is left in place and not written over)", p.Path, p.Err)
		}
		return fmt.Sprintf("%s: %v (the file as it was is kept as %s)", p.Path, p.Err, filepath.Base(p.MovedTo))
	case p.InPlace:
		return fmt.Sprintf("%s could not be read (%v); it was left in place", p.Path, bareReason(p.Path, p.Err))
	case p.MovedTo == "":
		return fmt.Sprintf("%s could not be read (%v) and could not be set aside", p.Path, p.Err)
	}
	return fmt.Sprintf("%s could not be read (%v); it was kept as %s", p.Path, p.Err, filepath.Base(p.MovedTo))
}

// NewerVersionError is a history file a later Janus Desktop wrote: it is left in place and
// never written over, so that the app, once updated, finds it again.
type NewerVersionError struct {
	// Version is the file's; Reads is the newest this code reads.
	Version, Reads int
}

// Error is the one-line message a user reads.
func (e *NewerVersionError) Error() string {
	return fmt.Sprintf("made by a newer Janus Desktop (version %d; this one reads %d): update to open it", e.Version, e.Reads)
}

// bareReason is err without the path the message names already.
func bareReason(path string, err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Path == path {
		return pe.Err
	}
	return err
}

// Unwrap returns the reason.
func (p Problem) Unwrap() error { return p.Err }

// Store is the history folder: chats, image sets, the images they refer to, and
// settings.json. Every write is atomic (temporary file, fsync, rename, fsync of the folder),
// so a crash at any moment leaves each file either as it was or complete; files are the
// user's only (0600, folders 0700). Its methods may be called from any goroutine; they read
// and write files, so a window calls them off its UI goroutine.
type Store struct {
	root string
	// mu is held by every write: images, records, settings, thumbnails, and Delete's sweep of
	// the images no record mentions. A record and the new images it refers to are written
	// under one hold (saveChat, saveSet), so the sweep never sees the images without the
	// record and removes them.
	mu sync.Mutex
	// settingsHeld, when set, is why settings.json is not to be written over.
	settingsHeld *SettingsHeldError
	// putAt is when PutImage last stored each digest (Release keeps what was stored again).
	putAt map[string]time.Time

	// thumbsMu guards thumbsOK: the thumbnails found whole, by their size and time, so that
	// each List does not decode them all again.
	thumbsMu sync.Mutex
	thumbsOK map[string]fileStamp
}

// fileStamp tells a file changed since it was checked.
type fileStamp struct {
	size int64
	mod  time.Time
}

// Store folders and files, under the root.
const (
	chatsDir  = "chats"
	setsDir   = "sets"
	imagesDir = "images"
	thumbsDir = "thumbnails"
)

// staleTempAge is how old a temporary file must be before OpenStore removes it: younger ones
// may belong to another running instance that is writing them right now.
const staleTempAge = time.Hour

// OpenStore opens (creating when needed) the history folder root. Temporary files a crash
// left behind are removed. The store's folders (and settings.json) that an earlier version
// made readable by others are made private where this user may change that.
func OpenStore(root string) (*Store, error) { return openStore(root, os.Chmod) }

// openStore is OpenStore changing permissions with chmod.
func openStore(root string, chmod func(string, fs.FileMode) error) (*Store, error) {
	if root == "" {
		return nil, errors.New("open history: no folder given")
	}
	private := func(path string, perm fs.FileMode) {
		// Only a warning: a folder another user owns (left by a run under sudo, or a
		// restore) is still read and written where its permissions let this user, and the
		// writes that fail say so. Failing here left the whole history for a temporary one.
		if err := makePrivate(path, perm, chmod); err != nil && !errors.Is(err, fs.ErrNotExist) {
			slog.Warn("history: cannot make private", "path", path, "err", err)
		}
	}
	for _, d := range []string{chatsDir, setsDir, imagesDir, thumbsDir} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, storeDirPerm); err != nil {
			return nil, fmt.Errorf("open history: %w", err)
		}
		private(p, storeDirPerm)
	}
	private(filepath.Join(root, SettingsFile), storeFilePerm)
	for _, d := range []string{".", chatsDir, setsDir, imagesDir, thumbsDir} {
		tmps, _ := filepath.Glob(filepath.Join(root, d, ".*.tmp"))
		for _, t := range tmps {
			if st, err := os.Stat(t); err == nil && time.Since(st.ModTime()) > staleTempAge {
				os.Remove(t)
			}
		}
	}
	return &Store{root: root}, nil
}

// makePrivate takes the group's and others' permissions off path with chmod, leaving it as
// perm.
func makePrivate(path string, perm fs.FileMode, chmod func(string, fs.FileMode) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	// A folder where a file belongs is left alone: without its x bit it could not be opened.
	if st.Mode().Perm()&0o077 == 0 || runtime.GOOS == "windows" || st.IsDir() && perm&0o100 == 0 {
		return nil
	}
	return chmod(path, perm)
}

// PrivateFolder reports whether path is missing, or a folder (not a link) that this user owns
// and nobody else may write: what a history folder in a shared place, such as the temporary
// folder, must be before the window uses it (another user could have made it first).
func PrivateFolder(path string) bool {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && fi.IsDir() && privateToMe(fi)
}

// CheckWritable writes and removes a small file in each of the history's folders, so that a
// window can say at start that nothing made now would be kept (a read-only folder, a full
// disk), rather than at the first answer.
func (s *Store) CheckWritable() error { return s.checkWritable(chatsDir, setsDir, imagesDir) }

// CheckSettingsWritable is CheckWritable for the store's own folder, where the settings (and
// the unsent text they keep) and unsent/ go.
func (s *Store) CheckSettingsWritable() error { return s.checkWritable(".") }

func (s *Store) checkWritable(dirs ...string) error {
	for _, d := range dirs {
		p := filepath.Join(s.root, d, ".write-check")
		if err := writeFileAtomic(p, nil); err != nil {
			return fmt.Errorf("write in %s: %w", filepath.Join(s.root, d), err)
		}
		os.Remove(p)
	}
	return nil
}

// Root is the store's folder.
func (s *Store) Root() string { return s.root }

// DefaultStoreDir is the OS data folder of Janus Desktop, the parent of UserModelsDir:
//
//	macOS:   ~/Library/Application Support/Janus Desktop
//	Windows: %LOCALAPPDATA%\Janus Desktop
//	others:  $XDG_DATA_HOME/janus-desktop, by default ~/.local/share/janus-desktop
//
// It returns "" when neither the variables nor the home folder name a place.
func (e Env) DefaultStoreDir() string {
	d := e.UserModelsDir()
	if d == "" {
		return ""
	}
	return filepath.Dir(d)
}

// NewID returns a new history id, sortable by creation time and unique: the UTC time and
// random digits, with the kind's initial ("c" or "i") in between.
func NewID(kind Kind) string {
	var b [4]byte
	rand.Read(b[:]) // crypto/rand never fails
	k := "c"
	if kind == KindImageSet {
		k = "i"
	}
	return time.Now().UTC().Format("20060102-150405") + "-" + k + hex.EncodeToString(b[:])
}

// checkID refuses ids that could name a file outside the store (they come from the window,
// and from files a user may have edited).
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("history id %q is not valid", id)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("history id %q is not valid", id)
		}
	}
	return nil
}

func (s *Store) recordPath(kind Kind, id string) string {
	dir := chatsDir
	if kind == KindImageSet {
		dir = setsDir
	}
	return filepath.Join(s.root, dir, id+".json")
}

// SaveChat writes c, setting its Version, its ID and Created when empty, and Updated to now.
// Its images must be in the store already; Delete may remove images no record mentions, so a
// caller with new images stores them with the record (ChatSession does).
func (s *Store) SaveChat(c *ChatRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveRecord(KindChat, &c.ID, &c.Created, &c.Updated, &c.Version, c)
}

// SaveSet writes set, as SaveChat does.
func (s *Store) SaveSet(set *ImageSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveRecord(KindImageSet, &set.ID, &set.Created, &set.Updated, &set.Version, set)
}

// storedImage is an image to write with the record that refers to it.
type storedImage struct {
	ref  ImageRef
	data []byte
}

// saveChat writes c as SaveChat does, and images (the chat's new attachments) first, unless
// c was saved before (it has an ID) and its file is gone: the user deleted the chat, which
// then stays deleted (saved is false, and c is unchanged). A file that cannot be read, or
// that a newer version wrote, is not written over (an error). A title the file has (a
// Rename from the history list) replaces c's, unless it is retitle, the title the chat's
// first question gave it before an edit of that question ("" for none). The check and the
// write happen under the store's lock, so a Delete cannot fall between them.
func (s *Store) saveChat(c *ChatRecord, images []storedImage, retitle string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID != "" {
		if err := checkID(c.ID); err != nil {
			return false, err
		}
		disk, err := s.LoadChat(c.ID)
		var p *Problem
		switch {
		case errors.As(err, &p):
			// A corrupt file set aside is replaced by c; one left in place (unreadable, or
			// a newer version's) or that could not be moved is not written over.
			if p.MovedTo == "" {
				return false, err // names the file and why
			}
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("save chat: %w", err)
		case disk.Title != "" && (retitle == "" || disk.Title != retitle):
			c.Title = disk.Title
		}
	}
	if err := s.putAll(images); err != nil {
		return false, err
	}
	if err := s.saveRecord(KindChat, &c.ID, &c.Created, &c.Updated, &c.Version, c); err != nil {
		return false, err
	}
	return true, nil
}

// saveSet writes the images of a new image set (PNG bytes, by the refs set.Images give) and
// then set, under one hold of the store's lock.
func (s *Store) saveSet(set *ImageSet, images []storedImage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putAll(images); err != nil {
		return err
	}
	return s.saveRecord(KindImageSet, &set.ID, &set.Created, &set.Updated, &set.Version, set)
}

// putAll stores images (s.mu held).
func (s *Store) putAll(images []storedImage) error {
	for _, im := range images {
		if err := s.put(im.ref, im.data); err != nil {
			return err
		}
	}
	return nil
}

// saveRecord stamps the header fields every history record has (passed by address, since
// ChatRecord and ImageSet share them by name only) and writes v (s.mu held).
func (s *Store) saveRecord(kind Kind, id *string, created, updated *time.Time, version *int, v any) error {
	if *id == "" {
		*id = NewID(kind)
	}
	if err := checkID(*id); err != nil {
		return err
	}
	now := time.Now().UTC()
	if created.IsZero() {
		*created = now
	}
	*updated, *version = now, StoreVersion
	return s.writeJSON(s.recordPath(kind, *id), v)
}

func (s *Store) writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %w", filepath.Base(path), err)
	}
	return writeFileMkdir(path, append(data, '\n'))
}

// LoadChat reads chat id. A corrupt file is set aside and the error is a *Problem; so is one
// that cannot be read or that a newer version wrote, which is left in place.
func (s *Store) LoadChat(id string) (*ChatRecord, error) {
	var c ChatRecord
	if err := s.loadRecord(KindChat, id, &c); err != nil {
		return nil, err
	}
	c.ID = id
	return &c, nil
}

// LoadSet reads image set id; a bad file is set aside as LoadChat does.
func (s *Store) LoadSet(id string) (*ImageSet, error) {
	var set ImageSet
	if err := s.loadRecord(KindImageSet, id, &set); err != nil {
		return nil, err
	}
	set.ID = id
	return &set, nil
}

// loadRecord reads record id of kind into v.
func (s *Store) loadRecord(kind Kind, id string, v any) error {
	if err := checkID(id); err != nil {
		return err
	}
	return s.readRecord(s.recordPath(kind, id), v)
}

// readRecord decodes a history file into v after checking its version. A file that cannot be
// decoded is set aside (*Problem); one that cannot be read (see unreadable) or that a newer
// version wrote is left alone.
func (s *Store) readRecord(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return unreadable(path, err)
	}
	if n := fileVersion(data); n > StoreVersion {
		return &Problem{Path: path, InPlace: true, Err: &NewerVersionError{Version: n, Reads: StoreVersion}}
	}
	if err := decodeVersioned(data, v); err != nil {
		return s.setAside(path, err)
	}
	return nil
}

// unreadable is the error of reading path: a *Problem leaving the file in place, since the
// file may be whole (the user can mend its permissions or its link), or err itself for a
// file that is gone (deleted meanwhile), which is no problem.
func unreadable(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		target, lerr := os.Readlink(path)
		if lerr != nil {
			return fmt.Errorf("read history: %w", err)
		}
		err = fmt.Errorf("%w: a link to %s", fs.ErrNotExist, target)
	}
	return &Problem{Path: path, InPlace: true, Err: err}
}

// versionHead is the field every versioned file starts with.
type versionHead struct {
	Version *int `json:"version"`
}

// fileVersion is the version data says it has (0 when it says none or is not JSON).
func fileVersion(data []byte) int {
	var head versionHead
	if json.Unmarshal(data, &head) != nil || head.Version == nil {
		return 0
	}
	return *head.Version
}

// decodeVersioned decodes data into v when its version is one this code reads.
func decodeVersioned(data []byte, v any) error {
	var head versionHead
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	switch {
	case head.Version == nil:
		return errors.New("no version field")
	case *head.Version > StoreVersion:
		return fmt.Errorf("version %d is newer than this app reads (%d): update Janus Desktop", *head.Version, StoreVersion)
	case *head.Version < 1:
		return fmt.Errorf("unknown version %d", *head.Version)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("not a valid record: %w", err)
	}
	return nil
}

// setAside moves a file that cannot be read to NAME.corrupt-TIMESTAMP beside it, so that it is
// neither lost nor read again, and returns the *Problem that reports it.
func (s *Store) setAside(path string, reason error) *Problem {
	p := &Problem{Path: path, Err: reason}
	to := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, to); err == nil {
		p.MovedTo = to
		if err := syncDir(filepath.Dir(path)); err != nil {
			slog.Warn("sync the folder of a file set aside", "path", path, "err", err)
		}
	}
	slog.Warn("file set aside", "path", path, "moved_to", p.MovedTo, "err", reason)
	return p
}

// List returns the history, newest (last updated) first. Files that cannot be read are
// returned as problems (set aside when corrupt, left in place when unreadable); the others
// are still listed. It makes missing thumbnails.
func (s *Store) List() ([]HistoryEntry, []Problem, error) {
	var entries []HistoryEntry
	var problems []Problem
	for _, kind := range []Kind{KindChat, KindImageSet} {
		dir := filepath.Dir(s.recordPath(kind, "x"))
		files, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // cleared by hand while the app runs
		}
		if err != nil {
			// One folder that cannot be read (its permissions) hides only its own kind.
			problems = append(problems, Problem{Path: dir, InPlace: true, Err: err})
			continue
		}
		for _, f := range files {
			name := f.Name()
			id, ok := strings.CutSuffix(name, ".json")
			if !ok || strings.HasPrefix(name, ".") || f.IsDir() {
				continue
			}
			if checkID(id) != nil {
				continue // not a file this app wrote
			}
			e, err := s.entry(kind, id)
			var p *Problem
			switch {
			case errors.As(err, &p):
				problems = append(problems, *p)
			case errors.Is(err, fs.ErrNotExist):
				// deleted since ReadDir
			case err != nil:
				problems = append(problems, Problem{Path: filepath.Join(dir, name), InPlace: true, Err: err})
			default:
				entries = append(entries, e)
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b HistoryEntry) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return entries, problems, nil
}

// entry reads one history file for List.
func (s *Store) entry(kind Kind, id string) (HistoryEntry, error) {
	e := HistoryEntry{ID: id, Kind: kind}
	if kind == KindChat {
		c, err := s.LoadChat(id)
		if err != nil {
			return e, err
		}
		e.Title, e.Created, e.Updated = c.Title, c.Created, c.Updated
		if strings.TrimSpace(e.Title) == "" { // a file edited by hand: no blank row
			e.Title = titleOf(c.Messages)
		}
		for _, m := range c.Messages {
			if len(m.Images) > 0 {
				e.Image = m.Images[0]
				break
			}
		}
	} else {
		set, err := s.LoadSet(id)
		if err != nil {
			return e, err
		}
		e.Title, e.Created, e.Updated = set.Title, set.Created, set.Updated
		if strings.TrimSpace(e.Title) == "" {
			e.Title = cmp.Or(titleFrom(set.Settings.Prompt), "Images")
		}
		if len(set.Images) > 0 {
			e.Image = set.Images[0].Image
		}
	}
	return e, nil
}

// kindOf finds which kind of record id is.
func (s *Store) kindOf(id string) (Kind, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	for _, k := range []Kind{KindChat, KindImageSet} {
		if _, err := os.Stat(s.recordPath(k, id)); err == nil {
			return k, nil
		}
	}
	return "", fmt.Errorf("history entry %s: %w", id, fs.ErrNotExist)
}

// Rename gives entry id a new title.
func (s *Store) Rename(id, title string) error {
	title = strings.TrimSpace(title)
	if title == "" {
		return errors.New("rename: the title is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, err := s.kindOf(id)
	if err != nil {
		return err
	}
	if kind == KindChat {
		c, err := s.LoadChat(id)
		if err != nil {
			return err
		}
		c.Title, c.Version = title, StoreVersion
		return s.writeJSON(s.recordPath(KindChat, id), c)
	}
	set, err := s.LoadSet(id)
	if err != nil {
		return err
	}
	set.Title, set.Version = title, StoreVersion
	return s.writeJSON(s.recordPath(KindImageSet, id), set)
}

// Delete removes entry id, and the images and thumbnails no other history file (readable or
// set aside) mentions.
//
// keep are files the window still uses, the images attached to messages not sent yet: a
// stored image among them stays though no record mentions it any more (Ask on a picture of
// the set attaches the store's own copy).
func (s *Store) Delete(id string, keep ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, err := s.kindOf(id)
	if err != nil {
		return err
	}
	path := s.recordPath(kind, id)
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	// The deleted file's images are found by their digests in its bytes, which also works
	// for a file that no longer decodes.
	s.removeUnreferenced(digestsIn(raw), keep)
	return nil
}

// digestsIn finds the SHA-256 digests (64 lowercase hex digits) in data.
func digestsIn(data []byte) []string {
	var out []string
	run := 0
	for i := 0; i <= len(data); i++ {
		if i < len(data) && (data[i] >= '0' && data[i] <= '9' || data[i] >= 'a' && data[i] <= 'f') {
			run++
			continue
		}
		if run == 64 {
			d := string(data[i-64 : i])
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
		run = 0
	}
	return out
}

// Release removes the stored images at paths (pictures pasted into the composer, say, whose
// chips were removed unsent) unless a record mentions them, a path in keep names them (the
// drafts' pictures) or PutImage stored them again after asked (when the caller decided: a
// paste of the same picture may be on its way to a composer, which keep could not know). A
// path outside the store's images is left alone. It reads every record: call it off the UI
// goroutine.
func (s *Store) Release(paths []string, asked time.Time, keep ...string) {
	var digests []string
	for _, p := range paths {
		dir, name := filepath.Split(p)
		if filepath.Clean(dir) != filepath.Join(s.root, imagesDir) {
			continue
		}
		digest, ext, _ := strings.Cut(name, ".")
		if validRef(ImageRef{SHA256: digest, Ext: "." + ext}) {
			digests = append(digests, digest)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	digests = slices.DeleteFunc(digests, func(d string) bool { return s.putAt[d].After(asked) })
	s.removeUnreferenced(digests, keep)
}

// removeUnreferenced removes the stored images (and thumbnails) of digests that no file in
// chats/ or sets/ mentions and no path in keep names (s.mu held). Failing to remove one only
// leaves a file behind.
func (s *Store) removeUnreferenced(digests, keep []string) {
	if len(digests) == 0 {
		return
	}
	used := map[string]bool{}
	for _, p := range keep {
		for _, d := range digestsIn([]byte(filepath.Base(p))) {
			used[d] = true
		}
	}
	for _, dir := range []string{chatsDir, setsDir} {
		files, _ := os.ReadDir(filepath.Join(s.root, dir))
		for _, f := range files {
			if f.IsDir() {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(s.root, dir, f.Name()))
			if err != nil {
				return // when in doubt, keep everything
			}
			for _, d := range digestsIn(raw) {
				used[d] = true
			}
		}
	}
	for _, d := range digests {
		if used[d] {
			continue
		}
		for _, dir := range []string{imagesDir, thumbsDir} {
			matches, _ := filepath.Glob(filepath.Join(s.root, dir, d+".*"))
			for _, m := range matches {
				os.Remove(m)
			}
		}
	}
}

// formatExt is the file extension of an image.DecodeConfig format name ("" for others).
func formatExt(format string) string {
	switch format {
	case "png", "gif", "webp", "bmp":
		return "." + format
	case "jpeg":
		return ".jpg"
	}
	return ""
}

// PutImage stores encoded image bytes (a PNG the app made) under their digest. Until a record
// mentions it, a Delete may remove it again (see SaveChat).
func (s *Store) PutImage(data []byte) (ImageRef, error) {
	ref, err := encodedRef(data)
	if err != nil {
		return ImageRef{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.put(ref, data); err != nil {
		return ImageRef{}, err
	}
	if s.putAt == nil {
		s.putAt = map[string]time.Time{}
	}
	s.putAt[ref.SHA256] = time.Now()
	return ref, nil
}

// encodedRef names encoded image bytes and reads their size.
func encodedRef(data []byte) (ImageRef, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return ImageRef{}, fmt.Errorf("store image: %w", err)
	}
	ref := contentRef(data, formatExt(format))
	ref.Width, ref.Height = cfg.Width, cfg.Height
	return ref, nil
}

// contentRef names data by its digest, with the extension of its format.
func contentRef(data []byte, ext string) ImageRef {
	sum := sha256.Sum256(data)
	return ImageRef{SHA256: hex.EncodeToString(sum[:]), Ext: ext}
}

// put writes data as the file of ref (made by contentRef), unless it is there already (s.mu
// held). A file of that name whose bytes differ (damaged on disk) is written again: its
// name says what it must hold.
func (s *Store) put(ref ImageRef, data []byte) error {
	if ref.Ext == "" {
		return fmt.Errorf("store image: %w", ErrNotImage)
	}
	p := s.ImagePath(ref)
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(data)) {
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			return nil // the same content is stored already
		}
	}
	if err := writeFileMkdir(p, data); err != nil {
		return fmt.Errorf("store image: %w", err)
	}
	return nil
}

// stored reports whether ref's image file is in the store.
func (s *Store) stored(ref ImageRef) bool {
	p := s.ImagePath(ref)
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// validRef reports whether ref can name a file in the store (refs come from files a user may
// have edited).
func validRef(ref ImageRef) bool {
	if len(ref.SHA256) != 64 || len(digestsIn([]byte(ref.SHA256))) != 1 {
		return false
	}
	for _, format := range []string{"png", "jpeg", "gif", "webp", "bmp"} {
		if ref.Ext == formatExt(format) {
			return true
		}
	}
	return false
}

// ImagePath is the file of a stored image ("" for a ref that cannot name one).
func (s *Store) ImagePath(ref ImageRef) string {
	if !validRef(ref) {
		return ""
	}
	return filepath.Join(s.root, imagesDir, ref.SHA256+ref.Ext)
}

// ThumbnailPath returns the path of ref's ThumbnailSize thumbnail (a PNG), making it on first
// use and again when it does not decode (it decodes images: call it off the UI goroutine). A
// thumbnail is written only while its image is still stored, so that one a Delete swept is
// not made again; the error for a missing image wraps fs.ErrNotExist.
func (s *Store) ThumbnailPath(ref ImageRef) (string, error) {
	src := s.ImagePath(ref)
	if src == "" {
		return "", fmt.Errorf("image reference %q%s is not valid", ref.SHA256, ref.Ext)
	}
	p := filepath.Join(s.root, thumbsDir, ref.SHA256+".png")
	if s.thumbnailWhole(p) {
		return p, nil
	}
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("thumbnail: %w", err)
	}
	img, err := Thumbnail(src, ThumbnailSize)
	if err != nil {
		return "", err
	}
	data, err := pngfile.Encode(img, nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("thumbnail: %w", err)
	}
	if err := writeFileMkdir(p, data); err != nil {
		return "", err
	}
	if st, err := os.Stat(p); err == nil {
		s.rememberWhole(p, st)
	}
	return p, nil
}

// thumbnailWhole reports whether the thumbnail at p exists and decodes: a damaged one (a disk
// error, a file cut short) is made again rather than shown blank for good. A file checked
// once is decoded again only when it changed.
func (s *Store) thumbnailWhole(p string) bool {
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	s.thumbsMu.Lock()
	ok := s.thumbsOK[p] == fileStamp{st.Size(), st.ModTime()}
	s.thumbsMu.Unlock()
	if ok {
		return true
	}
	if _, err := DecodeImageFile(p); err != nil {
		slog.Warn("damaged thumbnail", "path", p, "err", err)
		return false
	}
	s.rememberWhole(p, st)
	return true
}

// rememberWhole notes that the thumbnail at p, as st describes it, decodes.
func (s *Store) rememberWhole(p string, st fs.FileInfo) {
	s.thumbsMu.Lock()
	defer s.thumbsMu.Unlock()
	if s.thumbsOK == nil {
		s.thumbsOK = map[string]fileStamp{}
	}
	s.thumbsOK[p] = fileStamp{st.Size(), st.ModTime()}
}

// unsentDir holds text the window could not put back where it was typed (KeepUnsent).
const unsentDir = "unsent"

// KeepUnsent writes text that was typed and not sent to unsent/KIND-TIME.txt in the store
// (KIND-TIME-2.txt and on when that is taken: several drafts are kept in the same second at
// start) and returns its path: the window keeps a draft there that is too long to put back
// into its field (Fyne lays a long text out again at every change, for seconds a time).
func (s *Store) KeepUnsent(kind, text string) (string, error) {
	base := filepath.Join(s.root, unsentDir, kind+"-"+time.Now().UTC().Format("20060102-150405"))
	s.mu.Lock()
	defer s.mu.Unlock()
	path := base + ".txt"
	for n := 2; ; n++ {
		// Another name only while this one is taken: any other answer (a folder that
		// cannot be read) is the write's to report.
		if _, err := os.Lstat(path); err != nil {
			break
		}
		path = fmt.Sprintf("%s-%d.txt", base, n)
	}
	if err := writeFileMkdir(path, []byte(text)); err != nil {
		return "", fmt.Errorf("keep unsent text: %w", err)
	}
	return path, nil
}
