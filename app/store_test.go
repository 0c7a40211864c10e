package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
)

func openStore(t *testing.T) *app.Store {
	t.Helper()
	s, err := app.OpenStore(filepath.Join(t.TempDir(), "history"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreChats(t *testing.T) {
	s := openStore(t)
	img := writePNG(t, t.TempDir(), "cat.png", 320, 200)
	ref, err := s.ImportImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// Attachments are copies: the chat survives the original file being moved.
	if err := os.Remove(img); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.ImagePath(ref)); err != nil {
		t.Fatalf("stored image: %v", err)
	}
	if ref.Name != "cat.png" || ref.Width != 320 || ref.Height != 200 || ref.Ext != ".png" || len(ref.SHA256) != 64 {
		t.Errorf("ImportImage = %+v", ref)
	}

	first := &app.ChatRecord{Title: "first", Messages: []app.ChatMessage{
		{Text: "What is this?", Images: []app.ImageRef{ref}, State: app.StateDone},
		{Assistant: true, Text: "A cat.", State: app.StateDone, TokensPerSecond: 12.5},
	}}
	if err := s.SaveChat(first); err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.Version != app.StoreVersion || first.Created.IsZero() {
		t.Fatalf("SaveChat left %+v", first)
	}
	time.Sleep(10 * time.Millisecond) // Updated orders the list
	second := &app.ChatRecord{Title: "second", Messages: []app.ChatMessage{{Text: "hi", State: app.StateDone}}}
	if err := s.SaveChat(second); err != nil {
		t.Fatal(err)
	}
	set := &app.ImageSet{Title: "a red fox", Settings: app.DefaultGenerationSettings(),
		Images: []app.SetImage{{Image: ref, Seed: 7}}}
	time.Sleep(10 * time.Millisecond)
	if err := s.SaveSet(set); err != nil {
		t.Fatal(err)
	}

	got, err := s.LoadChat(first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[1].Text != "A cat." || got.Messages[0].Images[0] != ref || got.Messages[1].TokensPerSecond != 12.5 {
		t.Errorf("LoadChat = %+v", got)
	}

	entries, problems, err := s.List()
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	var titles []string
	for _, e := range entries {
		titles = append(titles, string(e.Kind)+":"+e.Title)
	}
	if strings.Join(titles, ",") != "images:a red fox,chat:second,chat:first" {
		t.Errorf("List = %v, want newest first", titles)
	}
	if entries[0].Image.SHA256 == "" || entries[1].Image.SHA256 != "" || entries[2].Image != ref {
		t.Errorf("pictures: %+v %+v %+v", entries[0].Image, entries[1].Image, entries[2].Image)
	}
	if p, err := s.ThumbnailPath(entries[0].Image); err != nil {
		t.Errorf("thumbnail: %v", err)
	} else if _, err := os.Stat(p); err != nil {
		t.Errorf("thumbnail file: %v", err)
	}

	if err := s.Rename(first.ID, "  renamed  "); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadChat(first.ID); got.Title != "renamed" {
		t.Errorf("after Rename the title is %q", got.Title)
	}
	// A new title is not news: the entry keeps its place, the oldest.
	if after, _, _ := s.List(); after[len(after)-1].ID != first.ID {
		t.Errorf("after Rename the list starts %s, %s, %s: the renamed chat moved", after[0].Title, after[1].Title, after[2].Title)
	}
	if err := s.Rename(set.ID, ""); err == nil {
		t.Error("Rename to an empty title succeeded")
	}

	// The image is shared by the chat and the set: it stays until both are deleted.
	if err := s.Delete(first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.ImagePath(ref)); err != nil {
		t.Errorf("an image the set still uses was deleted: %v", err)
	}
	if err := s.Delete(set.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.ImagePath(ref)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an image nothing uses was kept: %v", err)
	}
	if _, err := s.LoadChat(first.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadChat of a deleted chat: %v", err)
	}
	if err := s.Delete(first.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deleting twice: %v", err)
	}
	for _, id := range []string{"../settings", "a/b", "", strings.Repeat("x", 100)} {
		if _, err := s.LoadChat(id); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadChat(%q) = %v, want an invalid id error", id, err)
		}
	}
}

func TestStoreImportDeduplicates(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	a := writePNG(t, dir, "a.png", 10, 10)
	raw, _ := os.ReadFile(a)
	b := filepath.Join(dir, "b.png")
	os.WriteFile(b, raw, 0o644)
	ra, err := s.ImportImage(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := s.ImportImage(b)
	if err != nil {
		t.Fatal(err)
	}
	if ra.SHA256 != rb.SHA256 || s.ImagePath(ra) != s.ImagePath(rb) {
		t.Errorf("the same bytes were stored twice: %+v %+v", ra, rb)
	}
	files, _ := os.ReadDir(filepath.Join(s.Root(), "images"))
	if len(files) != 1 {
		t.Errorf("images/ holds %d files, want 1", len(files))
	}
	text := filepath.Join(dir, "t.png")
	os.WriteFile(text, []byte("text"), 0o644)
	if _, err := s.ImportImage(text); !errors.Is(err, app.ErrNotImage) {
		t.Errorf("ImportImage of text: %v", err)
	}
	if p := s.ImagePath(app.ImageRef{SHA256: "../../etc/passwd", Ext: ".png"}); p != "" {
		t.Errorf("ImagePath of a forged ref = %q", p)
	}
}

// TestStoreBadFiles checks that a corrupt or unknown-version history file is set aside with a
// problem, never lost or fatal, and the other entries are still listed. (A newer version's
// file is left in place: TestStoreNewerVersionLeftInPlace.)
func TestStoreBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, content, reason string
	}{
		{"truncated", `{"version": 1, "id": "x", "title": "half`, "not valid JSON"},
		{"garbage", "\x00\x01binary", "not valid JSON"},
		{"no version", `{"title": "old", "messages": []}`, "no version field"},
		{"wrong types", `{"version": 1, "title": 5, "messages": "x"}`, "not a valid record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			good := &app.ChatRecord{Title: "good"}
			if err := s.SaveChat(good); err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(s.Root(), "chats", "20260101-000000-cbad.json")
			if err := os.WriteFile(bad, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			entries, problems, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Title != "good" {
				t.Errorf("List = %+v, want the good chat only", entries)
			}
			if len(problems) != 1 {
				t.Fatalf("problems = %v, want one", problems)
			}
			p := problems[0]
			if p.Path != bad || !strings.Contains(p.Error(), tc.reason) || !strings.Contains(p.Error(), "corrupt-") {
				t.Errorf("problem %q for %s", p.Error(), p.Path)
			}
			kept, err := os.ReadFile(p.MovedTo)
			if err != nil || string(kept) != tc.content {
				t.Errorf("the set-aside file holds %q, %v; want the original bytes", kept, err)
			}
			if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the bad file is still in place: %v", err)
			}
			// Listing again is quiet: the file is out of the way.
			if _, problems, _ := s.List(); len(problems) != 0 {
				t.Errorf("second List reports %v", problems)
			}
		})
	}
}

