package ui

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"time"

	"golang.design/x/clipboard"

	"github.com/janus-desktop/janus/app"
)

// pictureClipboard is the system clipboard's picture side: Fyne's clipboard holds text only,
// and people copy a picture out of Create into other apps, or paste a screenshot into a chat.
// Both calls may wait on another program (the clipboard's owner): not on the UI goroutine.
type pictureClipboard interface {
	// ReadPNG returns the picture on the clipboard as PNG bytes, or nil when it holds none.
	ReadPNG() ([]byte, error)
	// WritePNG puts a PNG on the clipboard.
	WritePNG(data []byte) error
}

// systemPictures is the system clipboard through golang.design/x/clipboard, which speaks
// each platform's picture format (X11 selections, NSPasteboard, the Windows clipboard).
// It works in the cgo build the app is (and on Windows); without cgo it says so.
type systemPictures struct{}

// errNoPictureClipboard wraps the library's reason for a clipboard it cannot use.
var errNoPictureClipboard = errors.New("this desktop offers no picture clipboard to the app")

func (systemPictures) init() error {
	if err := clipboard.Init(); err != nil {
		// The library's message goes on with a paragraph of install advice for developers.
		reason, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("%w (%s)", errNoPictureClipboard, reason)
	}
	return nil
}

func (p systemPictures) ReadPNG() ([]byte, error) {
	if err := p.init(); err != nil {
		return nil, err
	}
	return clipboard.Read(clipboard.FmtImage), nil
}

func (p systemPictures) WritePNG(data []byte) error {
	if err := p.init(); err != nil {
		return err
	}
	// Write returns nil when the platform refused the picture (its reason is only logged
	// in the library's debug mode).
	if clipboard.Write(clipboard.FmtImage, data) == nil {
		return errors.New("the clipboard did not take the picture")
	}
	return nil
}

// pictures is the clipboard the window copies pictures to and pastes them from.
func (u *UI) pictures() pictureClipboard {
	if u.opts.pictures != nil {
		return u.opts.pictures
	}
	return systemPictures{}
}

// copyPicture puts img (with meta in its PNG text, as Save writes it) on the clipboard off
// the UI goroutine, then runs done on it with the outcome.
func (u *UI) copyPicture(img image.Image, meta app.ImageMeta, done func(error)) {
	clip := u.pictures()
	go func() {
		data, err := app.EncodePNG(img, meta)
		if err == nil {
			err = clip.WritePNG(data)
		}
		if err != nil {
			err = fmt.Errorf("copy the picture: %w", err)
		}
		u.do(func() { done(err) })
	}()
}

// pasteWait is how long a paste waits for the clipboard's picture before giving up: its
// owner is another program, which may not answer.
const pasteWait = 5 * time.Second

// readPicture reads the clipboard's picture off the UI goroutine, then runs done on it with
// the PNG bytes (nil when the clipboard holds no picture) or why it could not.
func (u *UI) readPicture(done func([]byte, error)) {
	clip := u.pictures()
	got := make(chan struct{})
	var data []byte
	var err error
	go func() {
		data, err = clip.ReadPNG()
		close(got)
	}()
	go func() {
		select {
		case <-got:
			u.do(func() { done(data, err) })
		case <-time.After(pasteWait):
			// The read goes on alone: the library cannot stop it.
			u.do(func() { done(nil, errors.New("the program that owns the clipboard did not hand its picture over")) })
		}
	}()
}
