package ui

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.design/x/clipboard"

	"github.com/janus-desktop/janus/app"
)

// pictureClipboard is the system clipboard's picture side: Fyne's clipboard holds text only,
// and people copy a picture out of Create into other apps, or paste a screenshot into a chat.
// Both calls may wait on another program (the clipboard's owner): not on the UI goroutine,
// and through guardedPictures, which gives up on an owner that does not answer.
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
	if data, ok := readX11Picture(); ok {
		return data, nil
	}
	if err := p.init(); err != nil {
		return nil, err
	}
	return clipboard.Read(clipboard.FmtImage), nil
}

// readX11Picture reads the clipboard's PNG with xclip where it is installed on Linux (ok
// false elsewhere): a program offering more than one X11 request holds (GTK's screenshots
// and browsers, above 256 KB) hands it over in pieces (INCR), which the library does not
// take: it read none, and its abandoned transfer could make the owner quit.
func readX11Picture() (data []byte, ok bool) {
	if runtime.GOOS != "linux" {
		return nil, false
	}
	xclip, err := exec.LookPath("xclip")
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), pasteWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, xclip, "-selection", "clipboard", "-t", "image/png", "-o").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("\x89PNG")) {
		return nil, true // no picture on the clipboard (xclip says so by failing)
	}
	return out, true
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

// errClipboardStuck is a clipboard call that did not return in time: the program that owns
// the clipboard does not answer, and the library's calls wait for one another.
var errClipboardStuck = errors.New("the program that owns the clipboard does not answer: try again once it does, or copy the picture anew")

// guardedPictures gives a picture clipboard's calls a time limit. A call past it is left to
// finish alone (the library cannot stop it) and, until it does, every call fails at once:
// the library lets one call run at a time, so they would only queue behind it.
type guardedPictures struct {
	clip pictureClipboard
	wait time.Duration

	mu    sync.Mutex
	stuck bool
}

func (g *guardedPictures) ReadPNG() ([]byte, error) { return g.call(g.clip.ReadPNG) }

func (g *guardedPictures) WritePNG(data []byte) error {
	_, err := g.call(func() ([]byte, error) { return nil, g.clip.WritePNG(data) })
	return err
}

func (g *guardedPictures) call(f func() ([]byte, error)) ([]byte, error) {
	g.mu.Lock()
	if g.stuck {
		g.mu.Unlock()
		return nil, errClipboardStuck
	}
	g.mu.Unlock()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := f()
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(g.wait):
		g.mu.Lock()
		g.stuck = true
		g.mu.Unlock()
		go func() {
			<-done
			g.mu.Lock()
			g.stuck = false
			g.mu.Unlock()
		}()
		return nil, errClipboardStuck
	}
}

// pictures is the clipboard the window copies pictures to and pastes them from.
func (u *UI) pictures() pictureClipboard {
	if u.clip == nil {
		var clip pictureClipboard = systemPictures{}
		if u.opts.pictures != nil {
			clip = u.opts.pictures
		}
		u.clip = &guardedPictures{clip: clip, wait: cmp.Or(u.opts.pasteWait, pasteWait)}
	}
	return u.clip
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

// pasteWait is how long a clipboard call waits for the clipboard's owner, another program,
// which may not answer.
const pasteWait = 5 * time.Second

// readPicture reads the clipboard's picture off the UI goroutine, then runs done on it with
// the PNG bytes (nil when the clipboard holds no picture) or why it could not.
func (u *UI) readPicture(done func([]byte, error)) {
	clip := u.pictures()
	go func() {
		data, err := clip.ReadPNG()
		u.do(func() { done(data, err) })
	}()
}