// TestStoreNewerVersionLeftInPlace: a chat or image set a newer Janus Desktop wrote is
// reported with what to do, not listed, and left as it is, so that the app, once updated,
// finds it again; a save or rename of the same id does not write over it.
func TestStoreNewerVersionLeftInPlace(t *testing.T) {
	s := openStore(t)
	if err := s.SaveChat(&app.ChatRecord{Title: "good"}); err != nil {
		t.Fatal(err)
	}
	chat := filepath.Join(s.Root(), "chats", "20260101-000000-cnew.json")
	set := filepath.Join(s.Root(), "sets", "20260101-000000-inew.json")
	newer := map[string]string{
		chat: `{"version": 2, "title": "from the future", "messages": [], "more": {}}`,
		set:  `{"version": 7, "title": "images from the future"}`,
	}
	versions := map[string]string{chat: "version 2", set: "version 7"}
	for p, content := range newer {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	entries, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Title != "good" {
		t.Errorf("List = %+v, want the good chat only", entries)
	}
	if len(problems) != 2 {
		t.Fatalf("problems = %v, want two", problems)
	}
	for _, p := range problems {
		want := p.Path + " was made by a newer Janus Desktop (" + versions[p.Path] + "; this one reads 1): update to open it"
		if !p.InPlace || p.MovedTo != "" || !errors.As(p.Err, new(*app.NewerVersionError)) || p.Error() != want {
			t.Errorf("problem %q (%+v)", p.Error(), p)
		}
	}
	if _, err := s.LoadChat("20260101-000000-cnew"); !errors.As(err, new(*app.NewerVersionError)) {
		t.Errorf("LoadChat: %v, want a NewerVersionError", err)
	}
	if saved, err := s.SaveChatUnlessDeleted(&app.ChatRecord{ID: "20260101-000000-cnew", Title: "mine"}); err == nil || saved {
		t.Errorf("SaveChatUnlessDeleted over it: saved %v, %v", saved, err)
	}
	if err := s.Rename("20260101-000000-inew", "renamed"); err == nil {
		t.Error("Rename of the newer set succeeded")
	}
	for p, content := range newer {
		if got, err := os.ReadFile(p); err != nil || string(got) != content {
			t.Errorf("%s holds %q, %v; want it untouched", filepath.Base(p), got, err)
		}
		if moved, _ := filepath.Glob(p + ".corrupt-*"); len(moved) != 0 {
			t.Errorf("set aside as %v", moved)
		}
	}
}

// TestStoreUnreadableFileLeftInPlace: a history file that cannot be read at all (its
// permissions, a link to a file gone, a folder in its place) is not corrupt: it is reported,
// left where it is and never written over, and the rest of the history is still listed.
func TestStoreUnreadableFileLeftInPlace(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		make         func(t *testing.T, path string)
	}{
		{"dangling link", "a link to", func(t *testing.T, path string) {
			symlink(t, filepath.Join(t.TempDir(), "gone.json"), path)
		}},
		{"link to a folder", "is a directory", func(t *testing.T, path string) {
			symlink(t, t.TempDir(), path)
		}},
		{"no permission", "permission denied", func(t *testing.T, path string) {
			if runtime.GOOS == "windows" || os.Geteuid() == 0 {
				t.Skip("the permissions do not stop this user")
			}
			if err := os.WriteFile(path, []byte(`{"version": 1, "title": "mine"}`), 0o000); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			if err := s.SaveChat(&app.ChatRecord{Title: "good"}); err != nil {
				t.Fatal(err)
			}
			bad := &app.ChatRecord{Title: "bad"}
			if err := s.SaveChat(bad); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(s.Root(), "chats", bad.ID+".json")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			tc.make(t, path)
			before, _ := os.Lstat(path)
			for range 2 { // listing again reports it again: it is still there
				entries, problems, err := s.List()
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 1 || entries[0].Title != "good" {
					t.Errorf("List = %+v, want the good chat", entries)
				}
				if len(problems) != 1 {
					t.Fatalf("problems = %v, want one", problems)
				}
				p := problems[0]
				if p.Path != path || !p.InPlace || p.MovedTo != "" || !strings.Contains(p.Error(), tc.reason) || !strings.Contains(p.Error(), bad.ID+".json") {
					t.Errorf("problem %q (%+v), want it to name the file and %q, left in place", p.Error(), p, tc.reason)
				}
			}
			if _, err := s.LoadChat(bad.ID); !errors.As(err, new(*app.Problem)) {
				t.Errorf("LoadChat: %v, want a *Problem", err)
			}
			// A chat open in the window is not saved over it.
			if saved, err := s.SaveChatUnlessDeleted(bad); err == nil || saved {
				t.Errorf("SaveChatUnlessDeleted over it: saved %v, %v", saved, err)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) {
				t.Errorf("the file was moved or replaced: %v", err)
			}
			if moved, _ := filepath.Glob(path + ".corrupt-*"); len(moved) != 0 {
				t.Errorf("the file was set aside as %v", moved)
			}
		})
	}
}

