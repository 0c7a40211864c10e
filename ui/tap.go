package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// tapTarget makes any object (a thumbnail, a tile) clickable, with a hand cursor.
type tapTarget struct {
	widget.BaseWidget
	obj   fyne.CanvasObject
	onTap func()
}

func newTapTarget(obj fyne.CanvasObject, onTap func()) *tapTarget {
	t := &tapTarget{obj: obj, onTap: onTap}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tapTarget) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.obj) }

// Tapped runs the action.
func (t *tapTarget) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}

// Cursor shows that the object can be clicked.
func (t *tapTarget) Cursor() desktop.Cursor { return desktop.PointerCursor }

// exampleChip is an example prompt of an empty view: a button with the theme's button fill,
// so that it reads as something to click (a low-importance button looked like a heading).
func exampleChip(text string, onTap func()) *widget.Button {
	b := widget.NewButton(text, onTap)
	b.Importance = widget.MediumImportance
	return b
}
