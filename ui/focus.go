package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// focusCall is what a control does when it gains the focus, besides showing it: in a
// scrolling dialog the control Tab reached is brought into sight (followFocus), as Fyne's
// scroll does not follow the focus, and Tab went on to fields below the dialog's fold.
type focusCall struct{ call func() }

// whenFocused makes call run each time the control gains the focus.
func (f *focusCall) whenFocused(call func()) { f.call = call }

func (f *focusCall) gained() {
	if f.call != nil {
		f.call()
	}
}

// followFocus brings each of controls into sight in scroll when it gains the focus; controls
// that take no focus call are passed over.
func followFocus(scroll *container.Scroll, controls ...fyne.CanvasObject) {
	for _, c := range controls {
		followFocusTo(scroll, c, c)
	}
}

// followFocusTo brings shown into sight in scroll when any of controls gains the focus: a
// group of controls with the line that says what they do wrong under them (the API server's
// switch, port and key, whose problem is said under them).
func followFocusTo(scroll *container.Scroll, shown fyne.CanvasObject, controls ...fyne.CanvasObject) {
	for _, c := range controls {
		if f, ok := c.(interface{ whenFocused(func()) }); ok {
			f.whenFocused(func() { scrollIntoView(scroll, shown) })
		}
	}
}

// scrollIntoView scrolls scroll vertically by the least that shows all of o (its top, when
// o is taller than the view), with a padding's room around it.
func scrollIntoView(scroll *container.Scroll, o fyne.CanvasObject) {
	d := fyne.CurrentApp().Driver()
	top := d.AbsolutePositionForObject(o).Y - d.AbsolutePositionForObject(scroll).Y
	bottom := top + o.Size().Height
	view := scroll.Size().Height
	pad := theme.Padding()
	offset := scroll.Offset
	switch {
	case top < pad || bottom-top > view:
		offset.Y += top - pad
	case bottom > view-pad:
		offset.Y += bottom - view + pad
	default:
		return
	}
	most := max(0, scroll.Content.MinSize().Height-view)
	offset.Y = min(max(offset.Y, 0), most)
	scroll.ScrollToOffset(offset)
}
