package ui

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/pngfile"
)

// fakePictures is a picture clipboard in memory, which can fail.
type fakePictures struct {
	mu                sync.Mutex
	png               []byte
	readErr, writeErr error
	reads, writes     int
}

func (f *fakePictures) ReadPNG() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.png, f.readErr
}

func (f *fakePictures) WritePNG(data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writeErr != nil {
		return f.writeErr
	}
	f.png = bytes.Clone(data)
	return nil
}

// set changes what the clipboard holds, and what its reads fail with.
func (f *fakePictures) set(png []byte, readErr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.png, f.readErr = png, readErr
}

func (f *fakePictures) held() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.png
}

// Copy puts a tile's picture on the clipboard as the PNG Save writes, its settings in its
// text; the canvas says so, or why not.
func TestCanvasCopyImage(t *testing.T) {
	clip := &fakePictures{}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip })
	c := h.u.create
	generateTwo(t, h)
	c.copyImage(1, nil)
	h.pump("the copy", func() bool { return c.news.label.Text != "" })
	if c.news.label.Text != "Copied the image to the clipboard" || c.notice.Visible() {
		t.Errorf("after a copy the canvas says %q (notice %q)", c.news.label.Text, c.notice.Text)
	}
	img, err := png.Decode(bytes.NewReader(clip.held()))
	if err != nil {
		t.Fatalf("the clipboard holds no PNG: %v", err)
	}
	if !bytes.Equal(nrgbaPix(img), c.tiles[1].result.Image.Pix) {
		t.Error("the copied pixels differ from the tile's")
	}
	fields, err := pngfile.ReadText(clip.held())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(textValues(fields), "|"), "a red lighthouse") {
		t.Errorf("the copied PNG does not carry its prompt: %v", fields)
	}

	clip.mu.Lock()
	clip.writeErr = errors.New("the clipboard did not take the picture")
	clip.mu.Unlock()
	c.copyImage(0, nil)
	h.pump("the failed copy", func() bool { return c.notice.Visible() })
	if !strings.Contains(c.notice.Text, "did not take the picture") {
		t.Errorf("a failed copy says %q", c.notice.Text)
	}
}

func textValues(fields []pngfile.TextField) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Value)
	}
	return out
}

// In the large view Copy leaves the view open and says Copied; a failure is said over it.
func TestLargeViewCopySaysCopied(t *testing.T) {
	clip := &fakePictures{}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip; o.copiedFor = time.Hour })
	c := h.u.create
	generateTwo(t, h)
	c.openLarge(0)
	view := h.u.win.Canvas().Overlays().Top()
	if buttonsIn(view)["Save"].b == nil {
		t.Error("the large view of a chat's picture has no Save (a pasted picture's only copy is the store's)")
	}
	test.Tap(buttonsIn(view)["Copy"].b)
	h.pump("Copied", func() bool { return buttonsIn(view)["Copied"].b != nil })
	if top := h.u.win.Canvas().Overlays().Top(); top != view || len(clip.held()) == 0 {
		t.Errorf("after Copy the view is still on top: %v; the clipboard holds %d bytes", top == view, len(clip.held()))
	}

	clip.mu.Lock()
	clip.writeErr = errors.New("no clipboard here")
	clip.mu.Unlock()
	c.openLarge(1)
	view = h.u.win.Canvas().Overlays().Top()
	test.Tap(buttonsIn(view)["Copy"].b)
	h.pump("the error", func() bool { return h.u.win.Canvas().Overlays().Top() != view })
	if s := strings.Join(textsIn(h.u.win.Canvas().Overlays().Top()), " "); !strings.Contains(s, "Cannot copy the image") || !strings.Contains(s, "no clipboard here") {
		t.Errorf("a failed copy in the large view shows %q", s)
	}
}