// symlink makes link point to target, skipping the test where links cannot be made.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// TestStoreDamagedThumbnailMadeAgain: a thumbnail that does not decode is made again from its
// image, instead of being returned as it is for good; with the image gone too, the error
// says the image is missing.
func TestStoreDamagedThumbnailMadeAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(whole []byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("not a picture") }},
		{"empty", func([]byte) []byte { return nil }},
		{"cut short", func(whole []byte) []byte { return whole[:len(whole)/2] }}, // its header still reads
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			ref, err := s.ImportImage(writePNG(t, t.TempDir(), "cat.png", 320, 200))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.ThumbnailPath(ref)
			if err != nil {
				t.Fatal(err)
			}
			whole, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.damage(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			again, err := s.ThumbnailPath(ref)
			if err != nil || again != p {
				t.Fatalf("ThumbnailPath = %q, %v; want %q made again", again, err, p)
			}
			img, err := app.DecodeImageFile(p)
			if err != nil {
				t.Fatalf("the thumbnail was not made again: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 100 {
				t.Errorf("thumbnail is %v, want 160×100", b)
			}

			// Damaged again, with its image gone: nothing to make it from.
			if err := os.WriteFile(p, tc.damage(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(s.ImagePath(ref)); err != nil {
				t.Fatal(err)
			}
			if got, err := s.ThumbnailPath(ref); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ThumbnailPath with the image gone = %q, %v; want a missing image error", got, err)
			}
		})
	}
}

