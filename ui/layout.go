package ui

import (
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// border is container.NewBorder with its objects in reading order (top, left, centre, right,
// bottom): Tab walks a container's objects in their order, and NewBorder puts the centre
// first, so Tab went to the history before the buttons above it, and to the composer before
// the clip on its left.
func border(top, bottom, left, right fyne.CanvasObject, center ...fyne.CanvasObject) *fyne.Container {
	var objs []fyne.CanvasObject
	add := func(o fyne.CanvasObject) {
		if o != nil {
			objs = append(objs, o)
		}
	}
	add(top)
	add(left)
	for _, o := range center {
		add(o)
	}
	add(right)
	add(bottom)
	return container.New(layout.NewBorderLayout(top, bottom, left, right), objs...)
}

// readableWidth is the widest a column of text gets: answers past ~720 px are hard to read.
const readableWidth = 720

// centeredColumn lays its objects on top of each other in a centred column at most max wide.
type centeredColumn struct{ max float32 }

func (c centeredColumn) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		if o.Visible() {
			s = s.Max(o.MinSize())
		}
	}
	return s
}

func (c centeredColumn) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, c.max)
	x := (size.Width - w) / 2
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, size.Height))
		o.Move(fyne.NewPos(x, 0))
	}
}

// fixedWidth makes its objects exactly w wide (and as tall as they like); hidden, they take
// no room.
type fixedWidth struct{ w float32 }

func (f fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		if o.Visible() {
			s = fyne.NewSize(f.w, max(s.Height, o.MinSize().Height))
		}
	}
	return s
}

func (f fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

// steadyWidth is the width a button needs to show each of faces (its text and icon in turn)
// without changing its size, so that what sits beside it does not move.
func steadyWidth(faces ...*widget.Button) float32 {
	var w float32
	for _, b := range faces {
		w = max(w, b.MinSize().Width)
	}
	return w
}

// fitGrid lays tiles in cols columns of equal cells as large as the area allows (the canvas
// results fill the view without scrolling). A tile is a square picture with a bar under it:
// the bar's height is what its MinSize has beyond its width.
type fitGrid struct {
	cols int
	gap  float32
	// max caps a tile's side: one small image blown up to the whole window looks worse.
	max float32
}

func (g *fitGrid) rows(n int) int { return max(1, (n+g.cols-1)/g.cols) }

func (g *fitGrid) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var cell fyne.Size
	for _, o := range objs {
		cell = cell.Max(o.MinSize())
	}
	rows := g.rows(len(objs))
	return fyne.NewSize(cell.Width*float32(g.cols)+g.gap*float32(g.cols-1),
		cell.Height*float32(rows)+g.gap*float32(rows-1))
}

func (g *fitGrid) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	var bar float32
	for _, o := range objs {
		m := o.MinSize()
		bar = max(bar, m.Height-m.Width)
	}
	rows := g.rows(len(objs))
	side := (size.Width - g.gap*float32(g.cols-1)) / float32(g.cols)
	side = min(side, (size.Height-g.gap*float32(rows-1))/float32(rows)-bar)
	if g.max > 0 {
		side = min(side, g.max)
	}
	side = max(side, 1)
	used := side*float32(g.cols) + g.gap*float32(g.cols-1)
	if len(objs) < g.cols {
		used = side*float32(len(objs)) + g.gap*float32(len(objs)-1)
	}
	x0 := (size.Width - used) / 2
	for i, o := range objs {
		r, c := i/g.cols, i%g.cols
		o.Move(fyne.NewPos(x0+float32(c)*(side+g.gap), float32(r)*(side+bar+g.gap)))
		o.Resize(fyne.NewSize(side, side+bar))
	}
}

// bubbleRow puts its one object (a message card) at the right of the row, as wide as its
// text needs up to maxFrac of the row, the way chat apps show the user's messages.
type bubbleRow struct {
	natural func() float32
	maxFrac float32
}