// A paste of no text takes the clipboard's picture (a screenshot) as an attachment kept in
// the store; a paste of text pastes the text; a failure or an oversized picture is said.
func TestChatPastePicture(t *testing.T) {
	data, err := os.ReadFile(landscape(t))
	if err != nil {
		t.Fatal(err)
	}
	clip := &fakePictures{png: data}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip })
	ch := h.u.chat
	cb := fyne.CurrentApp().Clipboard()
	paste := func() { ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb}) }

	cb.SetContent("")
	paste()
	h.pump("the pasted picture attached", func() bool { return len(ch.attached) == 1 })
	a := ch.attached[0]
	if a.label != "Pasted image" || filepath.Dir(a.path) != filepath.Dir(h.u.store.ImagePath(app.ImageRef{SHA256: strings.Repeat("0", 64), Ext: ".png"})) {
		t.Errorf("the pasted picture is %q at %s, not a stored image", a.label, a.path)
	}
	if got, err := os.ReadFile(a.path); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the stored picture differs from the clipboard's (%v)", err)
	}
	if ch.entry.Text != "" {
		t.Errorf("the paste typed %q", ch.entry.Text)
	}

	// A picture's bytes handed over as text (an X11 owner answering every type with the
	// picture) are no text: the picture clipboard is asked.
	cb.SetContent("\x89PNG\r\n\x1a\n\x00\x00 binary")
	clip.set(nil, nil)
	paste()
	h.pump("the picture clipboard asked", func() bool {
		clip.mu.Lock()
		defer clip.mu.Unlock()
		return clip.reads == 2
	})
	if ch.entry.Text != "" {
		t.Errorf("a picture's bytes were typed: %q", ch.entry.Text)
	}
	clip.set(data, nil)

	cb.SetContent("some words")
	paste()
	clip.mu.Lock()
	reads := clip.reads
	clip.mu.Unlock()
	if ch.entry.Text != "some words" || reads != 2 {
		t.Errorf("a paste of words typed %q and read the picture clipboard %d times", ch.entry.Text, reads)
	}

	for _, c := range []struct {
		name string
		png  []byte
		err  error
		want string
	}{
		{"unreadable", nil, errors.New("the owner went away"), "Cannot paste the picture: the owner went away"},
		{"too large", make([]byte, app.MaxAttachmentBytes+1), nil, "too large to attach"},
		{"damaged", []byte("\x89PNG not really"), nil, "Cannot paste the picture"},
	} {
		ch.setNotice("")
		clip.set(c.png, c.err)
		cb.SetContent("")
		paste()
		h.pump(c.name+": the notice", func() bool { return ch.notice.Visible() })
		if !strings.Contains(ch.notice.Text, c.want) || len(ch.attached) != 1 {
			t.Errorf("%s: the chat says %q with %d attached, want %q", c.name, ch.notice.Text, len(ch.attached), c.want)
		}
	}
}

// A paste of nothing, text or picture, does nothing.
func TestChatPasteNothing(t *testing.T) {
	clip := &fakePictures{}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip })
	ch := h.u.chat
	cb := fyne.CurrentApp().Clipboard()
	cb.SetContent("")
	ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	h.pump("the clipboard read", func() bool {
		clip.mu.Lock()
		defer clip.mu.Unlock()
		return clip.reads == 1
	})
	h.settle() // the read's outcome, handed to the UI goroutine
	if len(ch.attached) != 0 || ch.notice.Visible() || ch.entry.Text != "" {
		t.Errorf("a paste of nothing: %d attached, notice %q, text %q", len(ch.attached), ch.notice.Text, ch.entry.Text)
	}
}

// A chat picture opened large has Copy too, and a picture of the store (pasted, or from
// Create) is titled as an image, not by the digest its file is named by.
func TestChatPictureViewCopies(t *testing.T) {
	clip := &fakePictures{}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip; o.copiedFor = time.Hour })
	data, err := os.ReadFile(landscape(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := h.u.store.PutImage(data)
	if err != nil {
		t.Fatal(err)
	}
	c := h.u.chat
	c.attachFiles([]attachment{{path: h.u.store.ImagePath(ref), label: "Pasted image"}})
	h.pump("the picture", func() bool { return len(c.attached) == 1 })
	h.ask("what is it?")
	m := c.session.Messages()[0]
	if len(m.Images) != 1 || m.Images[0].Name != "" {
		t.Fatalf("the question's picture is named %q", m.Images[0].Name)
	}
	h.u.showImage(h.u.store.ImagePath(m.Images[0]), m.Images[0].Name, "")
	h.pump("the large view", func() bool { return h.u.win.Canvas().Overlays().Top() != nil })
	view := h.u.win.Canvas().Overlays().Top()
	if texts := textsIn(view); !slices.Contains(texts, "Image") {
		t.Errorf("the view's title is not Image: %q", texts)
	}
	if buttonsIn(view)["Save"].b == nil {
		t.Error("the large view of a chat's picture has no Save (a pasted picture's only copy is the store's)")
	}
	// A photo is scaled smoothly: nearest pixels made a small one blocky, a large one jagged.
	if pics := picturesIn(view); len(pics) != 1 || pics[0].ScaleMode != canvas.ImageScaleSmooth {
		t.Errorf("the large view's pictures %v, want one scaled smoothly", pics)
	}
	test.Tap(buttonsIn(view)["Copy"].b)
	h.pump("Copied", func() bool { return buttonsIn(view)["Copied"].b != nil })
	if img, err := png.Decode(bytes.NewReader(clip.held())); err != nil || img.Bounds().Dx() != 150 {
		t.Errorf("the clipboard holds %v (%v)", img, err)
	}
}

// stuckPictures is a clipboard whose owner does not answer a read until release is closed,
// with the library's one lock for every call: a write waits for the stuck read.
type stuckPictures struct {
	fakePictures
	release chan struct{}
	lock    sync.Mutex
}

func (s *stuckPictures) ReadPNG() ([]byte, error) {
	s.lock.Lock()
	defer s.lock.Unlock()
	<-s.release
	return s.fakePictures.ReadPNG()
}

func (s *stuckPictures) WritePNG(data []byte) error {
	s.lock.Lock()
	defer s.lock.Unlock()
	return s.fakePictures.WritePNG(data)
}

// A clipboard owner that does not answer is said, and Copy meanwhile fails at once with the
// same reason (the library's calls wait for one another: a Copy after a stuck paste hung for
// good, saying nothing); once the owner answers, Copy works again.
func TestClipboardOwnerNotAnswering(t *testing.T) {
	clip := &stuckPictures{release: make(chan struct{})}
	h := newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = clip; o.pasteWait = 50 * time.Millisecond })
	ch := h.u.chat
	cb := fyne.CurrentApp().Clipboard()
	cb.SetContent("")
	ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	h.pump("the paste given up", func() bool { return ch.notice.Visible() })
	if !strings.Contains(ch.notice.Text, "does not answer") {
		t.Errorf("a stuck paste says %q", ch.notice.Text)
	}
	c := h.u.create
	generateTwo(t, h)
	c.copyImage(0, nil)
	h.pump("the copy refused", func() bool { return c.notice.Visible() })
	if !strings.Contains(c.notice.Text, "does not answer") {
		t.Errorf("a copy behind a stuck paste says %q", c.notice.Text)
	}
	close(clip.release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.setNotice("")
		c.copyImage(1, nil)
		h.pump("the copy", func() bool { return c.notice.Visible() || c.news.label.Text == "Copied the image to the clipboard" })
		if !c.notice.Visible() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Copy still fails once the owner answered: %q", c.notice.Text)
		}
		time.Sleep(10 * time.Millisecond) // the stuck read's end is noticed on its own goroutine
	}
}