func TestDefaultStoreDir(t *testing.T) {
	for _, tc := range []struct {
		env  app.Env
		want string
	}{
		{app.Env{GOOS: "linux", Home: "/home/u"}, "/home/u/.local/share/janus-desktop"},
		{app.Env{GOOS: "linux", Home: "/home/u", Getenv: func(k string) string {
			if k == "XDG_DATA_HOME" {
				return "/data"
			}
			return ""
		}}, "/data/janus-desktop"},
		{app.Env{GOOS: "darwin", Home: "/Users/u"}, "/Users/u/Library/Application Support/Janus Desktop"},
		{app.Env{GOOS: "linux"}, ""},
	} {
		if got := tc.env.DefaultStoreDir(); got != tc.want {
			t.Errorf("%s home %q: DefaultStoreDir = %q, want %q", tc.env.GOOS, tc.env.Home, got, tc.want)
		}
	}
}

// TestStoreClearedByHand removes the history folder while the store is open (the README's
// way to clear the history): listing shows nothing, and saving works again.
func TestStoreClearedByHand(t *testing.T) {
	s := openStore(t)
	if err := s.SaveChat(&app.ChatRecord{Title: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(s.Root()); err != nil {
		t.Fatal(err)
	}
	if entries, problems, err := s.List(); err != nil || len(entries)+len(problems) != 0 {
		t.Fatalf("List after clearing: %v %v %v", entries, problems, err)
	}
	if err := s.SaveChat(&app.ChatRecord{Title: "new"}); err != nil {
		t.Fatal(err)
	}
	ref, err := s.ImportImage(writePNG(t, t.TempDir(), "a.png", 4, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(app.DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	if entries, _, _ := s.List(); len(entries) != 1 || entries[0].Title != "new" || ref.SHA256 == "" {
		t.Errorf("after clearing and saving: %+v", entries)
	}
}

// TestOpenStoreRemovesStaleTemporaryFiles: files a crash left mid-write are removed once they
// are old enough not to belong to another running instance.
func TestOpenStoreRemovesStaleTemporaryFiles(t *testing.T) {
	s := openStore(t)
	stale := filepath.Join(s.Root(), "chats", ".x.json.123.tmp")
	fresh := filepath.Join(s.Root(), "chats", ".y.json.456.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	if _, err := app.OpenStore(s.Root()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// CheckWritable says which folder of the store cannot be written, and leaves nothing behind.
func TestStoreCheckWritable(t *testing.T) {
	s := openStore(t)
	if err := s.CheckWritable(); err != nil {
		t.Fatalf("a fresh store: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Root(), "*", ".write-check*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	// A folder where the check's file goes stands for a folder that cannot be written (as
	// root, permissions do not stop a write).
	block := filepath.Join(s.Root(), "images", ".write-check")
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(); err == nil || !strings.Contains(err.Error(), filepath.Join(s.Root(), "images")) {
		t.Errorf("CheckWritable with images/ blocked = %v", err)
	}
	// The store's own folder, where the settings go, is checked apart: the history's
	// folders may take what is made while the settings cannot be saved.
	if err := s.CheckSettingsWritable(); err != nil {
		t.Errorf("CheckSettingsWritable with images/ blocked = %v", err)
	}
	if err := os.MkdirAll(filepath.Join(s.Root(), ".write-check", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSettingsWritable(); err == nil || !strings.Contains(err.Error(), s.Root()) {
		t.Errorf("CheckSettingsWritable with the folder blocked = %v", err)
	}
}

// Drafts kept in the same second each get a file of their own: none overwrites another.
func TestKeepUnsentNames(t *testing.T) {
	s := openStore(t)
	texts := []string{"first draft", "second draft", "third draft"}
	seen := map[string]bool{}
	for _, text := range texts {
		p, err := s.KeepUnsent("chat", text)
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("two drafts were kept as %s", p)
		}
		seen[p] = true
	}
	found := map[string]bool{}
	for p := range seen {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		found[string(data)] = true
	}
	for _, text := range texts {
		if !found[text] {
			t.Errorf("the draft %q was lost (files: %v)", text, seen)
		}
	}
}

// A stored image damaged on disk is written again when the same picture is stored: its
// file's name is its content's digest, which the damaged bytes no longer have.
func TestPutImageRepairsDamage(t *testing.T) {
	s := openStore(t)
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 30))); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	ref, err := s.PutImage(data)
	if err != nil {
		t.Fatal(err)
	}
	p := s.ImagePath(ref)
	damaged := bytes.Clone(data)
	for i := len(damaged) / 2; i < len(damaged)/2+10; i++ {
		damaged[i] ^= 0xff
	}
	if err := os.WriteFile(p, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutImage(data); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the damaged file was kept (%v)", err)
	}
}

// Release removes a stored picture no record mentions and no draft keeps, and nothing else.
func TestReleaseImage(t *testing.T) {
	s := openStore(t)
	put := func(w int) string {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, 30))); err != nil {
			t.Fatal(err)
		}
		ref, err := s.PutImage(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return s.ImagePath(ref)
	}
	there := func(p string) bool { _, err := os.Stat(p); return err == nil }

	alone := put(10)
	s.Release([]string{alone}, time.Now())
	if there(alone) {
		t.Error("a picture nothing mentions was kept")
	}
	asked := time.Now()
	again := put(13) // pasted again after the release was asked for
	s.Release([]string{again}, asked)
	if !there(again) {
		t.Error("a picture stored again after the release was asked for was removed")
	}
	kept := put(11)
	s.Release([]string{kept}, time.Now(), "/elsewhere/x.png", kept)
	if !there(kept) {
		t.Error("a picture another draft holds was removed")
	}
	sent := put(12)
	ref := app.ImageRef{SHA256: strings.TrimSuffix(filepath.Base(sent), ".png"), Ext: ".png", Width: 12, Height: 30}
	chat := &app.ChatRecord{Title: "with a picture", Messages: []app.ChatMessage{{Text: "this?", Images: []app.ImageRef{ref}, State: app.StateDone}}}
	if err := s.SaveChat(chat); err != nil {
		t.Fatal(err)
	}
	s.Release([]string{sent}, time.Now())
	if !there(sent) {
		t.Error("a picture a chat mentions was removed")
	}
	outside := filepath.Join(t.TempDir(), filepath.Base(sent))
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Release([]string{outside, filepath.Join(s.Root(), "images", "notadigest.png")}, time.Now())
	if !there(outside) {
		t.Error("a file outside the store was removed")
	}
}

// A history folder that cannot be read is a problem that names it; the other kind of entries
// is still listed (one unreadable folder hid the whole history).
func TestListUnreadableFolder(t *testing.T) {
	s := openStore(t)
	if err := s.SaveSet(&app.ImageSet{Title: "kept", Settings: app.DefaultGenerationSettings()}); err != nil {
		t.Fatal(err)
	}
	chats := filepath.Join(s.Root(), "chats")
	if err := os.Remove(chats); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chats, nil, 0o600); err != nil { // unreadable as a folder, even as root
		t.Fatal(err)
	}
	entries, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Title != "kept" {
		t.Errorf("entries %+v, want the image set", entries)
	}
	if len(problems) != 1 || problems[0].Path != chats || !strings.Contains(problems[0].Error(), chats) {
		t.Errorf("problems %v, want the chats folder", problems)
	}
}

// A record whose title was edited away lists under a title made from what it holds, not as
// a blank row.
func TestListBlankTitle(t *testing.T) {
	s := openStore(t)
	chat := &app.ChatRecord{Messages: []app.ChatMessage{{Text: "what is in the picture?", State: app.StateDone}}}
	if err := s.SaveChat(chat); err != nil {
		t.Fatal(err)
	}
	g := app.DefaultGenerationSettings()
	g.Prompt = "a red fox in the snow"
	set := &app.ImageSet{Settings: g}
	if err := s.SaveSet(set); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(s.Root(), "chats", chat.ID+".json"), filepath.Join(s.Root(), "sets", set.ID+".json")} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		rec["title"] = nil
		data, _ = json.Marshal(rec)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	entries, problems, err := s.List()
	if err != nil || len(problems) != 0 || len(entries) != 2 {
		t.Fatalf("List = %+v, %v, %v", entries, problems, err)
	}
	titles := map[app.Kind]string{}
	for _, e := range entries {
		titles[e.Kind] = e.Title
	}
	if titles[app.KindChat] != "what is in the picture?" || titles[app.KindImageSet] != "a red fox in the snow" {
		t.Errorf("titles %v", titles)
	}
}

// A draft kept where unsent/ cannot hold files is an error, not a hang (the search for a free
// name went on forever).
func TestKeepUnsentBlocked(t *testing.T) {
	s := openStore(t)
	if err := os.WriteFile(filepath.Join(s.Root(), "unsent"), nil, 0o600); err != nil { // a file in its place
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.KeepUnsent("chat", "a long draft")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a draft was kept in a file where unsent/ should be")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("KeepUnsent did not return")
	}
}