func (b bubbleRow) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) == 0 {
		return fyne.Size{}
	}
	m := objs[0].MinSize()
	return fyne.NewSize(min(m.Width, 120), m.Height)
}

func (b bubbleRow) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if len(objs) == 0 {
		return
	}
	w := min(max(b.natural(), objs[0].MinSize().Width), size.Width*b.maxFrac)
	o := objs[0]
	o.Resize(fyne.NewSize(w, size.Height))
	o.Move(fyne.NewPos(size.Width-w, 0))
}

// twoRows puts its two objects side by side when the width allows (the first at its minimum
// width, the second filling the rest, at least wide wide), and the second under the first
// otherwise: the canvas settings fit one line in a wide window and two in a narrow one.
type twoRows struct {
	wide      float32 // the second object's width below which it moves down
	gap       float32
	lastWidth float32
}

func (r *twoRows) oneLine(objs []fyne.CanvasObject, width float32) bool {
	return width >= objs[0].MinSize().Width+r.gap+r.wide
}

func (r *twoRows) MinSize(objs []fyne.CanvasObject) fyne.Size {
	a, b := objs[0].MinSize(), objs[1].MinSize()
	// The width is always the narrow form's, so the window can shrink; the height is the
	// form the last width chose.
	w := max(a.Width, b.Width)
	if r.lastWidth > 0 && r.oneLine(objs, r.lastWidth) {
		return fyne.NewSize(w, max(a.Height, b.Height))
	}
	return fyne.NewSize(w, a.Height+r.gap+b.Height)
}

func (r *twoRows) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	r.lastWidth = size.Width
	a, b := objs[0].MinSize(), objs[1].MinSize()
	if r.oneLine(objs, size.Width) {
		h := max(a.Height, b.Height)
		objs[0].Move(fyne.NewPos(0, (h-a.Height)/2))
		objs[0].Resize(a)
		objs[1].Move(fyne.NewPos(a.Width+r.gap, (h-b.Height)/2))
		objs[1].Resize(fyne.NewSize(size.Width-a.Width-r.gap, b.Height))
		return
	}
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(size.Width, a.Height))
	objs[1].Move(fyne.NewPos(0, a.Height+r.gap))
	objs[1].Resize(fyne.NewSize(size.Width, b.Height))
}

// flowRows lays its visible objects left to right at their own sizes, starting a new row
// where one does not fit: the composer's chips wrap instead of widening the window. As
// twoRows, it asks for the rows the last width it had needed.
type flowRows struct {
	gap       float32
	lastWidth float32
}

// place returns where each visible object goes in a place width wide, and the height used.
func (f *flowRows) place(objs []fyne.CanvasObject, width float32) ([]fyne.Position, float32) {
	var at []fyne.Position
	var x, y, rowH float32
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		if x > 0 && x+m.Width > width {
			x, y, rowH = 0, y+rowH+f.gap, 0
		}
		at = append(at, fyne.NewPos(x, y))
		x += m.Width + f.gap
		rowH = max(rowH, m.Height)
	}
	return at, y + rowH
}

func (f *flowRows) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w float32
	for _, o := range objs {
		if o.Visible() {
			w = max(w, o.MinSize().Width)
		}
	}
	width := f.lastWidth
	if width <= 0 {
		width = float32(math.Inf(1)) // one row until laid out
	}
	_, h := f.place(objs, width)
	return fyne.NewSize(w, h)
}

func (f *flowRows) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	f.lastWidth = size.Width
	at, _ := f.place(objs, size.Width)
	i := 0
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		o.Move(at[i])
		o.Resize(o.MinSize())
		i++
	}
}

// steadyStack lays its objects over each other in a place as tall as the tallest of them,
// shown or not, so that what lies below stays put as one gives way to another (the canvas's
// progress bar to a line saying what became of the run).
type steadyStack struct{}

func (steadyStack) MinSize(objs []fyne.CanvasObject) fyne.Size { return largest(objs) }

