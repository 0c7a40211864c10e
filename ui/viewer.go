package ui

import (
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
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
			u.showPicture(img, title, caption, u.copyPictureButton(img))
		})
	}()
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
// dialog (so that the actions can close it).
func (u *UI) showPicture(img image.Image, title, caption string, actions ...fyne.CanvasObject) dialog.Dialog {
	pic := canvas.NewImageFromImage(img)
	pic.FillMode = canvas.ImageFillContain
	pic.ScaleMode = canvas.ImageScaleFastest // the model's pixels, not a blur
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
