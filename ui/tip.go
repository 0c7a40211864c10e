package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Fyne has no tooltips, and a pop-up would take the next click, so a hint is drawn on a
// layer above the window's content that takes no input: the click still reaches the button.
// A dialog is an overlay over that layer, and the top overlay takes all input, so one with
// icon buttons (hintedDialog) has a layer of its own over its content, where its hints go
// while it is shown: they were drawn under it.

// hintLayer is a layer that hints are drawn on, and its one hint.
type hintLayer struct {
	layer *fyne.Container
	box   *fyne.Container
	text  *widget.Label
}

// tips are the hints of a window: its own layer, and those of the dialogs shown that have
// one, newest last.
type tips struct {
	*hintLayer
	dialogs []*hintLayer
}

// maxTipWidth is the widest a hint's line gets: a longer text wraps (a history title of a
// thousand characters made a hint wider than the screen).
const maxTipWidth = 420

func newTips() *tips { return &tips{hintLayer: newHintLayer()} }

func newHintLayer() *hintLayer {
	l := &hintLayer{text: widget.NewLabel("")}
	l.text.SizeName = theme.SizeNameCaptionText
	l.box = container.NewStack(newOutlinedRect(theme.ColorNameOverlayBackground, theme.ColorNameInputBorder, 6), l.text)
	l.box.Hide()
	l.layer = container.New(floatLayout{}, l.box)
	return l
}

// top is the layer a hint goes on now: the newest dialog's with a layer, else the window's.
// While a dialog is shown only it takes the pointer and the keys, so a hint shown is one of
// its own (or of a dialog without a layer above it, drawn under that as before).
func (t *tips) top() *hintLayer {
	if n := len(t.dialogs); n > 0 {
		return t.dialogs[n-1]
	}
	return t.hintLayer
}

// push makes l the layer of hints while its dialog is shown; pop ends that.
func (t *tips) push(l *hintLayer) {
	t.hide()
	t.dialogs = append(t.dialogs, l)
}

func (t *tips) pop(l *hintLayer) {
	l.hide()
	t.dialogs = slices.DeleteFunc(t.dialogs, func(o *hintLayer) bool { return o == l })
}

// floatLayout leaves its objects where they were put and asks for no room: a container
// without a layout asks for its largest object's size, shown or not, and the window grew
// to a long hint's width and stayed that wide.
type floatLayout struct{}

func (floatLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.Size{} }

func (floatLayout) Layout([]fyne.CanvasObject, fyne.Size) {}

// setText puts text in the hint and returns the box's size: one line, or lines at most
// maxTipWidth (and the layer's width) wide.
func (l *hintLayer) setText(text string) fyne.Size {
	l.text.Wrapping = fyne.TextWrapOff
	l.text.SetText(text)
	m := l.box.MinSize()
	limit := float32(maxTipWidth)
	if win := l.layer.Size(); win.Width > 0 {
		limit = min(limit, win.Width-8)
	}
	if m.Width <= limit {
		return m
	}
	l.text.Wrapping = fyne.TextWrapWord
	l.box.Resize(fyne.NewSize(limit, m.Height))
	l.text.Refresh() // its minimum, kept from one line, becomes the lines' at this width
	return fyne.NewSize(limit, l.box.MinSize().Height)
}

// showFor puts text under o, kept inside the layer (the window, or a dialog).
func (t *tips) showFor(text string, o fyne.CanvasObject) {
	if d := fyne.CurrentApp().Driver(); d != nil {
		l := t.top()
		l.show(text, l.within(d, o), o.Size())
	}
}

// within is o's position in the layer, which starts under the window's menu bar (or at
// its dialog's content): placed by its position in the window, a hint sat a menu bar's
// height too low.
func (l *hintLayer) within(d fyne.Driver, o fyne.CanvasObject) fyne.Position {
	return d.AbsolutePositionForObject(o).Subtract(d.AbsolutePositionForObject(l.layer))
}

// showOver puts text over o, dx from its left edge, kept inside the layer: a label's whole
// text over the row that cuts it.
func (t *tips) showOver(text string, o fyne.CanvasObject, dx float32) {
	d := fyne.CurrentApp().Driver()
	if d == nil {
		return
	}
	l := t.top()
	pos, size := l.within(d, o), o.Size()
	m := l.setText(text)
	x, y := pos.X+dx, pos.Y+(size.Height-m.Height)/2
	if win := l.layer.Size(); win.Width > 0 {
		x = max(min(x, win.Width-m.Width-4), 4)
		y = max(min(y, win.Height-m.Height-4), 4) // a wrapped hint is taller than its row
	}
	l.place(m, fyne.NewPos(x, y))
}

// show puts text under the object at pos (in the layer) of size, kept inside the layer.
func (l *hintLayer) show(text string, pos fyne.Position, size fyne.Size) {
	m := l.setText(text)
	x := pos.X + (size.Width-m.Width)/2
	y := pos.Y + size.Height + 4
	if win := l.layer.Size(); win.Width > 0 {
		x = min(max(x, 4), win.Width-m.Width-4)
		if y+m.Height > win.Height {
			y = pos.Y - m.Height - 4
		}
	}
	l.place(m, fyne.NewPos(x, y))
}

