package ui

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// The large view's picture is as large as the window leaves room for, between
// viewerMinSize and viewerMaxSize (twice the released models' 384-pixel images).
const viewerMinSize, viewerMaxSize = 320, 768

// viewerSize is the large view's picture side in the window as it is now: the window less
// the dialog's frame, title, caption and buttons.
func (u *UI) viewerSize() float32 {
	win := u.win.Canvas().Size()
	if win.Width <= 0 || win.Height <= 0 {
		return 560
	}
	return min(max(min(win.Width-160, win.Height-240), viewerMinSize), viewerMaxSize)
}

// showImage opens the image file at path large, decoding it off the UI goroutine (within
// the attachment limits).
func (u *UI) showImage(path, title, caption string) {
	go func() {
		img, err := app.DecodeImageFile(path)
		u.do(func() {
			if err != nil {
				u.showError("Cannot open the image", err, "The file may have been moved or damaged.")
				return
			}
			u.showPicture(img, title, caption, canvas.ImageScaleSmooth, u.savePictureButton(path, title), u.copyPictureButton(img))
		})
	}()
}

// savePictureButton is a Save for the large view of the image file at src (a chat's picture,
// whose only copy may be the store's: a pasted one), which writes the file as it is where
// asked and says Saved for a moment.
func (u *UI) savePictureButton(src, name string) fyne.CanvasObject {
	ext := filepath.Ext(src)
	if name == "" || filepath.Ext(name) == "" {
		name = "picture" + ext
	}
	return u.flashButton("Save", "Saved", theme.DocumentSaveIcon(), func(done func()) {
		u.askSavePath(name, ext, func(path string, opened io.WriteCloser) {
			go func() {
				err := writeChosen(path, opened, func() error { return app.CopyImageFile(path, src) },
					func() ([]byte, error) { return os.ReadFile(src) })
				u.do(func() {
					if err != nil {
						u.showError("Cannot save the image", err, "Choose another folder or name.")
						return
					}
					done()
				})
			}()
		})
	})
}

// askSavePath asks where to save a file, name suggested, of the type ext (".png"); chosen
// runs with the path and the file the dialog opened for it. A file the dialog could not
// open is said where the user looks; a cancel does nothing.
func (u *UI) askSavePath(name, ext string, chosen func(path string, opened io.WriteCloser)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			// A folder that takes no new file, a file that cannot be written: not dropped.
			u.showError("Cannot save the image", err, "Choose another folder or name.")
			return
		}
		if w == nil {
			return // cancelled
		}
		// The name as chosen: one without the extension is the user's (the dialog has made
		// that file already; adding one left it empty beside a file it never asked to replace).
		chosen(w.URI().Path(), w)
	}, u.win)
	d.SetFileName(name)
	if ext != "" {
		d.SetFilter(storage.NewExtensionFileFilter([]string{ext}))
	}
	d.Resize(fyne.NewSize(760, 520))
	u.show(d) // the newest dialog: Esc and the large view's arrows are not for the one under it
}

// writeChosen writes a file the save dialog chose, off the UI goroutine: write replaces the
// file at path whole (atomically). opened, when not nil, is the file as the dialog opened it
// (emptied, when it was there): it is closed, and where the folder takes no new file, data's
// bytes go through it instead; a failure then says the file may be left empty.
func writeChosen(path string, opened io.WriteCloser, write func() error, data func() ([]byte, error)) error {
	err := write()
	if err != nil && opened != nil && errors.Is(err, fs.ErrPermission) {
		// The file is written in place, not by a temporary one renamed over it: the dialog
		// emptied it already, and failing here left it empty.
		slog.Warn("save: the folder takes no new file; writing the file in place", "path", path, "err", err)
		var b []byte
		if b, err = data(); err == nil {
			_, err = opened.Write(b)
		}
		// Written through the dialog's file, its Close is where a failed write shows (a
		// full disk, a network folder).
		if cerr := opened.Close(); err == nil {
			err = cerr
		}
	} else if opened != nil {
		opened.Close() // the file was replaced whole, or not written at all
	}
	if err != nil && opened != nil {
		err = fmt.Errorf("%w; %s may be left empty", err, filepath.Base(path))
	}
	return err
}

// copyPictureButton is a Copy for the large view of img, which says Copied for a moment, or
// why the clipboard did not take it.
func (u *UI) copyPictureButton(img image.Image) fyne.CanvasObject {
	return u.flashButton("Copy", "Copied", theme.ContentCopyIcon(), func(done func()) {
		u.copyPicture(img, app.ImageMeta{}, func(err error) {
			if err != nil {
				u.showError("Cannot copy the image", err, "")
				return
			}
			done()
		})
	})
}

// flashButton is a button of a view that stays open (the large view's Save and Copy): act
// runs the action and calls done once it succeeded, and the button then says doneName, with
// a tick, for a moment. It keeps one width for both, so the buttons beside it do not move.
func (u *UI) flashButton(name, doneName string, icon fyne.Resource, act func(done func())) fyne.CanvasObject {
	var b *escButton
	var timer *time.Timer
	b = u.newButton(name, icon, func() {
		act(func() {
			u.flash(&timer, func() { b.SetText(doneName); b.SetIcon(theme.ConfirmIcon()) },
				func() { b.SetText(name); b.SetIcon(icon) })
		})
	})
	return container.New(fixedWidth{steadyWidth(widget.NewButtonWithIcon(name, icon, nil),
		widget.NewButtonWithIcon(doneName, theme.ConfirmIcon(), nil))}, b)
}

// showPicture opens img large with a caption and actions beside its Close, and returns the
// dialog (so that the actions can close it). scale is how the picture meets the view's size:
// Create's results show the model's pixels (canvas.ImageScaleFastest), not a blur; a chat's
// pictures (photos, and a generated image sent to a chat, which cannot be told apart there)
// are scaled smoothly (canvas.ImageScaleSmooth), where nearest pixels made a small photo
// blocky and a large one jagged.
func (u *UI) showPicture(img image.Image, title, caption string, scale canvas.ImageScale, actions ...fyne.CanvasObject) dialog.Dialog {
	pic := canvas.NewImageFromImage(img)
	pic.FillMode = canvas.ImageFillContain
	pic.ScaleMode = scale
	pic.SetMinSize(fyne.NewSize(viewerPicMin, viewerPicMin))
	side := u.viewerSize()
	under := container.NewVBox()
	if caption != "" {
		l := widget.NewLabel(caption)
		l.Wrapping = fyne.TextWrapWord
		under.Add(container.New(fixedWidth{side}, l))
	}
	if title == "" {
		title = "Image"
	}
	// The picture takes what the caption and the buttons leave of the dialog, and the
	// dialog what the window has: in a small window the picture shrinks, nothing overlaps.
	d := u.closingDialog(title, container.NewBorder(nil, under, nil, nil, pic), actions...)
	frame := fyne.NewSize(2*theme.Padding()*4, 150) // the dialog's margins, title and button row
	d.Resize(u.dialogSize(fyne.NewSize(side+frame.Width, side+under.MinSize().Height+frame.Height)))
	u.show(d)
	return d
}

// viewerPicMin is the least the large view's picture shrinks to in a small window.
const viewerPicMin = 160
