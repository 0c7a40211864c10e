package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
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
func (u *UI) exampleChip(text string, onTap func()) *escButton {
	b := u.newButton(text, nil, onTap)
	b.Importance = widget.MediumImportance
	return b
}

// keyTarget is a tapTarget the keyboard reaches too (a finished picture on the canvas): Tab
// focuses it, a ring in the accent colour shows that, and Enter runs it, as a click does, and
// Space as it comes up (spaceKey), as on the app's buttons; Esc is the window's (escape).
type keyTarget struct {
	widget.BaseWidget
	obj    fyne.CanvasObject
	ring   *canvas.Rectangle
	onTap  func()
	escape func()
	spaceKey
}

func newKeyTarget(obj fyne.CanvasObject, onTap, escape func()) *keyTarget {
	t := &keyTarget{obj: obj, onTap: onTap, escape: escape}
	t.press = func() { t.Tapped(nil) }
	t.ring = canvas.NewRectangle(color.Transparent)
	t.ring.StrokeWidth = 2
	t.ring.CornerRadius = theme.InputRadiusSize()
	t.ring.Hide()
	t.ExtendBaseWidget(t)
	return t
}

func (t *keyTarget) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(t.obj, t.ring))
}

// Tapped runs the action.
func (t *keyTarget) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}

// Cursor shows that the object can be clicked.
func (t *keyTarget) Cursor() desktop.Cursor { return desktop.PointerCursor }

// FocusGained shows the ring, and forgets a Space held elsewhere.
func (t *keyTarget) FocusGained() {
	t.held = false
	t.ring.StrokeColor = theme.Color(theme.ColorNamePrimary) // the theme's of now
	t.ring.Show()
	t.ring.Refresh()
}

// FocusLost hides it, and forgets a Space held.
func (t *keyTarget) FocusLost() {
	t.held = false
	t.ring.Hide()
	t.ring.Refresh()
}

// TypedRune takes no text.
func (t *keyTarget) TypedRune(rune) {}

// TypedKey runs the action on Enter, and Esc as the window does.
func (t *keyTarget) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if t.onTap != nil {
			t.onTap()
		}
	case fyne.KeyEscape:
		if t.escape != nil {
			t.escape()
		}
	}
}