// place shows the hint's box of size m at pos.
func (l *hintLayer) place(m fyne.Size, pos fyne.Position) {
	l.box.Resize(m)
	l.box.Move(pos)
	l.box.Show()
	l.layer.Refresh()
}

func (l *hintLayer) hide() {
	l.box.Hide()
	l.layer.Refresh()
}

// hide hides the hint wherever it is.
func (t *tips) hide() {
	t.hintLayer.hide()
	for _, l := range t.dialogs {
		l.hide()
	}
}

// hintedDialog is a dialog with a layer for the hints of its icon buttons over its content.
type hintedDialog struct {
	*dialog.CustomDialog
	hints *hintLayer
}

// newHintedDialog makes a dialog of content without buttons, as Fyne's NewCustomWithoutButtons,
// whose hints are drawn over it while it is shown (showDialog).
func newHintedDialog(title string, content fyne.CanvasObject, parent fyne.Window) *hintedDialog {
	l := newHintLayer()
	return &hintedDialog{dialog.NewCustomWithoutButtons(title, container.NewStack(content, l.layer), parent), l}
}

func (d *hintedDialog) hintLayer() *hintLayer { return d.hints }

// tipButton is a button with a hint shown while the pointer is over it or it has the focus,
// for buttons that are only an icon.
type tipButton struct {
	widget.Button
	tip  string
	tips *tips
	// escape is the window's Esc, which the Button would keep.
	escape escaper
	focusCall
	spaceKey
}

// newTipButton makes an icon button that says what it does when pointed at.
func (u *UI) newTipButton(icon fyne.Resource, tip string, tapped func()) *tipButton {
	b := &tipButton{tip: tip, tips: u.tips, escape: u.escape}
	b.Icon, b.OnTapped = icon, tapped
	b.press = func() { b.Button.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace}) }
	b.ExtendBaseWidget(b)
	return b
}

// MouseIn shows the hint.
func (b *tipButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	b.tips.showFor(b.tip, b)
}

// MouseOut hides it.
func (b *tipButton) MouseOut() {
	b.Button.MouseOut()
	b.tips.hide()
}

// Tapped hides the hint and runs the button.
func (b *tipButton) Tapped(e *fyne.PointEvent) {
	b.tips.hide()
	b.Button.Tapped(e)
}

// TypedKey gives Esc to the window (it stops an answer or a run, closes a dialog); Enter
// presses the button, and Space once it comes up (buttonKey).
func (b *tipButton) TypedKey(k *fyne.KeyEvent) { buttonKey(&b.Button, b.escape, k) }

// FocusGained shows the hint too: reached with Tab, an icon says nothing by itself. It
// forgets a Space held elsewhere (spaceKey).
func (b *tipButton) FocusGained() {
	b.held = false
	b.Button.FocusGained()
	b.gained() // a scroll first, so that the hint is shown where the button is then
	b.tips.showFor(b.tip, b)
}

// FocusLost hides it, and forgets a Space held (spaceKey).
func (b *tipButton) FocusLost() {
	b.held = false
	b.Button.FocusLost()
	b.tips.hide()
}

// pointerButton is an icon button for the pointer only, with a hint: a history row's "…",
// which Tab passes by (a dozen rows were a dozen stops on the way to Settings); the
// keyboard reaches its actions on the list itself (F2, Delete).
type pointerButton struct {
	widget.BaseWidget
	icon     *widget.Icon
	hover    *canvas.Rectangle
	tip      string
	tips     *tips
	onTapped func()
}

func (u *UI) newPointerButton(icon fyne.Resource, tip string) *pointerButton {
	b := &pointerButton{icon: widget.NewIcon(icon), tip: tip, tips: u.tips}
	b.hover = canvas.NewRectangle(theme.Color(theme.ColorNameHover))
	b.hover.CornerRadius = theme.InputRadiusSize()
	b.hover.Hide()
	b.ExtendBaseWidget(b)
	return b
}

func (b *pointerButton) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(b.hover, container.NewPadded(b.icon)))
}

// Tapped runs the button's action, without the hint (a menu it opens covers the pointer).
func (b *pointerButton) Tapped(*fyne.PointEvent) {
	b.tips.hide()
	if b.onTapped != nil {
		b.onTapped()
	}
}

// MouseIn shows the hover and the hint.
func (b *pointerButton) MouseIn(*desktop.MouseEvent) {
	b.hover.FillColor = theme.Color(theme.ColorNameHover) // the theme's of now (light or dark)
	b.hover.Show()
	b.hover.Refresh()
	b.tips.showFor(b.tip, b)
}

// MouseMoved does nothing: MouseIn and MouseOut say all.
func (b *pointerButton) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides them.
func (b *pointerButton) MouseOut() {
	b.hover.Hide()
	b.tips.hide()
}
