package ui

import (
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/janus-desktop/janus/app"
)

// viewerSize is the large view's picture size.
const viewerSize = 560

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
			u.showPicture(img, title, caption, nil)
		})
	}()
}

// showPicture opens img large with a caption and extra buttons under it, and returns the
// dialog (so that the buttons can close it).
func (u *UI) showPicture(img image.Image, title, caption string, extra fyne.CanvasObject) dialog.Dialog {
	pic := canvas.NewImageFromImage(img)
	pic.FillMode = canvas.ImageFillContain
	pic.ScaleMode = canvas.ImageScaleFastest // the model's pixels, not a blur
	pic.SetMinSize(fyne.NewSize(viewerSize, viewerSize))
	body := container.NewVBox(pic)
	if caption != "" {
		l := widget.NewLabel(caption)
		l.Wrapping = fyne.TextWrapWord
		body.Add(container.New(fixedWidth{viewerSize}, l))
	}
	if extra != nil {
		body.Add(extra)
	}
	if title == "" {
		title = "Image"
	}
	d := dialog.NewCustom(title, "Close", body, u.win)
	u.show(d)
	return d
}