// largest is the smallest size that holds each of objs, shown or not.
func largest(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

func (steadyStack) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

// floorStack lays its objects over each other, full size, as container.NewStack does, and
// asks for at least floor: the window's content, which the window cannot be made smaller
// than (at 640 wide Create's sliders had shrunk to their knobs, its heading over the sidebar).
type floorStack struct{ floor fyne.Size }

func (f floorStack) MinSize(objs []fyne.CanvasObject) fyne.Size { return largest(objs).Max(f.floor) }

func (floorStack) Layout(objs []fyne.CanvasObject, size fyne.Size) { steadyStack{}.Layout(objs, size) }

// atBottom gives its objects their own height at the bottom of its place, full width: the
// composer's buttons stay one line tall beside an entry that grows.
type atBottom struct{}

func (atBottom) MinSize(objs []fyne.CanvasObject) fyne.Size { return largest(objs) }

func (atBottom) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		h := min(o.MinSize().Height, size.Height)
		o.Move(fyne.NewPos(0, size.Height-h))
		o.Resize(fyne.NewSize(size.Width, h))
	}
}

// middleRow lays its one object full width at its own height in the middle of its place,
// and asks for that height shown or not (so that a steadyStack keeps room for it).
type middleRow struct{}

func (middleRow) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[0].MinSize() }

func (middleRow) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	h := min(objs[0].MinSize().Height, size.Height)
	objs[0].Move(fyne.NewPos(0, (size.Height-h)/2))
	objs[0].Resize(fyne.NewSize(size.Width, h))
}

// bubble is a line of news over the pictures: a label in a rounded bubble, centred near the
// top of its place and as wide as its text (toastLayout), with an optional control at its
// end (trailing: the loading line's Cancel).
type bubble struct {
	box      *fyne.Container
	label    *widget.Label
	trailing fyne.CanvasObject
	width    float32
}

func newBubble(trailing fyne.CanvasObject) *bubble {
	b := &bubble{label: widget.NewLabel(""), trailing: trailing}
	b.label.Truncation = fyne.TextTruncateEllipsis
	b.box = container.New(toastLayout{func() float32 { return b.width }},
		container.NewStack(newThemedRect(colorNameBubble, 10),
			container.NewPadded(container.NewBorder(nil, nil, nil, trailing, b.label))))
	b.box.Hide()
	return b
}

// show shows text in the bubble, whose width follows it: the label's width untruncated, in
// its padding, and slack (at its width exactly it truncated), and the trailing control's
// while it is shown.
func (b *bubble) show(text string) {
	b.label.SetText(text)
	b.width = widget.NewLabel(text).MinSize().Width + 4*theme.Padding()
	if b.trailing != nil && b.trailing.Visible() {
		b.width += b.trailing.MinSize().Width + theme.Padding()
	}
	b.box.Show()
	b.box.Refresh()
}

// toastLayout lays its one object centred near the top of its place, as wide as natural
// says (at most its place's width, less a margin) and as tall as it likes: news over the
// top of the pictures, which moves nothing and covers no control (a tile's buttons are
// under its picture). natural is asked because a label that truncates its text (a long
// path in a small window) has no width of its own.
type toastLayout struct{ natural func() float32 }

func (toastLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.Size{} }

func (f toastLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	margin := 2 * theme.Padding()
	w := max(0, min(f.natural(), size.Width-2*margin))
	h := min(objs[0].MinSize().Height, size.Height)
	objs[0].Resize(fyne.NewSize(w, h))
	objs[0].Move(fyne.NewPos((size.Width-w)/2, margin))
}

// gutteredVScroll scrolls content vertically with room kept at its right for the scroll bar,
// which Fyne draws over its content's right edge: it covered the rows' buttons and the
// fields' ends.
func gutteredVScroll(content fyne.CanvasObject) *container.Scroll {
	gutter := canvas.NewRectangle(color.Transparent)
	gutter.SetMinSize(fyne.NewSize(theme.ScrollBarSize(), 0))
	return container.NewVScroll(container.NewBorder(nil, nil, nil, gutter, content))
}
