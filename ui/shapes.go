package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// thinBarHeight is the height of the canvas's progress line: the previews are what people
// watch, so the bar stays thin.
const thinBarHeight = 4

// thinBar is a thin rounded progress line, centred vertically in the space it gets.
type thinBar struct {
	widget.BaseWidget
	value float64
}

func newThinBar() *thinBar {
	b := &thinBar{}
	b.ExtendBaseWidget(b)
	return b
}

// SetValue sets the share done, 0 to 1.
func (b *thinBar) SetValue(v float64) {
	b.value = min(1, max(0, v))
	b.Refresh()
}

func (b *thinBar) CreateRenderer() fyne.WidgetRenderer {
	track := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	fill := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
	track.CornerRadius, fill.CornerRadius = thinBarHeight/2, thinBarHeight/2
	return &thinBarRenderer{b: b, track: track, fill: fill}
}

type thinBarRenderer struct {
	b           *thinBar
	track, fill *canvas.Rectangle
}

func (r *thinBarRenderer) Layout(size fyne.Size) {
	y := (size.Height - thinBarHeight) / 2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(size.Width, thinBarHeight))
	r.fill.Move(fyne.NewPos(0, y))
	r.fill.Resize(fyne.NewSize(size.Width*float32(r.b.value), thinBarHeight))
}

func (r *thinBarRenderer) MinSize() fyne.Size { return fyne.NewSize(40, thinBarHeight) }

func (r *thinBarRenderer) Refresh() {
	r.track.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.fill.FillColor = theme.Color(theme.ColorNamePrimary)
	r.Layout(r.b.Size())
	r.track.Refresh()
	r.fill.Refresh()
}

func (r *thinBarRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.track, r.fill} }
func (r *thinBarRenderer) Destroy()                     {}

// themedRect is a rounded rectangle in a theme colour that follows light/dark changes
// (a bare canvas.Rectangle keeps the colour it was made with), with an outline in another
// when stroke is set.
type themedRect struct {
	widget.BaseWidget
	color, stroke fyne.ThemeColorName
	radius        float32
}

func newThemedRect(color fyne.ThemeColorName, radius float32) *themedRect {
	r := &themedRect{color: color, radius: radius}
	r.ExtendBaseWidget(r)
	return r
}

// newOutlinedRect is a themedRect with a one-pixel outline: a hint's box over a background
// of its own colour (the light theme's sidebar) keeps an edge.
func newOutlinedRect(color, stroke fyne.ThemeColorName, radius float32) *themedRect {
	r := newThemedRect(color, radius)
	r.stroke = stroke
	return r
}

func (t *themedRect) CreateRenderer() fyne.WidgetRenderer {
	rect := canvas.NewRectangle(theme.Color(t.color))
	rect.CornerRadius = t.radius
	r := &themedRectRenderer{t: t, rect: rect}
	r.Refresh()
	return r
}

type themedRectRenderer struct {
	t    *themedRect
	rect *canvas.Rectangle
}

func (r *themedRectRenderer) Layout(size fyne.Size) { r.rect.Resize(size) }
func (r *themedRectRenderer) MinSize() fyne.Size    { return fyne.Size{} }
func (r *themedRectRenderer) Refresh() {
	r.rect.FillColor = theme.Color(r.t.color)
	if r.t.stroke != "" {
		r.rect.StrokeColor, r.rect.StrokeWidth = theme.Color(r.t.stroke), 1
	}
	r.rect.Refresh()
}
func (r *themedRectRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.rect} }
func (r *themedRectRenderer) Destroy()                     {}