// pastingWindow is a window whose picture clipboard holds the landscape fixture, with paste,
// which pastes it into an empty composer and returns the stored copy's path, and stored,
// which reports whether a path's file is there.
func pastingWindow(t *testing.T) (h *harness, paste func() string, stored func(string) bool) {
	data, err := os.ReadFile(landscape(t))
	if err != nil {
		t.Fatal(err)
	}
	h = newHarness(t, apptest.NewFakeEngine(0), func(o *Options) { o.pictures = &fakePictures{png: data} })
	ch := h.u.chat
	cb := fyne.CurrentApp().Clipboard()
	cb.SetContent("")
	paste = func() string {
		ch.entry.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
		h.pump("the pasted picture attached", func() bool { return len(ch.attached) == 1 })
		return ch.attached[0].path
	}
	stored = func(p string) bool { _, err := os.Stat(p); return err == nil }
	return h, paste, stored
}

// A pasted picture taken back before it was sent leaves no copy in the store; once a chat
// holds it, taking it back from another draft keeps it.
func TestPastedPictureRemoved(t *testing.T) {
	h, paste, there := pastingWindow(t)
	u, ch := h.u, h.u.chat
	takeBack := func() {
		visit(ch.attached[0].chip, fyne.Position{}, func(o fyne.CanvasObject, _ fyne.Position) {
			if b, ok := o.(*tipButton); ok {
				test.Tap(b)
			}
		})
		h.pump("the chip removed", func() bool { return len(ch.attached) == 0 })
		u.waitBackground(5 * time.Second)
	}

	p := paste()
	takeBack()
	if there(p) {
		t.Error("a pasted picture taken back unsent stays in the store")
	}
	p = paste()
	h.ask("what is this?")
	h.waitAnswers(1)
	u.newChat()
	if paste() != p {
		t.Fatal("the same picture pasted twice has two files")
	}
	takeBack()
	if !there(p) {
		t.Error("a picture a chat holds was removed when another draft gave it up")
	}
}

// Deleting a chat whose draft holds a pasted picture takes the picture out of the store, unless
// the chat was open and its draft went to the new chat.
func TestDeletedDraftReleasesPicture(t *testing.T) {
	h, paste, there := pastingWindow(t)
	u, ch := h.u, h.u.chat
	h.ask("a first question")
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	h.waitAnswers(1)
	p := paste()

	// Open: the draft, picture and all, goes to the new chat.
	u.sidebar.doDelete(u.sidebar.entries[0])
	h.pump("the deletion", func() bool { return len(u.sidebar.entries) == 0 && len(ch.attached) == 1 })
	u.waitBackground(5 * time.Second)
	if !there(p) {
		t.Fatal("the picture the new chat's draft holds was removed")
	}
	// Not open: the draft goes with the chat.
	h.ask("a second question")
	h.pump("the chat in the history", func() bool { return len(u.sidebar.entries) == 1 })
	h.waitAnswers(1)
	paste()
	u.newChat()
	h.pump("the draft left", func() bool { return len(ch.attached) == 0 && ch.holdsDraft(u.sidebar.entries[0].ID) })
	u.sidebar.doDelete(u.sidebar.entries[0])
	h.pump("the deletion", func() bool { return len(u.sidebar.entries) == 0 })
	u.waitBackground(5 * time.Second)
	if there(p) {
		t.Error("the pasted picture of a deleted chat's draft stays in the store")
	}
}
