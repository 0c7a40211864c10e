package ui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b color.Color) float64 {
	lum := func(c color.Color) float64 {
		r, g, bl, _ := c.RGBA()
		ch := func(v uint32) float64 {
			s := float64(v) / 0xffff
			if s <= 0.03928 {
				return s / 12.92
			}
			return math.Pow((s+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(bl)
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// Text in the status colours ("Ready", the API's address, warnings) reads on the window's
// background in both variants: at least 3:1, WCAG's figure for large or bold text, which
// Fyne's own green and orange miss on white.
func TestStatusColoursReadable(t *testing.T) {
	th := janusTheme{}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		bg := th.Color(theme.ColorNameBackground, v)
		for _, n := range []fyne.ThemeColorName{theme.ColorNameSuccess, theme.ColorNameWarning, theme.ColorNameError, theme.ColorNamePrimary} {
			if c := contrast(th.Color(n, v), bg); c < 3 {
				t.Errorf("variant %d: %s on the background has contrast %.1f:1", v, n, c)
			}
		}
	}
}

// Quiet text (low importance, disabled, placeholders) reads at WCAG's 4.5:1 for normal text on
// everything it is drawn on, in both variants: it is often caption-sized (the model's details
// in the sidebar), and the light grey read at 2.9:1 on the sidebar.
func TestQuietTextReadable(t *testing.T) {
	th := janusTheme{}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		for _, fg := range []fyne.ThemeColorName{theme.ColorNameDisabled, theme.ColorNamePlaceHolder} {
			for _, bg := range []fyne.ThemeColorName{theme.ColorNameBackground, colorNameSidebar, theme.ColorNameInputBackground, colorNameBubble} {
				if c := contrast(th.Color(fg, v), th.Color(bg, v)); c < 4.5 {
					t.Errorf("variant %d: %s on %s has contrast %.2f:1", v, fg, bg, c)
				}
			}
		}
	}
}

// The dice is drawn in the theme's foreground colour (the SVG parses and takes the colour):
// its middle pip is foreground, the face around it is not.
func TestDiceIconDraws(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(janusTheme{})
	icon := canvas.NewImageFromResource(diceIcon())
	w := test.NewWindow(icon)
	defer w.Close()
	w.SetPadded(false)
	w.Resize(fyne.NewSize(48, 48))
	img := w.Canvas().Capture()
	fg := a.Settings().Theme().Color(theme.ColorNameForeground, a.Settings().ThemeVariant())
	near := func(c color.Color) bool {
		r1, g1, b1, _ := c.RGBA()
		r2, g2, b2, _ := fg.RGBA()
		d := func(x, y uint32) float64 { return math.Abs(float64(x)-float64(y)) / 0xffff }
		return d(r1, r2)+d(g1, g2)+d(b1, b2) < 0.15
	}
	b := img.Bounds()
	mid := img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2)
	face := img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/3)
	if !near(mid) {
		t.Errorf("middle pip %v, want the foreground %v", mid, fg)
	}
	if near(face) {
		t.Errorf("the face between the pips is drawn in the foreground %v", face)
	}
}

// The text of the accent-filled buttons (Send, Generate, Save) reads at 4.5:1 on their fill,
// focused or not, in both variants: white on the dark variant's light accent read at 2.7:1.
func TestPrimaryButtonTextReadable(t *testing.T) {
	th := janusTheme{}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		fg, fill := th.Color(theme.ColorNameForegroundOnPrimary, v), th.Color(theme.ColorNamePrimary, v)
		for name, bg := range map[string]color.Color{"plain": fill, "focused": blend(fill, th.Color(theme.ColorNameFocus, v))} {
			if c := contrast(fg, bg); c < 4.5 {
				t.Errorf("variant %d: text on a %s primary button has contrast %.2f:1", v, name, c)
			}
		}
	}
}

// A menu's shortcuts ("Ctrl+N") read as its items do, in both variants (Fyne 2.7 drew them at
// 20 % alpha: menuSafe).
func TestMenuShortcutsReadable(t *testing.T) {
	a := test.NewTempApp(t)
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		th := variantTheme{janusTheme{}, v}
		a.Settings().SetTheme(th)
		item := fyne.NewMenuItem("New chat", nil)
		item.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierControl}
		menu := widget.NewMenu(fyne.NewMenu("", item))
		test.NewTempWindow(t, menu)
		found := false
		for _, o := range test.LaidOutObjects(menu) {
			if txt, ok := o.(*canvas.Text); ok && txt.Text == "N" {
				found = true
				bg := th.Color(theme.ColorNameMenuBackground, v)
				if c := contrast(blend(bg, txt.Color), bg); c < 4.5 {
					t.Errorf("variant %d: the shortcut's key reads at %.2f:1 (colour %v)", v, c, txt.Color)
				}
			}
		}
		if !found {
			t.Fatal("no shortcut text in the menu")
		}
	}
}

// variantTheme is a theme that draws one variant whatever it is asked for (the test app's
// settings name no variant of their own).
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// blend is over drawn on under.
func blend(under, over color.Color) color.NRGBA {
	u, o := color.NRGBAModel.Convert(under).(color.NRGBA), color.NRGBAModel.Convert(over).(color.NRGBA)
	a := float64(o.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(float64(y)*a + float64(x)*(1-a) + 0.5) }
	return color.NRGBA{R: mix(u.R, o.R), G: mix(u.G, o.G), B: mix(u.B, o.B), A: 0xff}
}

// A focused select (Fyne fills it with the focus colour) keeps its text readable under
// softFocus: the buttons' deep focus colour left it at about 2:1 in the light variant.
func TestFocusedFieldReadable(t *testing.T) {
	th := softFocusTheme{}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		fill := blend(th.Color(theme.ColorNameInputBackground, v), th.Color(theme.ColorNameFocus, v))
		if c := contrast(th.Color(theme.ColorNameForeground, v), fill); c < 4.5 {
			t.Errorf("variant %d: a focused select's text has contrast %.1f:1", v, c)
		}
	}
}

// A focused button shows it in both variants, the accent-filled ones (Send, Generate)
// too: the focus colour blended over each fill differs from the fill.
func TestFocusShowsOnEveryButton(t *testing.T) {
	th := janusTheme{}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		focus := th.Color(theme.ColorNameFocus, v)
		for _, n := range []fyne.ThemeColorName{theme.ColorNamePrimary, theme.ColorNameButton, theme.ColorNameBackground} {
			fill := th.Color(n, v)
			if c := contrast(blend(fill, focus), blend(fill, color.Transparent)); c < 1.3 {
				t.Errorf("variant %d: focus on %s changes it by %.2f:1", v, n, c)
			}
		}
	}
}
